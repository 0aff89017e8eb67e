// Operator commands applied to the twin by wpt-twin, answered as the REST API shows the result:
// the entity after the command (201 when it was created), 204 after a delete, and the twin's
// refusals as 400 (every field at fault), 404 (unknown hub, node, vehicle or open session) and
// 409 (a conflict with the current state, or a bound of the fleet).
import type {
  HubView,
  NodeView,
  OperatorCommand,
  SessionView,
  Twin,
  TwinChange,
  VehicleView,
} from '../../core/twin';
import { TwinConflict, TwinInputError, TwinNotFound, TwinRefusal } from '../../core/twin';
import {
  apiError,
  badRequest,
  hubJson,
  nodeJson,
  notFound,
  ok,
  sessionJson,
  vehicleJson,
  type ApiResponse,
} from '../lib/api';

function created(changes: readonly TwinChange[]): boolean {
  return changes.some(
    (c) =>
      (c.type === 'hub-upserted' || c.type === 'node-upserted' || c.type === 'vehicle-upserted') && c.created,
  );
}

/**
 * The field a REST caller sent for a field of the twin's command: the body of PUT
 * …/capacity-override is the override itself, with its times as `from` and `until`.
 */
export function restField(field: string): string {
  if (!field.startsWith('override.')) return field;
  const f = field.slice('override.'.length);
  return f === 'from_ms' ? 'from' : f === 'until_ms' ? 'until' : f;
}

export function runCommand(
  twin: Twin,
  cmd: OperatorCommand,
  actor: string,
  nowMs: number,
): { changes: TwinChange[]; answer: ApiResponse } {
  let r: { changes: TwinChange[]; result: unknown };
  try {
    r = twin.operate(cmd, actor, nowMs);
  } catch (err) {
    if (err instanceof TwinNotFound) return { changes: [], answer: notFound(err.message) };
    if (err instanceof TwinRefusal) return { changes: [], answer: apiError(409, 'conflict', err.message) };
    if (err instanceof TwinConflict) return { changes: [], answer: apiError(409, 'conflict', err.message) };
    if (err instanceof TwinInputError) {
      const errors = err.problems.length
        ? err.problems.map((p) => `${restField(p.field)}: ${p.message.replace(/\bfrom_ms\b/g, 'from')}`)
        : [err.message];
      return { changes: [], answer: badRequest(errors) };
    }
    throw err;
  }
  const status = created(r.changes) ? 201 : 200;
  if (r.result === null) return { changes: r.changes, answer: { statusCode: 204, payload: '' } };
  switch (cmd.op) {
    case 'hub-upsert':
    case 'hub-active':
    case 'hub-capacity-override':
      return { changes: r.changes, answer: ok(hubJson(twin, r.result as HubView), status) };
    case 'node-upsert':
    case 'node-maintenance':
    case 'node-max-power-override':
      return { changes: r.changes, answer: ok(nodeJson(twin, r.result as NodeView), status) };
    case 'vehicle-upsert':
      return { changes: r.changes, answer: ok(vehicleJson(twin, r.result as VehicleView), status) };
    case 'session-end':
      return { changes: r.changes, answer: ok(sessionJson(r.result as SessionView)) };
    default:
      return { changes: r.changes, answer: { statusCode: 204, payload: '' } };
  }
}
