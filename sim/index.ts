/** Fleet simulator speaking CONTRACT.md: a pure model, an MQTT runner, a CLI (sim/cli.ts). */
export { FleetModel, taper } from './model';
export type {
  FleetOptions,
  HubSpec,
  NodeSpec,
  LatLon,
  SimMessage,
  SimPayload,
  ApplyResult,
  FleetCounters,
  HubSnapshot,
  NodeSnapshot,
  VehicleSnapshot,
  HubMode,
  NodeState,
  VehicleMode,
} from './model';
export { startSimulator, summaryLine } from './runner';
export type { SimulatorOptions, SimulatorStats, HubStats, RunningSimulator, StopOptions } from './runner';
export { mulberry32 } from './prng';
export type { Prng } from './prng';
