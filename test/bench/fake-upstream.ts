/**
 * The benchmark's AI endpoint, in its own process so its CPU is not counted as the
 * service's: the test fake with zero latency (no delay between stream chunks, the whole
 * reply in one chunk) and no schema validation. Prints its URL as one JSON line, stops on
 * SIGTERM or after MAX_LIFETIME_MS.
 */
import { createFakeOpenAI } from '../fakes/openai.js';
import { BENCH_REPLY } from './measure.js';

const MAX_LIFETIME_MS = 10 * 60_000;

const fake = await createFakeOpenAI({ validate: false, streamChunkSize: 64, streamDelayMs: 0, chatReply: () => BENCH_REPLY });
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
const stop = async (): Promise<void> => {
  await fake.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
setTimeout(() => void stop(), MAX_LIFETIME_MS).unref();
// Recorded requests would grow without bound over a benchmark; drop them as we go.
setInterval(() => fake.reset(), 1_000).unref();
