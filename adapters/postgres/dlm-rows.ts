// DLM events as dlm_events rows: ours (the allocator's commands, source 'orchestrator') and
// those heard on the broker (always a hub's, whatever they claim). The limits in force are
// restored only from ours (reads.ts, loadState).
import { hubDlmEventOf, type TwinChange } from '../../core/twin';
import type { DlmEventMessage } from '../../core/contract';
import type { DlmCommand } from '../../core/dlm/types';
import type { DlmEventInsert } from './rows';
import { ownerEpochOf, pgText } from './values';
import type { WriteItem } from './write-tables';

/** Limits on the wire have 6 decimals (core/dlm commandToNotification): stored the same. */
const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The key of a DLM event: the same for one of our commands and for its echo from the broker
 * (hub, node, time, new limit, allocation), so the echo is recognised and never stored as a
 * second, hub-sourced event (see insertDlmEvents). JSON keeps the parts apart.
 */
export function dlmEventKeyOf(
  hubId: string,
  nodeId: string,
  ts: number,
  newLimitKw: number,
  allocationId: string | null,
): string {
  return JSON.stringify([hubId, nodeId, ts, round6(newLimitKw), allocationId]);
}

export function hubDlmEventRow(c: Extract<TwinChange, { type: 'hub-dlm-event' }>): WriteItem {
  return {
    table: 'dlmEvents',
    row: {
      event_key: pgText(dlmEventKeyOf(c.hubId, c.nodeId, c.ts, c.newLimitKw, c.allocationId)),
      hub_id: c.hubId,
      node_id: c.nodeId,
      trigger_reason: pgText(c.reason),
      original_limit: c.originalLimitKw,
      new_limit: c.newLimitKw,
      total_grid_load: c.totalGridLoadKw,
      available_capacity: c.availableCapacityKw,
      source: 'hub',
      claimed_source: pgText(c.claimedSource),
      allocation_id: pgText(c.allocationId),
      policy: null,
      // Decode keeps only the contract's fields: a hub's event has no owner's epoch. (The
      // broker's echo of an event of ours, or of another instance, is replaced by its
      // orchestrator row, epoch included: insertDlmEvents.)
      owner_epoch: null,
      ts: c.ts,
    },
  };
}

/**
 * One of our DLM commands (the allocator's output) as a dlm_events row with source
 * 'orchestrator': the only rows the limits in force are restored from (loadState's lastLimits).
 * `ownerEpoch` is the payload's `owner_epoch` (cluster mode), kept when it is a non-negative
 * safe integer, NULL otherwise.
 */
export function dlmCommandToWrite(
  cmd: DlmCommand,
  policy: string | null = null,
  ownerEpoch: unknown = null,
): WriteItem {
  const row: DlmEventInsert = {
    event_key: dlmEventKeyOf(cmd.hubId, cmd.nodeId, cmd.ts, cmd.newLimitKw, cmd.allocationId),
    hub_id: cmd.hubId,
    node_id: cmd.nodeId,
    trigger_reason: cmd.reason,
    original_limit: round6(cmd.originalLimitKw),
    new_limit: round6(cmd.newLimitKw),
    total_grid_load: round6(cmd.totalGridLoadKw),
    available_capacity: round6(Math.max(0, cmd.availableCapacityKw)),
    source: 'orchestrator',
    claimed_source: null,
    allocation_id: cmd.allocationId,
    policy,
    owner_epoch: ownerEpochOf(ownerEpoch),
    ts: cmd.ts,
  };
  return { table: 'dlmEvents', row };
}

/**
 * A DLM event heard on the broker, stored without the twin: a hub's, whatever it claims (as
 * the twin's hub-dlm-event). Our own events are stored from the allocator's output
 * (dlmCommandToWrite); their echo has the same key and never overrides them.
 */
export function inboundDlmEventToWrite(m: DlmEventMessage): WriteItem {
  return hubDlmEventRow(hubDlmEventOf(m));
}
