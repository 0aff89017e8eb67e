// Cluster mode (issue #14): hub ownership by leases in PostgreSQL, rendezvous assignment,
// fencing. Pure logic with time as a parameter; not used by the single-instance path.
export {
  checkClusterTiming,
  clusterModeFromEnv,
  driftAllowanceMs,
  fenceUntil,
  CLUSTER_BROKER_NOTE,
  DEFAULT_CLUSTER_TIMING,
  INSTANCE_ID_PATTERN,
  MAX_CLOCK_RATE_ERROR,
} from './config';
export type { ClusterMode, ClusterTiming } from './config';
export { assignHubs, ownerOf, rendezvousScore } from './rendezvous';
export { ClusterMember } from './member';
export type { HubLease, MemberState } from './member';
export { planHandover } from './plan';
export type { HandoverInput, HandoverPlan } from './plan';
export { ClusterNode } from './node';
export type { CycleResult, LeaseStore } from './node';
export { ClusterLoop, SYSTEM_LOOP_TIMERS } from './loop';
export type { ClusterLoopOptions, LoopTimers } from './loop';
export {
  DEFAULT_SHARE_GROUP,
  FLEET_WIDE_TOPICS,
  hubSubscriptions,
  isShareGroup,
  singleSubscriptions,
  vehicleSubscriptions,
} from './subscriptions';
export type { Subscription } from './subscriptions';
export { SoleOrchestrator } from './sole';
export type { LockAttempt, SoleChange, SoleLockPort, SoleState } from './sole';
