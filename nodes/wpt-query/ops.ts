// The operations of wpt-query: glue between an HTTP request, the core (parsing, views) and
// the adapters (PostgreSQL). Each returns the status code and JSON body.
import type { Pool } from 'pg';
import {
  badRequest,
  dlmEventRowJson,
  hubJson,
  notFound,
  ok,
  apiError,
  OPENAPI_DOCUMENT,
  parseDlmEventQuery,
  parseSessionQuery,
  parseAuditQuery,
  auditRowJson,
  chargeUrl,
  parseBaseUrl,
  qrPng,
  qrDataUrl,
  QR_SCALE,
  sessionRowJson,
  vehicleJson,
  type ApiResponse,
} from '../lib/api';
import { summariseHealth, type DependencyHealth } from './health';
import { isValidTopicId } from '../../core/contract';
import {
  dashboardEventRows,
  dashboardHubRows,
  dashboardLoadPoints,
  dashboardNodeRows,
  dashboardVehicleRows,
} from '../wpt-query/dashboard';
import { createRepository } from '../../adapters/postgres';
import {
  dashboardAlarms,
  dashboardControlRows,
  DlmAlarmBook,
  effectiveCapacity,
  type DependencyStates,
} from './dashboard-control';
import type { FleetNode, InfluxConfigNode, PostgresNode } from '../lib/config-nodes';

export const OPS = [
  'health',
  'ingest',
  'openapi',
  'hubs',
  'hub',
  'vehicles',
  'vehicle',
  'sessions',
  'dlm-events',
  'audit-log',
  'node-qr',
  'dashboard-hubs',
  'dashboard-nodes',
  'dashboard-load',
  'dashboard-vehicles',
  'dashboard-dlm-events',
  'dashboard-control',
  'dashboard-alarms',
  'dashboard-qr',
] as const;
export type QueryOp = (typeof OPS)[number];

export interface QueryDeps {
  fleet: FleetNode | null;
  broker: { connected?: boolean } | null;
  postgres: PostgresNode | null;
  influx: InfluxConfigNode | null;
  /** The DLM alarms in force (op dashboard-alarms: fed by the allocator's output 2). */
  alarms?: DlmAlarmBook;
}

export interface HttpInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  /** The server's own URL as the request reached it (for the QR codes), when known. */
  baseUrl?: string | null;
}

const noFleet = () => apiError(500, 'internal', 'wpt-query: no wpt-fleet configured');
const noDb = () => apiError(503, 'unavailable', 'no database configured');

function pool(d: QueryDeps): Pool | null {
  return d.postgres?.pool ?? null;
}

function pathId(params: Record<string, unknown>, name: string): string | ApiResponse {
  const v = params[name];
  return typeof v === 'string' && isValidTopicId(v)
    ? v
    : badRequest([`${name}: must be 1-50 characters without '/', '+', '#' or control characters`]);
}

async function health(d: QueryDeps): Promise<ApiResponse> {
  const deps: Record<string, DependencyHealth> = {};
  deps.mqtt = d.broker
    ? { state: d.broker.connected ? 'ok' : 'down', required: true }
    : { state: 'off', required: true, error: 'no broker configured' };
  if (d.postgres) {
    const h = await d.postgres.health(2000);
    deps.postgres = { state: h.ok ? 'ok' : 'down', required: true, ...(h.error ? { error: h.error } : {}) };
    if (h.latencyMs !== undefined) deps.postgres.latency_ms = h.latencyMs;
  } else {
    deps.postgres = { state: 'off', required: true, error: 'no database configured' };
  }
  if (d.influx) {
    const h = await d.influx.health(2000);
    const w = d.influx.writer?.stats();
    deps.influxdb = {
      state: h.off ? 'off' : h.ok ? 'ok' : 'down',
      required: false,
      ...(h.error ? { error: h.error } : {}),
      ...(w ? { points: { written: w.written, dropped: w.dropped, buffered: w.buffered } } : {}),
    };
  } else {
    deps.influxdb = { state: 'off', required: false };
  }
  const report = summariseHealth(deps);
  // A standby (another orchestrator holds the database) is healthy: it answers reads. Who holds
  // it stays in the log and in its 409s (this route is public).
  const role = d.fleet && d.fleet.twin.readOnly !== null ? 'standby' : 'active';
  return {
    statusCode: report.statusCode,
    payload: {
      status: report.status,
      role,
      time: new Date().toISOString(),
      dependencies: report.dependencies,
    },
  };
}

