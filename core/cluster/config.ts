/**
 * Cluster mode settings: the lease timing (one config, validated together) and the switch
 * `WPT_CLUSTER=1` with the instance id `WPT_INSTANCE_ID`.
 *
 * Timing model (docs/scaling.md, "Fencing"): a lease renewed by a statement sent at local
 * time `s` expires in PostgreSQL at `now() + leaseMs`, where the server's now() is read after
 * `s`; so no other instance can take the lease before `s + leaseMs`. The owner publishes only
 * until `s + leaseMs − marginMs`; the margin covers the time a publish takes from the fence
 * check to the broker (`publishLatencyMs`) plus the drift of the two clocks over one lease.
 * Only durations are compared: the instance measures with its own monotonic clock, the lease
 * with the server's; absolute clocks never need to agree.
 */
import type { ConfigCheck } from '../dlm/config';

export interface ClusterTiming {
  /** Period of the heartbeat and lease renewal (ms). */
  renewMs: number;
  /** Length of a lease in PostgreSQL (ms): `expires_at = now() + leaseMs`. */
  leaseMs: number;
  /** The owner stops publishing this long before its lease could expire (ms). */
  marginMs: number;
  /** Longest time from a fence check to the publish reaching the broker (ms). */
  publishLatencyMs: number;
}

/** Clock rate error allowed between an instance and the PostgreSQL server (1,000 ppm). */
export const MAX_CLOCK_RATE_ERROR = 0.001;

export const DEFAULT_CLUSTER_TIMING: ClusterTiming = Object.freeze({
  renewMs: 2000,
  leaseMs: 10000,
  marginMs: 2000,
  publishLatencyMs: 1000,
});

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

/** Drift of the two clocks over one lease, rounded up (ms). */
export function driftAllowanceMs(leaseMs: number): number {
  return Math.ceil(leaseMs * MAX_CLOCK_RATE_ERROR);
}

/**
 * Validates the timing (defaults for what is missing). Rules: a publish checked before the
 * fence lands before the lease can expire (`marginMs ≥ publishLatencyMs + drift`), and a
 * healthy owner keeps its fence through one missed renewal (`leaseMs − marginMs ≥ 2 × renewMs`).
 */
export function checkClusterTiming(partial: Partial<ClusterTiming> = {}): ConfigCheck<ClusterTiming> {
  const c: ClusterTiming = { ...DEFAULT_CLUSTER_TIMING, ...partial };
  const errors: string[] = [];
  const range = (key: keyof ClusterTiming, min: number, max: number): boolean => {
    const v = c[key];
    if (isInt(v) && v >= min && v <= max) return true;
    errors.push(`${key}: must be an integer number of milliseconds in [${min}, ${max}] (got ${String(v)})`);
    return false;
  };
  const ok = [
    range('renewMs', 100, 60000),
    range('leaseMs', 300, 600000),
    range('marginMs', 1, 600000),
    range('publishLatencyMs', 1, 60000),
  ].every(Boolean);
  if (!ok) return { ok: false, errors };
  const drift = driftAllowanceMs(c.leaseMs);
  if (c.marginMs < c.publishLatencyMs + drift) {
    errors.push(
      `marginMs: must be at least publishLatencyMs + clock drift over a lease = ${c.publishLatencyMs} + ${drift} = ${c.publishLatencyMs + drift} ms (got ${c.marginMs}), or a publish checked before the fence could reach the broker after another instance took the lease`,
    );
  }
  if (c.leaseMs - c.marginMs < 2 * c.renewMs) {
    errors.push(
      `leaseMs: must be at least 2 × renewMs + marginMs = ${2 * c.renewMs + c.marginMs} ms (got ${c.leaseMs}), so a healthy owner keeps publishing through one missed renewal`,
    );
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: c };
}

/** Last local instant (ms) at which the holder of a lease renewed by a statement sent at `sentAtMs` may publish. */
export function fenceUntil(sentAtMs: number, t: ClusterTiming): number {
  return sentAtMs + t.leaseMs - t.marginMs;
}

export type ClusterMode = { enabled: false } | { enabled: true; instanceId: string };

/** Instance ids: 1–64 characters of letters, digits, `.`, `_`, `-`. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * What the operator must know at start in cluster mode: the embedded broker (aedes) has no
 * shared subscriptions, so vehicle telemetry would reach every instance (or none reliably).
 */
export const CLUSTER_BROKER_NOTE =
  'cluster mode (WPT_CLUSTER=1) needs an external MQTT 5 broker with shared subscriptions ($share/…): Mosquitto 2, EMQX, HiveMQ or VerneMQ; the embedded broker does not support them';

/**
 * Reads `WPT_CLUSTER` and `WPT_INSTANCE_ID`. Unset, empty or `0`: single instance (the
 * default, nothing else is read). `1`: cluster mode, which needs a valid instance id.
 */
export function clusterModeFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ConfigCheck<ClusterMode> {
  const flag = (env.WPT_CLUSTER ?? '').trim();
  if (flag === '' || flag === '0') return { ok: true, value: { enabled: false } };
  if (flag !== '1')
    return {
      ok: false,
      errors: [`WPT_CLUSTER: must be 1 (cluster mode) or 0/unset (got "${flag.slice(0, 20)}")`],
    };
  const id = (env.WPT_INSTANCE_ID ?? '').trim();
  if (!id)
    return {
      ok: false,
      errors: [
        'WPT_INSTANCE_ID: required with WPT_CLUSTER=1 (a name unique to this instance, e.g. the host name)',
      ],
    };
  if (!INSTANCE_ID_PATTERN.test(id)) {
    return {
      ok: false,
      errors: [
        `WPT_INSTANCE_ID: 1–64 characters of letters, digits, ".", "_", "-" (got "${id.slice(0, 70)}")`,
      ],
    };
  }
  return { ok: true, value: { enabled: true, instanceId: id } };
}
