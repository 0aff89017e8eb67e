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
  parseVehicleProfile,
  sessionRowJson,
  vehicleJson,
  type ApiResponse,
} from '../../core/api';
import { summariseHealth, type DependencyHealth } from '../../core/health';
import { isValidTopicId } from '../../core/contract';
import {
  dashboardEventRows,
  dashboardHubRows,
  dashboardLoadPoints,
  dashboardNodeRows,
  dashboardVehicleRows,
} from '../../core/api/dashboard';
import { createRepository, upsertVehicleProfile } from '../../adapters/postgres';
import type { FleetNode, InfluxConfigNode, PostgresNode } from '../lib/config-nodes';

export const OPS = [
  'health',
  'ingest',
  'openapi',
  'hubs',
  'hub',
  'vehicles',
  'vehicle',
  'vehicle-upsert',
  'sessions',
  'dlm-events',
  'dashboard-hubs',
  'dashboard-nodes',
  'dashboard-load',
  'dashboard-vehicles',
  'dashboard-dlm-events',
] as const;
export type QueryOp = (typeof OPS)[number];

export interface QueryDeps {
  fleet: FleetNode | null;
  broker: { connected?: boolean } | null;
  postgres: PostgresNode | null;
  influx: InfluxConfigNode | null;
}

export interface HttpInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
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
    if (h.latencyMs !== undefined) deps.postgres.latencyMs = h.latencyMs;
  } else {
    deps.postgres = { state: 'off', required: true, error: 'no database configured' };
  }
  if (d.influx) {
    const h = await d.influx.health(2000);
    deps.influxdb = {
      state: h.off ? 'off' : h.ok ? 'ok' : 'down',
      required: false,
      ...(h.error ? { error: h.error } : {}),
    };
  } else {
    deps.influxdb = { state: 'off', required: false };
  }
  const report = summariseHealth(deps);
  return {
    statusCode: report.statusCode,
    payload: { status: report.status, time: new Date().toISOString(), dependencies: report.dependencies },
  };
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
    case 'vehicle-upsert': {
      if (!d.fleet) return noFleet();
      const parsed = parseVehicleProfile(http.body);
      if (!parsed.ok) return badRequest(parsed.errors);
      const p = parsed.value;
      const db = pool(d);
      if (!db) return noDb();
      const existed = d.fleet.twin.vehicle(p.vehicle_id) !== undefined;
      // Stored first: the profile is never only in memory.
      await upsertVehicleProfile(db, p);
      const changes = d.fleet.twin.setVehicleProfile(
        p.vehicle_id,
        {
          ...(p.model !== undefined ? { model: p.model } : {}),
          ...(p.manufacturer !== undefined ? { manufacturer: p.manufacturer } : {}),
          ...(p.driver !== undefined ? { driver: p.driver } : {}),
          ...(p.battery_capacity_kwh !== undefined ? { batteryKwh: p.battery_capacity_kwh } : {}),
          ...(p.priority !== undefined ? { priority: p.priority } : {}),
        },
        nowMs,
      );
      d.fleet.publish(changes, 'operator');
      return ok(vehicleJson(d.fleet.twin, d.fleet.twin.vehicle(p.vehicle_id)!), existed ? 200 : 201);
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
    case 'dashboard-dlm-events': {
      const db = pool(d);
      if (!db) return noDb();
      const page = await createRepository(db).listDlmEvents({ limit: DASHBOARD_EVENT_LIMIT, offset: 0 });
      return ok(dashboardEventRows(page.items.map(dlmEventRowJson)));
    }
  }
}
