/**
 * The app's stages (src/app/stages.ts): started in order, stopped in reverse order with
 * the grace they are given, and a failed start stops what had started, with no grace.
 */
import { describe, expect, it } from 'vitest';
import { createStages, type Started } from '../../src/app/stages.js';

const quiet = { debug: () => undefined };

/** A stage that records its start and its stop (with the grace it got) in `events`. */
function recorded<T>(events: string[], name: string, value: T): () => Promise<Started<T>> {
  return async () => {
    events.push(`start ${name}`);
    return {
      value,
      async stop(graceMs) {
        events.push(`stop ${name} ${graceMs}`);
      },
    };
  };
}

describe('app stages', () => {
  it('start in order, hand on their values, and stop in reverse order with the grace given', async () => {
    const events: string[] = [];
    const stages = createStages(quiet);
    expect(await stages.start('redis', recorded(events, 'redis', 1))).toBe(1);
    expect(await stages.start('workers', recorded(events, 'workers', 2))).toBe(2);
    expect(await stages.start('intake', () => ({ value: 3, stop: async (graceMs: number) => void events.push(`stop intake ${graceMs}`) }))).toBe(3);
    await stages.stop(30_000);
    expect(events).toEqual(['start redis', 'start workers', 'stop intake 30000', 'stop workers 30000', 'stop redis 30000']);
    // Stopped once: a second stop has nothing left to stop.
    await stages.stop(30_000);
    expect(events).toHaveLength(5);
  });

  it('waits for each stage to stop before stopping the one before it', async () => {
    const events: string[] = [];
    const stages = createStages(quiet);
    await stages.start('first', recorded(events, 'first', undefined));
    await stages.start('slow', async () => ({
      value: undefined,
      async stop() {
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push('slow stopped');
      },
    }));
    await stages.stop(0);
    expect(events).toEqual(['start first', 'slow stopped', 'stop first 0']);
  });

  it('stops the stages already started, last first and with no grace, when one fails to start', async () => {
    const events: string[] = [];
    const stages = createStages(quiet);
    await stages.start('redis', recorded(events, 'redis', undefined));
    await stages.start('models', recorded(events, 'models', undefined));
    const failure = new Error('port in use');
    await expect(stages.start('intake', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(events).toEqual(['start redis', 'start models', 'stop models 0', 'stop redis 0']);
  });

  it('stops the stages before one whose stop failed, then passes the failure on', async () => {
    const events: string[] = [];
    const stages = createStages(quiet);
    await stages.start('redis', recorded(events, 'redis', undefined));
    const failure = new Error('workers would not close');
    await stages.start('workers', () => ({ value: undefined, stop: () => Promise.reject(failure) }));
    await stages.start('intake', recorded(events, 'intake', undefined));
    await expect(stages.stop(1_000)).rejects.toBe(failure);
    expect(events).toEqual(['start redis', 'start intake', 'stop intake 1000', 'stop redis 1000']);
  });

  it('says every stage whose stop failed', async () => {
    const stages = createStages(quiet);
    await stages.start('a', () => ({ value: undefined, stop: () => Promise.reject(new Error('a')) }));
    await stages.start('b', () => ({ value: undefined, stop: () => Promise.reject(new Error('b')) }));
    const stopped = await stages.stop(0).then(() => undefined, (error: unknown) => error);
    expect(stopped).toBeInstanceOf(AggregateError);
    expect((stopped as AggregateError).errors.map((e: Error) => e.message)).toEqual(['b', 'a']);
  });
});
