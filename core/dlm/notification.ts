/**
 * A DLM command as the DLMNotification published on `iot/hubs/{hub_id}/dlm/events`.
 */
import { floorToResolution, WIRE_RESOLUTION_KW } from './quantize';
import type { DlmCommand, Policy } from './types';
import { encodeDlmNotification, type DLMNotification } from '../contract';

/**
 * The DLMNotification payload of a command, in the contract's field names, validated by the
 * contract (`timestamp` with microseconds and `Z`), plus `allocation_id`, `policy` and
 * `source`. Limits go out at the wire resolution, rounded down — a no-op for the limits the
 * controller plans (already at it), so `new_limit` is exactly the value counted; never up.
 */
export function commandToNotification(cmd: DlmCommand, policy: Policy, source = 'wpt-dlm'): DLMNotification {
  return JSON.parse(
    encodeDlmNotification({
      trigger_reason: cmd.reason,
      original_limit: floorToResolution(cmd.originalLimitKw, WIRE_RESOLUTION_KW),
      new_limit: floorToResolution(cmd.newLimitKw, WIRE_RESOLUTION_KW),
      affected_node_id: cmd.nodeId,
      total_grid_load: round6(cmd.totalGridLoadKw),
      available_capacity: round6(cmd.availableCapacityKw),
      ts: cmd.ts,
      allocation_id: cmd.allocationId,
      policy,
      source,
    }),
  ) as DLMNotification;
}

/** Totals (information only) to 6 decimals. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
