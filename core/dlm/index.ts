export type {
  AllocClass,
  AllocConfig,
  AllocInput,
  AllocResult,
  DlmCommand,
  NodeAllocation,
  Policy,
  TriggerReason,
} from './types';
export { allocate, allocationWeight, effectiveDemandKw, whatIf, UNKNOWN_SOC_WEIGHT_BASIS } from './allocate';
export { HubLimitController, CAPACITY_EPSILON_KW, CONFIRM_TOLERANCE_KW } from './controller';
export type { HubLimitControllerOptions } from './controller';
export { DlmScheduler, TRIGGER_PRIORITY } from './scheduler';
export type { DlmSchedulerOptions, DueAllocation } from './scheduler';
