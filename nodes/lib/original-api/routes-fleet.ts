// Hubs, nodes and vehicles of the original API: read from the twin, written as operator
// commands (actor `original-api`, audited) that wpt-twin runs.
import type { HubView } from '../../../core/twin';
import { checkBody, checkQuery, type Spec } from './input';
import { dboNotFound, detail, internalError, noContent, ok, validationError, type Resp } from './errors';
import { hubOut, nodeOut, vehicleOut } from './shapes';
import {
  noteOf,
  nodesWithId,
  pageOf,
  resolveNode,
  runCommands,
  type Handler,
  type OriginalApiDeps,
  type Req,
} from './deps';

const PAGE: Spec = { skip: { kind: 'int', default: 0 }, limit: { kind: 'int', default: 100 } };
const lat = { kind: 'float', ge: -90, le: 90, nullable: true } as const;
const lon = { kind: 'float', ge: -180, le: 180, nullable: true } as const;
const alt = { kind: 'float', ge: -500, le: 10_000, nullable: true } as const;

const HUB_CREATE: Spec = {
  hub_id: { kind: 'str', min: 1, max: 50, required: true },
  lat: { ...lat, default: null },
  lon: { ...lon, default: null },
  alt: { ...alt, default: 0 },
  max_grid_capacity_kw: { kind: 'float', gt: 0, default: 100 },
  is_active: { kind: 'bool', default: true },
  ip_address: { kind: 'str', min: 7, max: 45, required: true },
  firmware_version: { kind: 'str', max: 20, required: true },
};
const HUB_UPDATE: Spec = {
  lat,
  lon,
  alt,
  max_grid_capacity_kw: { kind: 'float', gt: 0 },
  is_active: { kind: 'bool' },
  ip_address: { kind: 'str', min: 7, max: 45, nullable: true },
  firmware_version: { kind: 'str', max: 20, nullable: true },
};
const NODE_CREATE: Spec = {
  node_id: { kind: 'str', min: 1, max: 50, required: true },
  hub_id: { kind: 'str', min: 1, max: 50, required: true },
  max_power_kw: { kind: 'float', gt: 0, le: 350, default: 22 },
  is_maintenance: { kind: 'bool', default: false },
};
const NODE_UPDATE: Spec = {
  max_power_kw: { kind: 'float', gt: 0, le: 350 },
  is_maintenance: { kind: 'bool' },
};
const VEHICLE_PROFILE: Spec = {
  model: { kind: 'str', max: 100, nullable: true },
  manufacturer: { kind: 'str', max: 100, nullable: true },
  driver_id: { kind: 'str', max: 50, nullable: true },
};
const VEHICLE_CREATE: Spec = {
  vehicle_id: { kind: 'str', min: 1, max: 50, required: true },
  ...VEHICLE_PROFILE,
};

/** The original's answer to a second row with the same key: its database error, as a 500. */
const duplicate = (table: string, key: string, id: string) =>
  internalError(
    `duplicate key value violates unique constraint "${table}_pkey": Key (${key})=(${id}) already exists.`,
  );

const hubNotFound = (id: string) => () => dboNotFound('Hub', id);
/** The body's checks, or the 422 to answer. */
function bodyOr422(req: Req, spec: Spec) {
  if (req.bodyError) return { ok: false as const, resp: validationError([req.bodyError]) };
  const r = checkBody(req.body, spec);
  return r.ok ? r : { ok: false as const, resp: validationError(r.errors) };
}

function hubOr404(d: OriginalApiDeps, id: string): HubView | Resp {
  return d.twin.hub(id) ?? dboNotFound('Hub', id);
}
const isResp = (x: unknown): x is Resp => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;

/** The hub's location after an update of some of lat/lon/alt (null unless both lat and lon). */
function mergedLocation(h: HubView, v: Record<string, unknown>, present: Set<string>) {
  const pick = (k: string, current: number | null | undefined) =>
    present.has(k) ? (v[k] as number | null) : (current ?? null);
  const la = pick('lat', h.location?.latitude);
  const lo = pick('lon', h.location?.longitude);
  const al = pick('alt', h.location?.altitude);
  return la === null || lo === null ? null : { latitude: la, longitude: lo, altitude: al ?? 0 };
}

