/** Fleet simulator speaking CONTRACT.md: a pure model, an MQTT runner, a CLI (sim/cli.ts). */
export { FleetModel } from './model';
export { taper } from './rules';
export { roundLimit } from './devices';
export type {
  FleetOptions,
  HubSpec,
  NodeSpec,
  VehicleSpec,
  LatLon,
  DeviceBehaviour,
  HubDevice,
  LimitRounding,
  ScriptStep,
} from './options';
export type {
  SimMessage,
  SimPayload,
  ApplyResult,
  FleetCounters,
  HubEvent,
  HubSnapshot,
  NodeSnapshot,
  VehicleSnapshot,
  HubMode,
  PadState,
  VehicleMode,
} from './types';
export { startSimulator, summaryLine } from './runner';
export type {
  SimulatorOptions,
  SimulatorStats,
  HubStats,
  RunningSimulator,
  ScheduledFault,
  StopOptions,
} from './runner';
export { demoFleet, DEMO_TIMELINE } from './demo';
export type { DemoOptions } from './demo';
export { LimitObserver, followModel } from './observer';
export type { LimitObserverOptions, LimitSample, SampleCause } from './observer';
export { watchLimits, watchFilters } from './watch';
export type { LimitWatch, WatchOptions } from './watch';
export { mulberry32 } from './prng';
export type { Prng } from './prng';
