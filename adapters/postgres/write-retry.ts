// Retry policy of the write queue: exponential backoff with jitter.

export interface Backoff {
  /** First delay, ms; doubled per consecutive failure up to maxMs. */
  minMs: number;
  maxMs: number;
  /** ± fraction of random jitter, 0..1. */
  jitter: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/** Delay before the next attempt after `failures` consecutive failed ones (≥ 1), ms. */
export function retryDelay(failures: number, b: Backoff): number {
  const base = Math.min(b.maxMs, b.minMs * 2 ** Math.max(0, failures - 1));
  const factor = 1 - b.jitter + 2 * b.jitter * b.random();
  return Math.max(0, Math.min(b.maxMs, Math.round(base * factor)));
}
