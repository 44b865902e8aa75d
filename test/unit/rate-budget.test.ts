import { describe, expect, it } from 'vitest';
import { createRateBudget } from '../../src/domain/rate-budget.js';

describe('a rate budget', () => {
  it('lets a second’s worth through at once, then as many a second as it allows', () => {
    let now = 0;
    const budget = createRateBudget(250, () => now);
    const first = Array.from({ length: 300 }, () => budget.take()).filter(Boolean).length;
    expect(first).toBe(250);
    now += 200;
    expect(Array.from({ length: 100 }, () => budget.take()).filter(Boolean).length).toBe(50);
    now += 10_000;
    // Never more than a second's worth saved up.
    expect(Array.from({ length: 400 }, () => budget.take()).filter(Boolean).length).toBe(250);
  });

  it('fails fast on a budget that is not a positive number', () => {
    expect(() => createRateBudget(0)).toThrow(RangeError);
    expect(() => createRateBudget(Number.NaN)).toThrow(RangeError);
  });
});
