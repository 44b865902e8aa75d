/**
 * The stages of the app (src/app.ts): each starts after the ones before it and stops
 * before them, so whatever a stage uses is still running while it stops. A start that
 * fails stops what had started, so a failed start leaves nothing running.
 */
import type { Logger } from '../ports/index.js';

/** A started stage: what it gives the stages after it, and how it stops. */
export interface Started<T> {
  readonly value: T;
  /** Stops the stage; `graceMs` bounds how long work in progress may take (0 after a failed start). */
  stop(graceMs: number): Promise<void>;
}

/** Starts stages in order and stops them in reverse order. */
export interface Stages {
  /**
   * Starts the stage `name` after every stage started so far and returns its value. If it
   * throws, the stages already started stop (last first, no grace) and the error goes on.
   */
  start<T>(name: string, run: () => Started<T> | Promise<Started<T>>): Promise<T>;
  /**
   * Stops every started stage, the last started first, each once the one after it has
   * stopped. A stage whose stop fails does not keep the ones before it running (their
   * Redis connections, the embedded redis-server): they stop too, and then the failure
   * goes on (an AggregateError when several failed).
   */
  stop(graceMs: number): Promise<void>;
}

/** A new, empty list of stages; `log` gets a debug line per stage started and stopped. */
export function createStages(log: Pick<Logger, 'debug'>): Stages {
  const started: Array<{ readonly name: string; stop(graceMs: number): Promise<void> }> = [];
  const stop = async (graceMs: number): Promise<void> => {
    const failures: unknown[] = [];
    for (const stage of started.splice(0).reverse()) {
      try {
        await stage.stop(graceMs);
        log.debug({ stage: stage.name }, 'stage stopped');
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} stages failed to stop`);
  };
  return {
    async start<T>(name: string, run: () => Started<T> | Promise<Started<T>>): Promise<T> {
      let stage: Started<T>;
      try {
        stage = await run();
      } catch (error) {
        // The start's failure is the one to tell; a stop failing after it changes nothing.
        await stop(0).catch(() => undefined);
        throw error;
      }
      started.push({ name, stop: (graceMs) => stage.stop(graceMs) });
      log.debug({ stage: name }, 'stage started');
      return stage.value;
    },
    stop,
  };
}
