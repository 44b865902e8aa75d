/**
 * Every Redis key Switchboard uses is built here (STYLE.md, from BullMQ), so the key
 * space can be read in one place. Keys of one conversation share a `{...}` hash tag,
 * so a Lua script touching several of them works on Redis Cluster too.
 *
 * Layout, with the default prefix `sb`:
 *   sb:{c:<conversation>}:history      list of JSON history entries, oldest first
 *   sb:{c:<conversation>}:tokens       token total of the history list
 *   sb:{c:<conversation>}:appends      list: ids of the latest appends (a rerun records its exchange once)
 *   sb:{c:<conversation>}:seq          last ordering ticket handed out
 *   sb:{c:<conversation>}:done         highest ticket whose job has finished
 *   sb:{c:<conversation>}:tickets      hash ticket -> job id (for promotion and gap repair)
 *   sb:{c:<conversation>}:msg:<jobId>  dedupe record: the ticket of a message already accepted
 *   sb:{c:<conversation>}:settings     hash: persona, model, scope (/persona, /model, /scope)
 *   sb:{rl}:<limit key>                sorted set: timestamps of calls in the limit's window
 *   sb:{rl}:pause:<limit key>          set while a platform asked us to wait (429)
 *   sb:upload:<id>                     hash: a playground upload (bytes, type, name), 1 h TTL
 *   sb:quota:<name>:<day>:<key>        counter of uses on one UTC day (images per user)
 *   sb:modswitch:<channel>             `on` / `off`: /moderation in that channel
 *   sb:once:<key>                      set for a period: something reported once per period
 *   sb:ledger:<jobId>                  hash: sequence -> message a job sent (no doubled answers on retry)
 *   sb:active-conversations            sorted set: conversation -> when a job of it last started (1 h)
 *   sb:{ai}:lane:<lane>                hash: an AI endpoint lane's hold, probe, learned limits and pace (1 h)
 *   sb:{ai}:budgets                    hash: the pace of OPENAI_REQUESTS_PER_MINUTE / _TOKENS_ over all lanes
 * Rate-limit keys share one hash tag because one call may count against several limits
 * (a chat's and the bot's global one) in one atomic script.
 */

/** Builds the keys of one deployment; the prefix separates deployments sharing a Redis. */
export interface RedisKeys {
  readonly prefix: string;
  history(conversation: string): string;
  historyTokens(conversation: string): string;
  historyAppends(conversation: string): string;
  orderSeq(conversation: string): string;
  orderDone(conversation: string): string;
  orderTickets(conversation: string): string;
  dedupe(conversation: string, jobId: string): string;
  settings(conversation: string): string;
  rateLimit(limitKey: string): string;
  rateLimitPause(limitKey: string): string;
  upload(id: string): string;
  quota(name: string, day: string, key: string): string;
  moderationSwitch(channel: string): string;
  once(key: string): string;
  ledger(jobId: string): string;
  /** Sorted set: conversation -> ms a job of it last started (switchboard_active_conversations). */
  activeConversations(): string;
  /** Hash: the state of one AI endpoint lane (a model), shared by every process (src/infra/ai/upstream-gate.ts). */
  aiLane(lane: string): string;
  /** Hash: the pace of the configured budgets over every AI lane. */
  aiBudgets(): string;
}

/** Creates the key builder for `prefix` (config QUEUE_PREFIX; default `sb`). */
export function createRedisKeys(prefix: string): RedisKeys {
  if (!/^[A-Za-z0-9_.{}-]{1,64}$/.test(prefix)) throw new RangeError(`invalid Redis key prefix: ${JSON.stringify(prefix)}`);
  const conv = (conversation: string): string => `${prefix}:{c:${conversation}}`;
  return {
    prefix,
    history: (c) => `${conv(c)}:history`,
    historyTokens: (c) => `${conv(c)}:tokens`,
    historyAppends: (c) => `${conv(c)}:appends`,
    orderSeq: (c) => `${conv(c)}:seq`,
    orderDone: (c) => `${conv(c)}:done`,
    orderTickets: (c) => `${conv(c)}:tickets`,
    dedupe: (c, jobId) => `${conv(c)}:msg:${jobId}`,
    settings: (c) => `${conv(c)}:settings`,
    rateLimit: (limitKey) => `${prefix}:{rl}:${limitKey}`,
    rateLimitPause: (limitKey) => `${prefix}:{rl}:pause:${limitKey}`,
    upload: (id) => `${prefix}:upload:${id}`,
    quota: (name, day, key) => `${prefix}:quota:${name}:${day}:${key}`,
    moderationSwitch: (channel) => `${prefix}:modswitch:${channel}`,
    once: (key) => `${prefix}:once:${key}`,
    ledger: (jobId) => `${prefix}:ledger:${jobId}`,
    activeConversations: () => `${prefix}:active-conversations`,
    aiLane: (lane) => `${prefix}:{ai}:lane:${lane}`,
    aiBudgets: () => `${prefix}:{ai}:budgets`,
  };
}