export const listHubs: Handler = async (req, d) => {
  const q = checkQuery(req.query, { ...PAGE, active_only: { kind: 'bool', default: false } });
  if (!q.ok) return validationError(q.errors);
  const filtered = q.value.active_only === true;
  const hubs = d.twin.hubs().filter((h) => !filtered || h.active);
  const p = pageOf(hubs, q.value.skip as number, q.value.limit as number, filtered);
  return ok({ ...p, items: p.items.map(hubOut) });
};

export const getHub: Handler = async (req, d) => {
  const h = hubOr404(d, req.params.hub_id!);
  return isResp(h) ? h : ok(hubOut(h));
};

export const createHub: Handler = async (req, d) => {
  const b = bodyOr422(req, HUB_CREATE);
  if (!b.ok) return b.resp;
  const v = b.value;
  const id = v.hub_id as string;
  if (d.twin.hub(id)) return duplicate('hubs', 'hub_id', id);
  const note = noteOf(req);
  const upsert: Record<string, unknown> = {
    op: 'hub-upsert',
    hub_id: id,
    max_grid_capacity_kw: v.max_grid_capacity_kw,
    ip_address: v.ip_address,
    firmware_version: v.firmware_version,
    note,
  };
  if (v.lat !== null && v.lon !== null)
    upsert.location = { latitude: v.lat, longitude: v.lon, altitude: (v.alt as number | null) ?? 0 };
  const cmds = [upsert];
  if (v.is_active === false) cmds.push({ op: 'hub-active', hub_id: id, active: false, note });
  const refused = await runCommands(d, cmds, hubNotFound(id));
  if (refused) return refused;
  const h = d.twin.hub(id);
  return h ? ok(hubOut(h), 201) : internalError(`hub ${id} was deleted meanwhile`);
};

export const updateHub: Handler = async (req, d) => {
  const id = req.params.hub_id!;
  const b = bodyOr422(req, HUB_UPDATE);
  if (!b.ok) return b.resp;
  const h = hubOr404(d, id);
  if (isResp(h)) return h;
  const { value: v, present } = b;
  const note = noteOf(req);
  const cmds: Array<Record<string, unknown>> = [];
  const upsert: Record<string, unknown> = { op: 'hub-upsert', hub_id: id, note };
  if (present.has('lat') || present.has('lon') || present.has('alt'))
    upsert.location = mergedLocation(h, v, present);
  for (const k of ['max_grid_capacity_kw', 'ip_address', 'firmware_version'])
    if (present.has(k)) upsert[k] = v[k];
  if (Object.keys(upsert).length > 3) cmds.push(upsert);
  if (present.has('is_active')) cmds.push({ op: 'hub-active', hub_id: id, active: v.is_active, note });
  const refused = await runCommands(d, cmds, hubNotFound(id));
  if (refused) return refused;
  const after = hubOr404(d, id);
  return isResp(after) ? after : ok(hubOut(after));
};

export const deleteHub: Handler = async (req, d) => {
  const id = req.params.hub_id!;
  const notFound = () => detail(404, `Hub ${id} not found`);
  if (!d.twin.hub(id)) return notFound();
  const refused = await runCommands(d, [{ op: 'hub-delete', hub_id: id, note: noteOf(req) }], notFound);
  return refused ?? noContent();
};

const setHubActive =
  (active: boolean): Handler =>
  async (req, d) => {
    const id = req.params.hub_id!;
    if (!d.twin.hub(id)) return dboNotFound('Hub', id);
    const refused = await runCommands(
      d,
      [{ op: 'hub-active', hub_id: id, active, note: noteOf(req) }],
      hubNotFound(id),
    );
    if (refused) return refused;
    const h = hubOr404(d, id);
    return isResp(h) ? h : ok(hubOut(h));
  };
export const activateHub = setHubActive(true);
export const deactivateHub = setHubActive(false);

