// DLM alarms as people and the allocator's alarms output read them (snake_case, ISO times).
import type { DlmAlarm } from '../../core/dlm';
import { formatTimestamp } from '../../core/contract';

export function alarmJson(a: DlmAlarm): Record<string, unknown> {
  if (a.kind === 'foreign-orchestrator')
    return {
      alarm: a.kind,
      hub_id: a.hubId,
      since: formatTimestamp(a.sinceMs),
      allocation_id: a.allocationId,
      message: `another orchestrator publishes DLM events for hub ${a.hubId} (allocation ${a.allocationId}): two allocators can together set its limits above capacity — stop the other one (or make both instances of one cluster)`,
    };
  if (a.kind === 'hub-limits-unknown')
    return {
      alarm: a.kind,
      hub_id: a.hubId,
      node_ids: a.nodes,
      since: formatTimestamp(a.sinceMs),
      message: `hub ${a.hubId} has not confirmed its limits since the restart (nodes ${a.nodes.join(', ')}): every increase at the hub is held`,
    };
  return a.kind === 'hub-ignores-commands'
    ? {
        alarm: a.kind,
        hub_id: a.hubId,
        node_id: a.nodeId,
        since: formatTimestamp(a.sinceMs),
        attempts: a.attempts,
        commanded_kw: a.commandedKw,
        reported_kw: a.reportedKw,
        message: `hub ${a.hubId} ignores its limits: node ${a.nodeId} reports ${a.reportedKw ?? '?'} kW, told ${a.commandedKw} kW (${a.attempts} sends); every increase at the hub is held`,
      }
    : {
        alarm: a.kind,
        hub_id: a.hubId,
        since: formatTimestamp(a.sinceMs),
        message: `waiting for hub info — hub ${a.hubId} has not sent its capacity: not allocating`,
      };
}
