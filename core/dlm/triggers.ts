/**
 * Which twin changes trigger an allocation, and with which reason. The changes that need the
 * engine's state (hub-state: suspension and RESYNC; node-telemetry: confirmations and
 * GRID_OVERLOAD; hub-upserted: the capacity in use) are handled by the engine itself with
 * the help of `hubUpsertReason`.
 *
 * - hub-upserted: capacity, capacity override or `active` changed → CAPACITY_CHANGED, or
 *   HUB_INACTIVE when an operator switched the hub off;
 * - node-state: → faulted NODE_FAULT, maintenance on/off NODE_MAINTENANCE, → charging
 *   VEHICLE_CONNECTED, → idle VEHICLE_DISCONNECTED, → full CHARGING_COMPLETE;
 * - node-upserted: max power (reported or operator override) changed → REBALANCE;
 * - node-deleted (an operator removed it) → REBALANCE: the node is no longer allocated, so
 *   its limit goes to 0 (the hub is told, decreases first);
 * - node-assigned (a request) → VEHICLE_CONNECTED; assignment timed out → VEHICLE_DISCONNECTED;
 * - soc-class of a vehicle at a node → PRIORITY_SHIFT.
 */
import { hubActive, hubDlmFieldsDiffer, nodeMaxDiffers } from './effective';
import type { TriggerReason } from './types';
import type { HubView, NodeView, TwinChange } from '../twin/types';

const NODE_STATE_REASON: Partial<Record<NodeView['state'], TriggerReason>> = {
  faulted: 'NODE_FAULT',
  charging: 'VEHICLE_CONNECTED',
  idle: 'VEHICLE_DISCONNECTED',
  full: 'CHARGING_COMPLETE',
};

/** Reasons a node-level change triggers at its hub (empty for every other change). */
export function nodeChangeReasons(c: TwinChange): TriggerReason[] {
  switch (c.type) {
    case 'node-state': {
      const out: TriggerReason[] = [];
      if (c.maintenance !== c.previousMaintenance) out.push('NODE_MAINTENANCE');
      const r = c.state !== c.previousState ? NODE_STATE_REASON[c.state] : undefined;
      if (r) out.push(r);
      return out;
    }
    case 'node-upserted':
      return !c.created && nodeMaxDiffers(c.previous, c.node) ? ['REBALANCE'] : [];
    case 'node-deleted':
      return ['REBALANCE'];
    case 'node-assigned':
      return ['VEHICLE_CONNECTED'];
    case 'node-assignment-cleared':
      return c.reason === 'timeout' ? ['VEHICLE_DISCONNECTED'] : [];
    case 'soc-class':
      return c.hubId !== null ? ['PRIORITY_SHIFT'] : [];
    default:
      return [];
  }
}

/** The reason a hub-upserted change triggers, or null when nothing the DLM reads changed. */
export function hubUpsertReason(previous: HubView | null, hub: HubView): TriggerReason | null {
  if (!hubDlmFieldsDiffer(previous, hub)) return null;
  return previous && hubActive(previous) && !hubActive(hub) ? 'HUB_INACTIVE' : 'CAPACITY_CHANGED';
}
