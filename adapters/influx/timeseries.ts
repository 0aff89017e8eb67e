// What the time series are made of: change lists of the twin and our DLM commands, as
// they arrive on wires, turned into points. One point per report change (`node-telemetry`,
// `hub-status`, `node-status`, `vehicle-telemetry`; every other change type is not a time
// series), one per DLM command, and the hub load of each hub whose node telemetry moved,
// at most once per interval (the held-back sample comes out through `due()`).
// Pure apart from the capacity lookup the caller gives; time is a parameter.
import type { Point } from '@influxdata/influxdb-client';
import type { DlmCommand } from '../../core/dlm/types';
import type {
  AnyChange,
  HubStatusChange,
  NodeStatusChange,
  NodeTelemetryChange,
  VehicleTelemetryChange,
} from './changes';
import { HubLoadTracker, type CapacityOf, type HubLoadSample } from './hub-load';
import {
  dlmAllocationPoint,
  hubLoadPoint,
  hubStatusPoint,
  nodeStatusPoint,
  nodeTelemetryPoint,
  vehicleTelemetryPoint,
} from './points';

export interface TimeSeriesOptions {
  /** At most one hub_load point per hub per this interval (default 1000 ms). */
  readonly hubLoadIntervalMs?: number;
  /** Grid capacity of a hub (kW), or null/undefined while unknown. */
  readonly capacityOf?: CapacityOf;
}

/** The point of one change; undefined when the change type is not a time series. */
export function changePoint(c: AnyChange): Point | null | undefined {
  switch (c.type) {
    case 'node-telemetry':
      return nodeTelemetryPoint(c as NodeTelemetryChange);
    case 'hub-status':
      return hubStatusPoint(c as HubStatusChange);
    case 'node-status':
      return nodeStatusPoint(c as NodeStatusChange);
    case 'vehicle-telemetry':
      return vehicleTelemetryPoint(c as VehicleTelemetryChange);
    default:
      return undefined;
  }
}

/** Is this a DLM command (msg.dlm of the allocator's output)? Checks the fields used. */
export function isDlmCommand(v: unknown): v is DlmCommand {
  if (v === null || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.hubId === 'string' &&
    typeof c.nodeId === 'string' &&
    typeof c.reason === 'string' &&
    typeof c.ts === 'number' &&
    typeof c.newLimitKw === 'number'
  );
}

/** Points of change lists and DLM commands (see the file comment). */
export class TimeSeriesPoints {
  private readonly hubLoad: HubLoadTracker;
  private readonly capacityOf: CapacityOf;

  constructor(opts: TimeSeriesOptions = {}) {
    this.hubLoad = new HubLoadTracker({ minIntervalMs: opts.hubLoadIntervalMs ?? 1000 });
    this.capacityOf = opts.capacityOf ?? (() => null);
  }

  /**
   * Points of a change list received at `nowMs`. `skipped` counts changes of a time
   * series type that gave no point (an id or the time missing: they cannot be written).
   */
  fromChanges(changes: readonly AnyChange[], nowMs: number): { points: Point[]; skipped: number } {
    const points: Point[] = [];
    let skipped = 0;
    for (const c of changes) {
      const p = changePoint(c);
      if (p) points.push(p);
      else if (p === null) skipped++;
    }
    for (const s of this.hubLoad.update(changes, this.capacityOf, nowMs)) pushLoad(points, s);
    return { points, skipped };
  }

  /** The `dlm_allocation` point of one of our DLM commands (null when it cannot be written). */
  fromCommand(cmd: DlmCommand): Point | null {
    return dlmAllocationPoint(cmd);
  }

  /** Hub load samples held back by the interval that are due at `nowMs`. */
  due(nowMs: number): Point[] {
    const points: Point[] = [];
    for (const s of this.hubLoad.due(this.capacityOf, nowMs)) pushLoad(points, s);
    return points;
  }

  /** Forgets every hub's load. */
  clear(): void {
    this.hubLoad.clear();
  }
}

function pushLoad(points: Point[], s: HubLoadSample): void {
  const p = hubLoadPoint(s);
  if (p) points.push(p);
}
