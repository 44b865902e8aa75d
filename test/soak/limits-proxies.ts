/**
 * The soak's limits proxies (limits-proxy.ts) in a process of their own, forked by
 * platforms.ts with the fakes' origins as arguments: `<telegram origin> <discord origin>`.
 * Limits are judged by when requests arrive, so the process that stamps them does nothing
 * else: a stall in a busy process (the fake Discord validating every request, the fake
 * OpenAI streaming a hundred answers) would bunch arrivals into bursts that never were.
 *
 * Messages: it sends `{ type: 'ready', telegram, discord }` (the proxies' URLs); it answers
 * `{ type: 'stats', since }` with `{ type: 'stats', telegram, discord }` (ProxyStats since
 * then); `{ type: 'stop' }` stops it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { discordLimits, discordRefusal, proxyStats, startLimitsProxy, telegramGlobalLimits, telegramRefusal } from './limits-proxy.js';

const [telegramTarget = '', discordTarget = ''] = process.argv.slice(2);
const telegram = await startLimitsProxy({ target: telegramTarget, limitsOf: telegramGlobalLimits, refuse: telegramRefusal });
const discord = await startLimitsProxy({ target: discordTarget, limitsOf: discordLimits, refuse: discordRefusal });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const stop = async (): Promise<never> => {
  await telegram.stop();
  await discord.stop();
  process.exit(0);
};
// The parent went away: nothing here may outlive it.
process.on('disconnect', () => void stop());
process.on('message', (message: { type: string; since?: number }) => {
  if (message.type === 'stop') void stop();
  if (message.type === 'stats') {
    const stall = Math.round(loop.max / 1e6);
    loop.reset();
    process.send!({ type: 'stats', telegram: proxyStats(telegram, message.since ?? 0, stall), discord: proxyStats(discord, message.since ?? 0, stall) });
  }
});
process.send!({ type: 'ready', telegram: telegram.url, discord: discord.url });
