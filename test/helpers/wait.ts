// Waiting in tests: polling a condition or a value until it holds or a time limit passes.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface UntilOptions {
  /** Milliseconds between two checks (default 20). */
  every?: number;
  /** Added to the timeout error: what the test saw (JSON unless a string). */
  detail?: () => unknown;
}

/**
 * Checks `cond` every `every` ms until it holds; throws after `ms` milliseconds, naming
 * `what` (and the detail).
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
  { every = 20, detail }: UntilOptions = {},
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) {
      const d = detail?.();
      const more = d === undefined ? '' : `: ${typeof d === 'string' ? d : JSON.stringify(d)}`;
      throw new Error(`timed out after ${ms} ms waiting for ${what}${more}`);
    }
    await sleep(every);
  }
}

/**
 * Calls `fn` every `every` ms until `ok` holds for its value or `ms` milliseconds passed;
 * returns the last value either way, for the caller to assert on.
 */
export async function poll<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 15_000,
  every = 100,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(every);
  }
}
