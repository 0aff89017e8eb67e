// Charging sessions and DLM events of the original API, from PostgreSQL (numbered rows, in
// order of insertion). Sessions open and close from the nodes' reports here: ending one by
// hand is the twin's session-end (audited); what the twin cannot do is answered as such.
import { checkBody, checkQuery, pathInt, type Spec } from './input';
import { dboNotFound, detail, InternalError, noContent, ok, validationError, type Resp } from './errors';
import { dlmEventOut, restSessionOut, sessionOut, sessionViewOut } from './shapes';
import { noteOf, resolveNode, runCommand, type Handler, type OriginalApiDeps, type Req } from './deps';
import type { NumberedSessionRow, OriginalApiStore } from '../../../adapters/postgres';

const PAGE: Spec = { skip: { kind: 'int', default: 0 }, limit: { kind: 'int', default: 100 } };
const kwField = { kind: 'float', ge: 0, required: true } as const;

function store(d: OriginalApiDeps): OriginalApiStore {
  if (!d.store)
    throw new InternalError(
      'no database configured: charging sessions and DLM events are kept in PostgreSQL',
    );
  return d.store;
}

function idOr422(req: Req, name: string) {
  return pathInt(name, req.params[name]!);
}

/** How long to wait for a session the twin opened to be stored (the store writes in batches). */
const STORED_WAIT_MS = 2000;

