/**
 * The benchmark's AI endpoint, in its own process so its CPU is not counted as the
 * service's, with no schema validation. Two timings:
 * - zero latency (the default): the whole reply in one chunk at once, the engine's ceiling;
 * - a real model's (BENCH_UPSTREAM_FIRST_TOKEN_MS, BENCH_UPSTREAM_STREAM_MS,
 *   BENCH_UPSTREAM_WORDS): the first word after a wait, the rest one word a chunk, spread
 *   over the stream's time, as a model streams tokens.
 * It keeps OpenAI's rate limits when told to over IPC (`{ limits }`, e.g. a 429 storm) and
 * answers `{ stats }` with the requests it let through and refused, and the chat streams it
 * finished and their mean length (on a busy machine its own timers run late too). Prints its URL as one
 * JSON line, stops on SIGTERM or after MAX_LIFETIME_MS.
 */
import { createFakeOpenAI } from '../fakes/openai.js';
import type { UpstreamLimits } from '../fakes/openai-rate-limits.js';
import { BENCH_REPLY, timedReply } from './measure.js';

const MAX_LIFETIME_MS = 15 * 60_000;

const firstTokenMs = Number(process.env['BENCH_UPSTREAM_FIRST_TOKEN_MS'] ?? 0);
const streamMs = Number(process.env['BENCH_UPSTREAM_STREAM_MS'] ?? 0);
const words = Number(process.env['BENCH_UPSTREAM_WORDS'] ?? 0);
const timed = words > 0;
const reply = timed ? timedReply(words) : BENCH_REPLY;

/**
 * What the upstream says its budgets are (x-ratelimit-limit-*): far above what the benchmark
 * asks, as a provider's high tier is, so only a storm the benchmark makes limits it.
 */
const ROOMY = { requestsPerMinute: 100_000_000, tokensPerMinute: 100_000_000_000 };

let streams = 0;
let streamedMs = 0;
const fake = await createFakeOpenAI({
  validate: false,
  rateLimits: ROOMY,
  onStreamEnd: (ms) => {
    streams += 1;
    streamedMs += ms;
  },
  chatReply: () => reply,
  ...(timed
    ? // The role chunk, then the first word after firstTokenMs, then the other words, the
      // finish and the usage chunk evenly over streamMs: [DONE] at firstTokenMs + streamMs.
      { streamByWord: true, firstTokenDelayMs: firstTokenMs, streamDelayMs: streamMs / (words + 1) }
    : { streamChunkSize: 64, streamDelayMs: 0 }),
});

let passed = 0;
let refused = 0;
const decide = fake.limits.decide.bind(fake.limits);
fake.limits.decide = (cost, model) => {
  const decision = decide(cost, model);
  if (decision.ok) passed += 1;
  else refused += 1;
  return decision;
};

process.on('message', (message: { limits?: UpstreamLimits; stats?: boolean }) => {
  // `{ limits: {} }` gives the usual roomy budgets back.
  if (message.limits) fake.limits.set({ ...ROOMY, ...message.limits });
  if (message.stats) {
    process.send?.({ stats: { passed, refused, streams, streamedMs } });
    passed = 0;
    refused = 0;
    streams = 0;
    streamedMs = 0;
  }
});

process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
const stop = async (): Promise<void> => {
  await fake.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
setTimeout(() => void stop(), MAX_LIFETIME_MS).unref();
// Recorded requests would grow without bound over a benchmark; drop them as we go.
setInterval(() => {
  fake.requests.length = 0;
}, 1_000).unref();
