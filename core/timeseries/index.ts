/** Time series helpers (pure): hub load aggregation for the `hub_load` measurement. */
export { HubLoadTracker } from './hub-load';
export type { HubLoadSample, HubLoadOptions, CapacityOf } from './hub-load';
