/**
 * Waits for `promise` at most `ms`. Resolves with its value, or with `fallback` when it
 * rejects or is still pending at the deadline; never rejects. For waits that must not
 * hold up shutdown or a health check (QUIT, readiness probes, connection set-up).
 */
export async function settleWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise.catch(() => fallback), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