async function storedRow(d: OriginalApiDeps, sessionId: string): Promise<NumberedSessionRow | null> {
  const until = d.now() + STORED_WAIT_MS;
  for (;;) {
    const row = await store(d).sessionByKey(sessionId);
    if (row || d.now() >= until) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const listSessions: Handler = async (req, d) => {
  const q = checkQuery(req.query, { ...PAGE, node_id: { kind: 'str' }, vehicle_id: { kind: 'str' } });
  if (!q.ok) return validationError(q.errors);
  const v = q.value;
  const nodeId = (v.node_id as string | undefined) || undefined;
  const vehicleId = (v.vehicle_id as string | undefined) || undefined;
  const page = await store(d).sessions({
    ...(nodeId ? { nodeId } : vehicleId ? { vehicleId } : {}),
    skip: v.skip as number,
    limit: v.limit as number,
  });
  return ok({ items: page.items.map(sessionOut), total: page.total, skip: v.skip, limit: v.limit });
};

export const activeSessions: Handler = async (req, d) => {
  const q = checkQuery(req.query, { node_id: { kind: 'str' } });
  if (!q.ok) return validationError(q.errors);
  const rows = await store(d).openSessions((q.value.node_id as string | undefined) || undefined);
  return ok(rows.map(sessionOut));
};

export const getSession: Handler = async (req, d) => {
  const id = idOr422(req, 'session_id');
  if (!id.ok) return validationError(id.errors);
  const row = await store(d).session(id.value);
  return row ? ok(sessionOut(row)) : dboNotFound('ChargingSession', id.value);
};

/**
 * POST /sessions/start: the twin opens a session when the node reports `charging`, never on a
 * client's word. The node's open session is answered (201) when it has one for this vehicle
 * (or any, for vehicle_id null); else 409 saying how a charge starts here.
 */
export const startSession: Handler = async (req, d) => {
  if (req.bodyError) return validationError([req.bodyError]);
  const b = checkBody(req.body, {
    node_id: { kind: 'str', min: 1, max: 50, required: true },
    vehicle_id: { kind: 'str', min: 1, max: 50, nullable: true, required: true },
  });
  if (!b.ok) return validationError(b.errors);
  const nodeId = b.value.node_id as string;
  const vehicleId = b.value.vehicle_id as string | null;
  const r = resolveNode(d.twin, nodeId, () => dboNotFound('Node', nodeId));
  if (!r.ok) return r.resp;
  const open = d.twin.openSession(r.node.hubId, nodeId);
  if (open && (vehicleId === null || open.vehicleId === vehicleId)) {
    const row = await storedRow(d, open.sessionId);
    if (!row) throw new InternalError(`session ${open.sessionId} is not stored yet: try again`);
    return ok(sessionViewOut(open, row.id), 201);
  }
  return detail(
    409,
    open
      ? `Node ${nodeId} is charging vehicle ${open.vehicleId}: a session cannot be started for another vehicle`
      : `Node ${nodeId} has no charging session: sessions start when the node reports charging over MQTT. ` +
          `Ask for a charge with POST /nodes/${nodeId}/charge`,
  );
};

/**
 * POST /sessions/{id}/end: an open session is ended by the twin (session-end, its measured
 * energy and mean power; the client's figures go into the audit note); an ended one is
 * answered as stored.
 */
export const endSession: Handler = async (req, d) => {
  const id = idOr422(req, 'session_id');
  const b = req.bodyError
    ? ({ ok: false, errors: [req.bodyError] } as const)
    : checkBody(req.body, { total_energy_kwh: kwField, avg_power_kw: kwField });
  const errors = [...(id.ok ? [] : id.errors), ...(b.ok ? [] : b.errors)];
  if (!id.ok || !b.ok) return validationError(errors);
  const row = await store(d).session(id.value);
  if (!row) return dboNotFound('ChargingSession', id.value);
  const open = row.end_time === null ? d.twin.openSession(row.hub_id, row.node_id) : undefined;
  if (!open || open.sessionId !== row.session_id) return ok(sessionOut(row));
  const figures = `client's figures: total_energy_kwh=${b.value.total_energy_kwh}, avg_power_kw=${b.value.avg_power_kw}`;
  const r = await runCommand(
    d,
    { op: 'session-end', hub_id: row.hub_id, node_id: row.node_id, note: noteOf(req, figures) },
    () => dboNotFound('ChargingSession', id.value),
  );
  if (!r.ok) return r.resp;
  return ok(restSessionOut(r.answer.payload as Record<string, unknown>, id.value));
};

/** DELETE /sessions/{id}: an open session is ended (session-end); history is never deleted (409). */
export const deleteSession: Handler = async (req, d) => {
  const id = idOr422(req, 'session_id');
  if (!id.ok) return validationError(id.errors);
  const notFound = () => detail(404, `Charging session ${id.value} not found`);
  const row = await store(d).session(id.value);
  if (!row) return notFound();
  const open = row.end_time === null ? d.twin.openSession(row.hub_id, row.node_id) : undefined;
  if (!open || open.sessionId !== row.session_id)
    return detail(
      409,
      `Charging session ${id.value} has ended and is kept in the history: this server does not delete history`,
    );
  const r = await runCommand(
    d,
    { op: 'session-end', hub_id: row.hub_id, node_id: row.node_id, note: noteOf(req) },
    notFound,
  );
  return r.ok ? noContent() : r.resp;
};

export const listDlmEvents: Handler = async (req, d) => {
  const q = checkQuery(req.query, { ...PAGE, hub_id: { kind: 'str' }, node_id: { kind: 'str' } });
  if (!q.ok) return validationError(q.errors);
  const v = q.value;
  const hubId = (v.hub_id as string | undefined) || undefined;
  const nodeId = (v.node_id as string | undefined) || undefined;
  const page = await store(d).dlmEvents({
    ...(hubId ? { hubId } : nodeId ? { nodeId } : {}),
    skip: v.skip as number,
    limit: v.limit as number,
  });
  return ok({ items: page.items.map(dlmEventOut), total: page.total, skip: v.skip, limit: v.limit });
};

export const recentDlmEvents: Handler = async (req, d) => {
  const q = checkQuery(req.query, {
    hours: { kind: 'int', default: 24 },
    limit: { kind: 'int', default: 100 },
  });
  if (!q.ok) return validationError(q.errors);
  const since = d.now() - (q.value.hours as number) * 3_600_000;
  const rows = await store(d).recentDlmEvents(since, q.value.limit as number);
  return ok(rows.map(dlmEventOut));
};

export const getDlmEvent: Handler = async (req, d) => {
  const id = idOr422(req, 'dlm_event_id');
  if (!id.ok) return validationError(id.errors);
  const row = await store(d).dlmEvent(id.value);
  return row ? ok(dlmEventOut(row)) : dboNotFound('DLMEvent', id.value);
};

/**
 * POST /dlm/events: DLM events are what this server's DLM decided or what a hub reported over
 * MQTT; a client cannot add one. Checked as the original checked it, then refused (403).
 */
export const createDlmEvent: Handler = async (req, d): Promise<Resp> => {
  if (req.bodyError) return validationError([req.bodyError]);
  const b = checkBody(req.body, {
    hub_id: { kind: 'str', min: 1, max: 50, required: true },
    node_id: { kind: 'str', min: 1, max: 50, required: true },
    trigger_reason: { kind: 'str', min: 1, max: 50, required: true },
    total_grid_load_kw: kwField,
    original_limit_kw: kwField,
    new_limit_kw: kwField,
    available_capacity_at_trigger: { kind: 'float', ge: 0, nullable: true, default: null },
  });
  if (!b.ok) return validationError(b.errors);
  const hubId = b.value.hub_id as string;
  const nodeId = b.value.node_id as string;
  if (!d.twin.hub(hubId)) return dboNotFound('Hub', hubId);
  if (!d.twin.node(hubId, nodeId)) return dboNotFound('Node', nodeId);
  return detail(
    403,
    "DLM events are recorded from this server's load manager and from the hubs (MQTT iot/hubs/{hub_id}/dlm/events); " +
      'a client cannot add one: nothing was recorded',
  );
};