/** GET /api/nodes/{hub_id}/{node_id}/qr.png: the PNG of the node's charge URL on this server. */
async function nodeQr(d: QueryDeps, http: HttpInput): Promise<ApiResponse> {
  if (!d.fleet) return noFleet();
  const errors: string[] = [];
  for (const k of Object.keys(http.query))
    if (k !== 'size' && k !== 'base_url')
      errors.push(`${k}: unknown query parameter (known: size, base_url)`);
  const hubId = pathId(http.params, 'hub_id');
  const nodeId = pathId(http.params, 'node_id');
  if (typeof hubId !== 'string') errors.push(...((hubId.payload as { errors: string[] }).errors ?? []));
  if (typeof nodeId !== 'string') errors.push(...((nodeId.payload as { errors: string[] }).errors ?? []));
  const size = http.query.size;
  let scale: number = QR_SCALE.default;
  if (size !== undefined) {
    if (typeof size !== 'string' || !/^\d{1,3}$/.test(size) || +size < QR_SCALE.min || +size > QR_SCALE.max)
      errors.push(`size: must be an integer from ${QR_SCALE.min} to ${QR_SCALE.max} (pixels per module)`);
    else scale = Number(size);
  }
  let base = http.baseUrl ?? null;
  const given = http.query.base_url;
  if (given !== undefined) {
    base = typeof given === 'string' ? parseBaseUrl(given) : null;
    if (!base) errors.push('base_url: must be an http(s) URL without query or fragment');
  } else if (!base) errors.push('Host: the request names no usable host; give base_url');
  if (errors.length) return badRequest(errors);
  const t = d.fleet.twin;
  if (!t.hub(hubId as string)) return notFound(`hub ${hubId as string} is unknown`);
  if (!t.nodesOf(hubId as string).some((n) => n.nodeId === nodeId))
    return notFound(`node ${hubId as string}/${nodeId as string} is unknown`);
  const png = await qrPng(chargeUrl(base!, hubId as string, nodeId as string), scale);
  return {
    statusCode: 200,
    payload: png,
    headers: {
      'Content-Type': 'image/png',
      'Content-Disposition': `inline; filename="qr_${hubId as string}_${nodeId as string}.png"`,
      'Cache-Control': 'no-cache',
    },
  };
}

/**
 * The QR code of a node for the dashboard to print: msg.payload {hub_id, node_id, base_url}
 * (base_url: the server's URL as the browser sees it) → {hub_id, node_id, url, image} with the
 * PNG as a data URL.
 */
async function dashboardQr(d: QueryDeps, http: HttpInput): Promise<ApiResponse> {
  if (!d.fleet) return noFleet();
  const b = (http.body ?? {}) as Record<string, unknown>;
  const errors: string[] = [];
  const hubId = typeof b.hub_id === 'string' && isValidTopicId(b.hub_id) ? b.hub_id : null;
  const nodeId = typeof b.node_id === 'string' && isValidTopicId(b.node_id) ? b.node_id : null;
  if (!hubId) errors.push('hub_id: must be a hub id');
  if (!nodeId) errors.push('node_id: must be a node id');
  const base = typeof b.base_url === 'string' ? parseBaseUrl(b.base_url) : null;
  if (!base) errors.push('base_url: must be an http(s) URL without query or fragment');
  if (errors.length) return badRequest(errors);
  if (!d.fleet.twin.nodesOf(hubId!).some((n) => n.nodeId === nodeId))
    return notFound(`node ${hubId!}/${nodeId!} is unknown`);
  const url = chargeUrl(base!, hubId!, nodeId!);
  return ok({ hub_id: hubId, node_id: nodeId, url, image: await qrDataUrl(url) });
}

/** How many of the latest DLM events the dashboard shows. */
export const DASHBOARD_EVENT_LIMIT = 50;

