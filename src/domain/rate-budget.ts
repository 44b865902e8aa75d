/**
 * A budget of so many things a second (a token bucket holding at most a second's worth),
 * for what may be skipped when there is too much of it. Pure: the clock is given.
 */

/** Takes one thing's place if there is one. */
export interface RateBudget {
  /** True when the thing fits now (and counts it); false when it should be skipped. */
  take(): boolean;
}

/** A budget of `perSecond` a second, never more than a second's worth at once. */
export function createRateBudget(perSecond: number, now: () => number = Date.now): RateBudget {
  if (!(perSecond > 0)) throw new RangeError(`perSecond must be a number > 0, got ${perSecond}`);
  let tokens = perSecond;
  let at = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(perSecond, tokens + ((t - at) * perSecond) / 1000);
      at = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
