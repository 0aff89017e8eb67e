/**
 * Configuration of the DLM engine: defaults, validation with field-precise messages, and the
 * per-hub overrides (`{ "<hub_id>": { policy?, reserve?, criticalSoc?, minChangeKw? } }`).
 */
import type { Policy } from './types';

/** Settings that may differ per hub. */
export interface HubDlmSettings {
  policy: Policy;
  /** Share of the grid capacity kept back, 0..0.5. */
  reserve: number;
  /** Used only for vehicles the twin does not know (the fleet's SoC class wins). */
  criticalSoc: number;
  /** Hysteresis of the limit changes (kW). */
  minChangeKw: number;
}

export interface DlmEngineConfig extends HubDlmSettings {
  /**
   * First re-send of a limit the hub's reports do not confirm (s); doubled at each attempt.
   * Longer than two telemetry periods (2 s each): a hub slow to apply is not flooded.
   */
  resendS: number;
  /** Longest interval between two re-sends (s). */
  resendMaxS: number;
  /**
   * Delivery window (s): a limit sent this long ago — counted from the later of its send and
   * the hub's last RESYNC — has reached a hub that stayed present, or was lost, so a report
   * after that is the state it left (a hub away longer than the twin's stale_after_s is
   * suspended and RESYNCed; one away for less is unnoticed, and its broker session delivers
   * what was queued as soon as it is back). Must exceed stale_after_s.
   */
  deliveryWindowS: number;
  /** Period of REBALANCE (s). */
  rebalanceS: number;
  /** Coalescing window of triggers (ms). */
  coalesceMs: number;
  /** Per-hub overrides of the hub settings, by hubId. */
  overrides: Readonly<Record<string, Partial<HubDlmSettings>>>;
}

export const DEFAULT_DLM_CONFIG: DlmEngineConfig = Object.freeze({
  policy: 'soc-priority',
  reserve: 0,
  criticalSoc: 20,
  minChangeKw: 0.5,
  resendS: 5,
  resendMaxS: 30,
  deliveryWindowS: 30,
  rebalanceS: 5,
  coalesceMs: 50,
  overrides: Object.freeze({}),
});

export type ConfigCheck<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const POLICIES: readonly Policy[] = ['equal', 'soc-priority'];
const SETTING_KEYS: ReadonlySet<string> = new Set(['policy', 'reserve', 'criticalSoc', 'minChangeKw']);

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function checkSetting(key: string, v: unknown, where: string, errors: string[]): void {
  switch (key) {
    case 'policy':
      if (!POLICIES.includes(v as Policy))
        errors.push(`${where}policy: must be one of ${POLICIES.join(', ')}`);
      break;
    case 'reserve':
      if (!isFiniteNumber(v) || v < 0 || v > 0.5) errors.push(`${where}reserve: must be a number in 0..0.5`);
      break;
    case 'criticalSoc':
      if (!isFiniteNumber(v) || v < 0 || v > 100)
        errors.push(`${where}criticalSoc: must be a number in 0..100`);
      break;
    case 'minChangeKw':
      if (!isFiniteNumber(v) || v < 0 || v > 350)
        errors.push(`${where}minChangeKw: must be a number in 0..350`);
      break;
    default:
      errors.push(`${where}${key}: unknown setting (allowed: ${[...SETTING_KEYS].join(', ')})`);
  }
}

/**
 * Parses and validates per-hub overrides: a JSON object (text or parsed) of
 * `{ "<hub_id>": { policy?, reserve?, criticalSoc?, minChangeKw? } }`. Empty text = none.
 */
export function parseOverrides(input: unknown): ConfigCheck<Record<string, Partial<HubDlmSettings>>> {
  let raw = input;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return { ok: true, value: {} };
  }
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw) as unknown;
    } catch (e) {
      return { ok: false, errors: [`overrides: not valid JSON (${(e as Error).message})`] };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: ['overrides: must be a JSON object keyed by hub id'] };
  }
  const errors: string[] = [];
  const value: Record<string, Partial<HubDlmSettings>> = {};
  for (const [hubId, s] of Object.entries(raw as Record<string, unknown>)) {
    if (hubId.length < 1 || hubId.length > 50 || /[/+#]/.test(hubId)) {
      errors.push(`overrides: "${hubId.slice(0, 60)}" is not a valid hub id`);
      continue;
    }
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      errors.push(`overrides.${hubId}: must be an object such as {"policy": "equal", "reserve": 0.1}`);
      continue;
    }
    const entry: Partial<HubDlmSettings> = {};
    for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
      const before = errors.length;
      checkSetting(k, v, `overrides.${hubId}.`, errors);
      if (errors.length === before) (entry as Record<string, unknown>)[k] = v;
    }
    value[hubId] = entry;
  }
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

/** Validates a full engine configuration (defaults for what is missing). */
export function checkDlmConfig(partial: Partial<DlmEngineConfig>): ConfigCheck<DlmEngineConfig> {
  const c: DlmEngineConfig = { ...DEFAULT_DLM_CONFIG, ...partial };
  const errors: string[] = [];
  for (const k of SETTING_KEYS) checkSetting(k, c[k as keyof HubDlmSettings], '', errors);
  if (!isFiniteNumber(c.resendS) || c.resendS <= 0 || c.resendS > 3600)
    errors.push('resendS: must be a number in (0, 3600]');
  if (!isFiniteNumber(c.resendMaxS) || c.resendMaxS < c.resendS || c.resendMaxS > 86400)
    errors.push('resendMaxS: must be a number in [resendS, 86400]');
  if (!isFiniteNumber(c.deliveryWindowS) || c.deliveryWindowS < 15 || c.deliveryWindowS > 3600)
    errors.push('deliveryWindowS: must be a number in [15, 3600]');
  if (!isFiniteNumber(c.rebalanceS) || c.rebalanceS <= 0 || c.rebalanceS > 86400)
    errors.push('rebalanceS: must be a number in (0, 86400]');
  if (!isFiniteNumber(c.coalesceMs) || c.coalesceMs < 0 || c.coalesceMs > 60000)
    errors.push('coalesceMs: must be a number in 0..60000');
  const o = parseOverrides(c.overrides);
  if (!o.ok) errors.push(...o.errors);
  return errors.length
    ? { ok: false, errors }
    : { ok: true, value: { ...c, overrides: o.ok ? o.value : {} } };
}

/** Effective settings of one hub (config + its overrides). */
export function settingsFor(config: DlmEngineConfig, hubId: string): HubDlmSettings {
  const o = Object.prototype.hasOwnProperty.call(config.overrides, hubId)
    ? config.overrides[hubId]
    : undefined;
  return {
    policy: o?.policy ?? config.policy,
    reserve: o?.reserve ?? config.reserve,
    criticalSoc: o?.criticalSoc ?? config.criticalSoc,
    minChangeKw: o?.minChangeKw ?? config.minChangeKw,
  };
}
