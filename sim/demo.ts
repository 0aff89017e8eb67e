/**
 * The demo fleet (`npm run demo`, `WPT_DEMO=1`, `wpt-sim --demo`): within its first minute
 * hubs bind (vehicles ask for more than the capacity), a critical vehicle arrives, and a hub's
 * capacity drops; then vehicles keep arriving and leaving. Same seed, same demo.
 */
import type { FleetOptions, ScriptStep } from './options';

/** A script step without its time. */
type WithoutTime<T> = T extends unknown ? Omit<T, 'atMs'> : never;
type StepAt = WithoutTime<ScriptStep>;

export interface DemoOptions {
  /** Default 1. */
  seed?: number;
  /** Prefix of hub and vehicle ids, default ''. */
  idPrefix?: string;
}

/** What the demo does, and when (printed by `wpt-sim --help` and the demo's start line). */
export const DEMO_TIMELINE = `Demo fleet: 3 hubs × 4 pads of 78 kW with 150 kW of grid capacity each, 20 vehicles
(vans: 0.6 kWh/km), fleet time × 10 (charging, driving, dwell); pads boot at 0 kW until the
DLM gives them power.
   3 s  hub_01: two vehicles arrive and send their requests: 156 kW asked of 150 → the DLM
        shares (binding)
   4 s  hub_02: two vehicles (binding); hub_03: one
   8 s  hub_01: a third vehicle: three share 150 kW
  10 s  hub_02: a third vehicle
  15 s  hub_01: ambulance_01 (priority, SoC 5 %: critical) takes node_04 → served first
        (78 kW), the three others share the 72 kW left; it stays critical for about a minute
  20 s  hub_02: grid capacity drops 150 → 90 kW (retained info republished)
  25 s  hub_03: two more vehicles → binding
  30 s  random arrivals begin: about one every 30 s per hub when a pad is free and a vehicle
        needs charge (some below 20 % SoC: critical); vehicles charge to 80-90 %, leave 6 s
        after they are full, drive, and come back when their battery runs low; hubs bind
        most of the time
  90 s  hub_02: capacity back to 150 kW`;

/** The demo's options (add `url` etc. for startSimulator). */
export function demoFleet(opts: DemoOptions = {}): FleetOptions {
  const p = opts.idPrefix ?? '';
  const hub = (n: number): string => `${p}hub_0${n}`;
  const s = (atS: number, step: StepAt): ScriptStep => ({ atMs: atS * 1000, ...step });
  const vehicles = [
    ...Array.from({ length: 19 }, () => ({})),
    { id: `${p}ambulance_01`, socPct: 5, targetSoc: 80, batteryKwh: 100, priority: true, autoArrive: false },
  ];
  return {
    seed: opts.seed ?? 1,
    idPrefix: p,
    hubs: 3,
    nodesPerHub: 4,
    nodeMaxPowerKw: 78,
    hubCapacityKw: 150,
    consumptionKwhPerKm: 0.6,
    initialLimitKw: 0,
    vehicles,
    initialSoc: [25, 60],
    targetSoc: [80, 90],
    batteryKwh: [40, 60, 75, 100],
    priorityShare: 0,
    speed: 10,
    arrivalsPerHour: 12,
    firstArrivalAfterMs: 30_000,
    dwellAfterFullMs: 60_000,
    script: [
      s(3, { action: 'plugIn', hubId: hub(1) }),
      s(3, { action: 'plugIn', hubId: hub(1) }),
      s(4, { action: 'plugIn', hubId: hub(2) }),
      s(4, { action: 'plugIn', hubId: hub(2) }),
      s(4, { action: 'plugIn', hubId: hub(3) }),
      s(8, { action: 'plugIn', hubId: hub(1) }),
      s(10, { action: 'plugIn', hubId: hub(2) }),
      s(15, { action: 'plugIn', hubId: hub(1), nodeId: 'node_04', vehicleId: `${p}ambulance_01` }),
      s(20, { action: 'capacity', hubId: hub(2), kw: 90 }),
      s(25, { action: 'plugIn', hubId: hub(3) }),
      s(25, { action: 'plugIn', hubId: hub(3) }),
      s(90, { action: 'capacity', hubId: hub(2), kw: 150 }),
    ],
  };
}