export const listNodes: Handler = async (req, d) => {
  const q = checkQuery(req.query, { ...PAGE, hub_id: { kind: 'str' } });
  if (!q.ok) return validationError(q.errors);
  const hubId = q.value.hub_id as string | undefined;
  const filtered = !!hubId;
  const nodes = filtered ? d.twin.nodesOf(hubId) : d.twin.hubs().flatMap((h) => d.twin.nodesOf(h.hubId));
  const p = pageOf(nodes, q.value.skip as number, q.value.limit as number, filtered);
  return ok({ ...p, items: p.items.map(nodeOut) });
};

export const getNode: Handler = async (req, d) => {
  const id = req.params.node_id!;
  const r = resolveNode(d.twin, id, () => dboNotFound('Node', id));
  return r.ok ? ok(nodeOut(r.node)) : r.resp;
};

export const createNode: Handler = async (req, d) => {
  const b = bodyOr422(req, NODE_CREATE);
  if (!b.ok) return b.resp;
  const v = b.value;
  const hubId = v.hub_id as string;
  const nodeId = v.node_id as string;
  if (!d.twin.hub(hubId)) return dboNotFound('Hub', hubId);
  if (nodesWithId(d.twin, nodeId).length) return duplicate('nodes', 'node_id', nodeId);
  const note = noteOf(req);
  const cmds: Array<Record<string, unknown>> = [
    { op: 'node-upsert', hub_id: hubId, node_id: nodeId, max_power_kw: v.max_power_kw, note },
  ];
  if (v.is_maintenance === true)
    cmds.push({ op: 'node-maintenance', hub_id: hubId, node_id: nodeId, maintenance: true, note });
  const refused = await runCommands(d, cmds, hubNotFound(hubId));
  if (refused) return refused;
  const n = d.twin.node(hubId, nodeId);
  return n ? ok(nodeOut(n), 201) : internalError(`node ${nodeId} was deleted meanwhile`);
};

export const updateNode: Handler = async (req, d) => {
  const id = req.params.node_id!;
  const b = bodyOr422(req, NODE_UPDATE);
  if (!b.ok) return b.resp;
  const r = resolveNode(d.twin, id, () => dboNotFound('Node', id));
  if (!r.ok) return r.resp;
  const { hubId } = r.node;
  const note = noteOf(req);
  const cmds: Array<Record<string, unknown>> = [];
  if (b.present.has('max_power_kw'))
    cmds.push({ op: 'node-upsert', hub_id: hubId, node_id: id, max_power_kw: b.value.max_power_kw, note });
  if (b.present.has('is_maintenance'))
    cmds.push({
      op: 'node-maintenance',
      hub_id: hubId,
      node_id: id,
      maintenance: b.value.is_maintenance,
      note,
    });
  const refused = await runCommands(d, cmds, () => dboNotFound('Node', id));
  if (refused) return refused;
  const n = d.twin.node(hubId, id);
  return n ? ok(nodeOut(n)) : dboNotFound('Node', id);
};

export const deleteNode: Handler = async (req, d) => {
  const id = req.params.node_id!;
  const notFound = () => detail(404, `Node ${id} not found`);
  const r = resolveNode(d.twin, id, notFound);
  if (!r.ok) return r.resp;
  const refused = await runCommands(
    d,
    [{ op: 'node-delete', hub_id: r.node.hubId, node_id: id, note: noteOf(req) }],
    notFound,
  );
  return refused ?? noContent();
};

export const setNodeMaintenance: Handler = async (req, d) => {
  const id = req.params.node_id!;
  const q = checkQuery(req.query, { maintenance: { kind: 'bool', required: true } });
  if (!q.ok) return validationError(q.errors);
  const r = resolveNode(d.twin, id, () => dboNotFound('Node', id));
  if (!r.ok) return r.resp;
  const { hubId } = r.node;
  const refused = await runCommands(
    d,
    [
      {
        op: 'node-maintenance',
        hub_id: hubId,
        node_id: id,
        maintenance: q.value.maintenance,
        note: noteOf(req),
      },
    ],
    () => dboNotFound('Node', id),
  );
  if (refused) return refused;
  const n = d.twin.node(hubId, id);
  return n ? ok(nodeOut(n)) : dboNotFound('Node', id);
};

