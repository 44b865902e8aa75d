/**
 * Which gateway shards this process holds, and how long its start-up waits for them.
 * Discord sends a guild's events on shard `(guild_id >> 22) % shard_count` and DMs on
 * shard 0, so processes that agree on the count and split the ids between them see every
 * event once; a process holding all shards sees everything.
 * https://discord.com/developers/docs/events/gateway#sharding
 */
import type { EventEmitter } from 'node:events';
import { Events } from 'discord.js';

/** DISCORD_SHARDS and DISCORD_SHARD_IDS as config parsed them. */
export interface ShardSetting {
  /** `auto`: Discord's recommendation from GET /gateway/bot; or the total number of shards. */
  readonly shards: 'auto' | number;
  /** The shards this process holds; empty: all of them. */
  readonly shardIds: readonly number[];
}

/**
 * The discord.js ClientOptions for a ShardSetting: `shards: 'auto'` makes @discordjs/ws ask
 * GET /gateway/bot for the count and connect every shard; a fixed count connects the listed
 * ids (or all) and identifies each as `[id, count]`.
 * https://discord.js.org/docs/packages/discord.js/14.x/ClientOptions:Interface
 */
export function shardOptions(setting: ShardSetting): { shards: 'auto' } | { shards: number[]; shardCount: number } {
  const { shards, shardIds } = setting;
  if (shards === 'auto') {
    // Auto decides the count at connect time, so no process can hold a fixed part of it.
    if (shardIds.length > 0) throw new Error('DISCORD_SHARD_IDS needs DISCORD_SHARDS set to the total number of shards, not auto');
    return { shards: 'auto' };
  }
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`DISCORD_SHARDS must be auto or a whole number of at least 1, not ${shards}`);
  const outside = shardIds.filter((id) => !Number.isInteger(id) || id < 0 || id >= shards);
  if (outside.length > 0) {
    throw new Error(`DISCORD_SHARD_IDS ${outside.join(',')}: shard ids run from 0 to ${shards - 1} with DISCORD_SHARDS=${shards}`);
  }
  const ids = shardIds.length > 0 ? [...new Set(shardIds)].sort((a, b) => a - b) : Array.from({ length: shards }, (_, id) => id);
  return { shards: ids, shardCount: shards };
}

/**
 * Whether this process registers the slash commands: the one holding shard 0 (every
 * deployment has exactly one such process, unless two share it), so N gateway processes do
 * not each overwrite the same commands at start.
 */
export function registersCommands(setting: ShardSetting): boolean {
  return setting.shardIds.length === 0 || setting.shardIds.includes(0);
}

/**
 * Resolves on the client's `ready` (every shard it holds has its READY and guilds), and
 * rejects once `timeoutMs` pass without a shard getting ready. The time is per shard, not
 * for all: shards identify one at a time per identify bucket, 5 seconds apart
 * (`max_concurrency` buckets), so a process holding many shards takes minutes to start.
 * https://discord.com/developers/docs/events/gateway#session-start-limit-object
 */
export function whenShardsReady(client: EventEmitter, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      client.off(Events.ShardReady, arm);
      client.off(Events.ClientReady, ready);
    };
    function arm(): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stop();
        reject(new Error(`no shard got ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      // A failed login settles the start-up first; this timer must not hold the process.
      timer.unref();
    }
    function ready(): void {
      stop();
      resolve();
    }
    client.on(Events.ShardReady, arm);
    client.once(Events.ClientReady, ready);
    arm();
  });
}
