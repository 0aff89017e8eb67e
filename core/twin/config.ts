// Configuration of the twin: defaults and the check of a partial config.
import { TwinInputError } from './errors';

export interface TwinConfig {
  /**
   * A hub is stale when its last sign of life is older than this (DESIGN: 3 × telemetry
   * period, ≥ 10 s). A status or telemetry whose own timestamp is already older than this at
   * receipt is not a sign of life (see hubs.ts, isSignOfLife).
   */
  readonly staleAfterS: number;
  readonly criticalSoc: number;
  /** Critical again normal only at ≥ criticalSoc + socHysteresis. */
  readonly socHysteresis: number;
  /** Capacity used for SoC estimates when a vehicle's is unknown. */
  readonly defaultBatteryKwh: number;
  /** Open sessions of a hub offline/stale for longer than this are closed (reason hub-offline). */
  readonly offlineSessionCloseS: number;
  /** A request assignment not followed by charging is dropped after this. */
  readonly assignmentTimeoutS: number;
  /** tick() emits a new SoC estimate only when it moved by at least this (points). */
  readonly socEstimateStep: number;
  /** Most hubs the twin holds; a message naming one more is refused (TwinRefusal 'limit-hubs'). */
  readonly maxHubs: number;
  /** Most nodes, all hubs together ('limit-nodes'). */
  readonly maxNodes: number;
  /** Most vehicles ('limit-vehicles'). */
  readonly maxVehicles: number;
  /**
   * Only hubs, nodes and vehicles created (or taken over) by an operator command are
   * accepted; a message naming any other is refused ('unregistered').
   */
  readonly registeredOnly: boolean;
}

export const DEFAULT_TWIN_CONFIG: TwinConfig = Object.freeze({
  staleAfterS: 10,
  criticalSoc: 20,
  socHysteresis: 2,
  defaultBatteryKwh: 60,
  offlineSessionCloseS: 300,
  assignmentTimeoutS: 120,
  socEstimateStep: 0.5,
  maxHubs: 10_000,
  maxNodes: 100_000,
  maxVehicles: 100_000,
  registeredOnly: false,
});

const COUNTS: ReadonlySet<string> = new Set(['maxHubs', 'maxNodes', 'maxVehicles']);

/** The full config from a partial one (undefined keys take the default); throws TwinInputError for an unusable value. */
export function configFrom(partial: Partial<TwinConfig> | undefined): TwinConfig {
  const c: Record<string, unknown> = { ...DEFAULT_TWIN_CONFIG };
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (!(k in DEFAULT_TWIN_CONFIG)) throw new TwinInputError(`config ${k} is not a twin setting`);
    if (v !== undefined) c[k] = v;
  }
  for (const [k, v] of Object.entries(c)) {
    if (k === 'registeredOnly') {
      if (typeof v !== 'boolean') throw new TwinInputError('config registeredOnly must be true or false');
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new TwinInputError(`config ${k} must be a finite number ≥ 0`);
    } else if (COUNTS.has(k) && !Number.isInteger(v)) {
      throw new TwinInputError(`config ${k} must be a whole number ≥ 0`);
    }
  }
  if ((c.defaultBatteryKwh as number) <= 0) throw new TwinInputError('config defaultBatteryKwh must be > 0');
  return Object.freeze(c as unknown as TwinConfig);
}