/** When each vehicle was first known: seen created in the twin's changes, else stored, else now. */
async function registeredAt(d: OriginalApiDeps, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const unknown: string[] = [];
  for (const id of ids) {
    const t = d.createdAt(id);
    if (t !== undefined) out.set(id, t);
    else unknown.push(id);
  }
  const stored =
    d.store && unknown.length ? await d.store.vehiclesCreatedAt(unknown) : new Map<string, Date>();
  const now = d.now();
  for (const id of unknown) out.set(id, stored.get(id)?.getTime() ?? now);
  return out;
}

async function vehicleResp(d: OriginalApiDeps, id: string, status = 200): Promise<Resp> {
  const v = d.twin.vehicle(id);
  if (!v) return dboNotFound('Vehicle', id);
  const at = await registeredAt(d, [id]);
  return ok(vehicleOut(v, at.get(id)!), status);
}

export const listVehicles: Handler = async (req, d) => {
  const q = checkQuery(req.query, PAGE);
  if (!q.ok) return validationError(q.errors);
  const p = pageOf(d.twin.vehicles(), q.value.skip as number, q.value.limit as number, false);
  const at = await registeredAt(
    d,
    p.items.map((v) => v.vehicleId),
  );
  return ok({ ...p, items: p.items.map((v) => vehicleOut(v, at.get(v.vehicleId)!)) });
};

export const getVehicle: Handler = async (req, d) => vehicleResp(d, req.params.vehicle_id!);

/** The vehicle-upsert of an original profile body (only the keys it has). */
function profileCommand(req: Req, id: string, v: Record<string, unknown>, present: Set<string>) {
  const cmd: Record<string, unknown> = { op: 'vehicle-upsert', vehicle_id: id, note: noteOf(req) };
  if (present.has('model')) cmd.model = v.model;
  if (present.has('manufacturer')) cmd.manufacturer = v.manufacturer;
  if (present.has('driver_id')) cmd.driver = v.driver_id;
  return cmd;
}

export const createVehicle: Handler = async (req, d) => {
  const b = bodyOr422(req, VEHICLE_CREATE);
  if (!b.ok) return b.resp;
  const id = b.value.vehicle_id as string;
  if (d.twin.vehicle(id)?.registered) return detail(400, `VehicleDbo with vehicle_id=${id} already exists.`);
  const refused = await runCommands(d, [profileCommand(req, id, b.value, b.present)], () =>
    dboNotFound('Vehicle', id),
  );
  return refused ?? vehicleResp(d, id, 201);
};

export const registerVehicle: Handler = async (req, d) => {
  const pathId = req.params.vehicle_id!;
  const b = bodyOr422(req, VEHICLE_CREATE);
  if (!b.ok) return b.resp;
  if (d.twin.vehicle(pathId)?.registered) return vehicleResp(d, pathId);
  const id = b.value.vehicle_id as string;
  if (id !== pathId && d.twin.vehicle(id)?.registered) return duplicate('vehicles', 'vehicle_id', id);
  const refused = await runCommands(d, [profileCommand(req, id, b.value, b.present)], () =>
    dboNotFound('Vehicle', id),
  );
  return refused ?? vehicleResp(d, id);
};

export const updateVehicle: Handler = async (req, d) => {
  const id = req.params.vehicle_id!;
  const b = bodyOr422(req, VEHICLE_PROFILE);
  if (!b.ok) return b.resp;
  if (!d.twin.vehicle(id)) return dboNotFound('Vehicle', id);
  const refused = await runCommands(d, [profileCommand(req, id, b.value, b.present)], () =>
    dboNotFound('Vehicle', id),
  );
  return refused ?? vehicleResp(d, id);
};

export const deleteVehicle: Handler = async (req, d) => {
  const id = req.params.vehicle_id!;
  const notFound = () => detail(404, `Vehicle ${id} not found`);
  if (!d.twin.vehicle(id)) return notFound();
  const refused = await runCommands(
    d,
    [{ op: 'vehicle-delete', vehicle_id: id, note: noteOf(req) }],
    notFound,
  );
  return refused ?? noContent();
};