export async function runOp(op: QueryOp, d: QueryDeps, http: HttpInput, nowMs: number): Promise<ApiResponse> {
  switch (op) {
    case 'health':
      return health(d);
    case 'openapi':
      return ok(OPENAPI_DOCUMENT);
    case 'ingest':
      return d.fleet ? ok(d.fleet.counters.snapshot()) : noFleet();
    case 'hubs': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      const items = t.hubs().map((h) => hubJson(t, h));
      return ok({ items, total: items.length });
    }
    case 'hub': {
      if (!d.fleet) return noFleet();
      const id = pathId(http.params, 'hub_id');
      if (typeof id !== 'string') return id;
      const h = d.fleet.twin.hub(id);
      return h ? ok(hubJson(d.fleet.twin, h)) : notFound(`hub ${id} is unknown`);
    }
    case 'vehicles': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      const items = t.vehicles().map((v) => vehicleJson(t, v));
      return ok({ items, total: items.length });
    }
    case 'vehicle': {
      if (!d.fleet) return noFleet();
      const id = pathId(http.params, 'vehicle_id');
      if (typeof id !== 'string') return id;
      const v = d.fleet.twin.vehicle(id);
      return v ? ok(vehicleJson(d.fleet.twin, v)) : notFound(`vehicle ${id} is unknown`);
    }
    case 'sessions': {
      const q = parseSessionQuery(http.query);
      if (!q.ok) return badRequest(q.errors);
      const db = pool(d);
      if (!db) return noDb();
      const v = q.value;
      const page = await createRepository(db).listSessions({
        ...(v.hubId !== undefined ? { hubId: v.hubId } : {}),
        ...(v.nodeId !== undefined ? { nodeId: v.nodeId } : {}),
        ...(v.vehicleId !== undefined ? { vehicleId: v.vehicleId } : {}),
        ...(v.active !== undefined ? { active: v.active } : {}),
        ...(v.from !== undefined ? { from: v.from } : {}),
        ...(v.to !== undefined ? { to: v.to } : {}),
        limit: v.limit,
        offset: v.offset,
      });
      return ok({
        items: page.items.map(sessionRowJson),
        total: page.total,
        limit: v.limit,
        offset: v.offset,
      });
    }
    case 'dlm-events': {
      const q = parseDlmEventQuery(http.query);
      if (!q.ok) return badRequest(q.errors);
      const db = pool(d);
      if (!db) return noDb();
      const v = q.value;
      const page = await createRepository(db).listDlmEvents({
        ...(v.hubId !== undefined ? { hubId: v.hubId } : {}),
        ...(v.nodeId !== undefined ? { nodeId: v.nodeId } : {}),
        ...(v.since !== undefined ? { since: v.since } : {}),
        ...(v.until !== undefined ? { until: v.until } : {}),
        ...(v.source !== undefined ? { source: v.source } : {}),
        limit: v.limit,
        offset: v.offset,
      });
      return ok({
        items: page.items.map(dlmEventRowJson),
        total: page.total,
        limit: v.limit,
        offset: v.offset,
      });
    }
    case 'audit-log': {
      const q = parseAuditQuery(http.query);
      if (!q.ok) return badRequest(q.errors);
      const db = pool(d);
      if (!db) return noDb();
      const v = q.value;
      const page = await createRepository(db).listAuditLog({
        ...(v.hubId !== undefined ? { hubId: v.hubId } : {}),
        ...(v.nodeId !== undefined ? { nodeId: v.nodeId } : {}),
        ...(v.vehicleId !== undefined ? { vehicleId: v.vehicleId } : {}),
        ...(v.actor !== undefined ? { actor: v.actor } : {}),
        ...(v.since !== undefined ? { since: v.since } : {}),
        ...(v.until !== undefined ? { until: v.until } : {}),
        limit: v.limit,
        offset: v.offset,
      });
      return ok({ items: page.items.map(auditRowJson), total: page.total, limit: v.limit, offset: v.offset });
    }
    case 'node-qr':
      return nodeQr(d, http);
    // Dashboard 2.0: arrays of rows for ui-table / ui-chart, from the same JSON as the API.
    case 'dashboard-hubs':
    case 'dashboard-nodes':
    case 'dashboard-load': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      const hubs = t.hubs().map((h) => hubJson(t, h));
      if (op === 'dashboard-hubs') return ok(dashboardHubRows(hubs));
      if (op === 'dashboard-nodes') return ok(dashboardNodeRows(hubs));
      return ok(dashboardLoadPoints(hubs, nowMs));
    }
    case 'dashboard-vehicles': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      return ok(dashboardVehicleRows(t.vehicles().map((v) => vehicleJson(t, v))));
    }
    case 'dashboard-control': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      return ok(
        dashboardControlRows(
          t.hubs().map((h) => hubJson(t, h)),
          t.vehicles().map((v) => vehicleJson(t, v)),
          nowMs,
        ),
      );
    }
    case 'dashboard-alarms': {
      if (!d.fleet) return noFleet();
      const t = d.fleet.twin;
      const hubs = t.hubs().map((h) => hubJson(t, h));
      const deps: DependencyStates = {};
      if (d.postgres) deps.postgres = (await d.postgres.health(2000)).ok ? 'ok' : 'down';
      if (d.influx) {
        const h = await d.influx.health(2000);
        deps.influxdb = h.off ? 'off' : h.ok ? 'ok' : 'down';
      }
      d.alarms?.keepHubs(new Set(hubs.map((h) => h.hub_id)));
      return ok(dashboardAlarms(hubs, deps, d.alarms?.list() ?? [], nowMs));
    }
    case 'dashboard-qr':
      return dashboardQr(d, http);
    case 'dashboard-dlm-events': {
      const db = pool(d);
      if (!db) return noDb();
      const page = await createRepository(db).listDlmEvents({ limit: DASHBOARD_EVENT_LIMIT, offset: 0 });
      const capacities = new Map<string, number>();
      if (d.fleet) {
        const t = d.fleet.twin;
        for (const h of t.hubs()) {
          const c = effectiveCapacity(hubJson(t, h), nowMs);
          if (c !== null) capacities.set(h.hubId, c);
        }
      }
      return ok(dashboardEventRows(page.items.map(dlmEventRowJson), capacities));
    }
  }
}
