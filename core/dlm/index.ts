export type {
  AllocClass,
  AllocConfig,
  AllocInput,
  AllocResult,
  DlmAlarm,
  DlmAlarmEvent,
  DlmCommand,
  NodeAllocation,
  Policy,
  TriggerReason,
} from './types';
export { allocate, allocationWeight, effectiveDemandKw, whatIf, UNKNOWN_SOC_WEIGHT_BASIS } from './allocate';
export { WIRE_RESOLUTION_KW, floorToResolution } from './quantize';
export { HubLimitController, CAPACITY_EPSILON_KW, CONFIRM_TOLERANCE_KW } from './controller';
export type { HoldReason, HubLimitControllerOptions, IgnoredCommand, ReportEffect } from './controller';
export { DlmScheduler, TRIGGER_PRIORITY } from './scheduler';
export type { DlmSchedulerOptions, DueAllocation } from './scheduler';
export { DEFAULT_DLM_CONFIG, checkDlmConfig, parseOverrides, settingsFor } from './config';
export type { ConfigCheck, DlmEngineConfig, HubDlmSettings } from './config';
export { DlmEngine } from './engine';
export type { HubAllocationInfo, RestoredLimit, TwinView } from './engine';
export { allocateHub, isActiveNode } from './hub-allocation';
export { commandToNotification } from './notification';
export { ForeignDlmEvents, DEFAULT_FOREIGN_OPTIONS, allocationTimeMs } from './foreign';
export type { ForeignEventOptions } from './foreign';
export {
  capacityOverrideOf,
  gridCapacityKw,
  hubActive,
  maxPowerOverrideOf,
  nodeMaxKw,
  type CapacityOverride,
} from './effective';
export { HubCustody } from './custody';
export type { HubLeases, TakeOverResult } from './custody';
