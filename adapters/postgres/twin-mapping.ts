// Between the twin and PostgreSQL: twin changes → rows to write (this module), our DLM
// commands → rows (dlm-rows.ts), stored rows → the snapshot the twin restores from
// (twin-restore.ts). Pure functions.
//
// Strings from devices (node name, firmware version, a hub's DLM event texts) may hold a NUL,
// which PostgreSQL cannot store: it is replaced by U+FFFD here (pgText). Ids cannot hold one
// (the contract refuses control characters in ids), operator input neither (refused by the
// twin), and the repository refuses any that would still come (InvalidRowError, before SQL).
import { createHash } from 'node:crypto';
import type { SessionView, TwinChange } from '../../core/twin';
import { hubDlmEventRow } from './dlm-rows';
import type { SessionUpsert } from './rows';
import { pgText } from './values';
import type { WriteItem } from './write-tables';

type Change<K extends TwinChange['type']> = Extract<TwinChange, { type: K }>;

function sessionRow(s: SessionView): SessionUpsert {
  return {
    session_id: s.sessionId,
    hub_id: s.hubId,
    node_id: s.nodeId,
    vehicle_id: s.vehicleId,
    start_time: s.startTs,
    end_time: s.endTs,
    energy_kwh: s.energyKwh,
    average_power_kw: s.averagePowerKw,
    peak_power_kw: s.peakPowerKw,
    start_soc: s.startSoc,
    end_soc: s.endSoc,
    close_reason: s.closeReason,
    last_sample_at: s.lastSampleTs,
  };
}

function auditRow(c: Change<'operator-action'>): WriteItem {
  const key = createHash('sha256').update(JSON.stringify(c)).digest('hex');
  return {
    table: 'auditLog',
    row: {
      event_key: key,
      ts: c.ts,
      actor: c.actor,
      op: c.op,
      hub_id: c.target.hubId ?? null,
      node_id: c.target.nodeId ?? null,
      vehicle_id: c.target.vehicleId ?? null,
      session_id: c.target.sessionId ?? null,
      before: c.before,
      after: c.after,
      note: c.note,
    },
  };
}

function hubRows(c: Change<'hub-upserted'>, out: WriteItem[]): void {
  const h = c.hub;
  out.push({
    table: 'hubs',
    row: {
      hub_id: h.hubId,
      latitude: h.location?.latitude ?? null,
      longitude: h.location?.longitude ?? null,
      altitude: h.location?.altitude ?? null,
      max_grid_capacity_kw: h.maxGridCapacityKw,
      ip_address: h.ipAddress,
      firmware_version: pgText(h.firmwareVersion),
      ...(h.lastSeenMs !== null ? { last_seen: h.lastSeenMs } : {}),
    },
  });
  const o = h.capacityOverride;
  out.push({
    table: 'hubControl',
    row: {
      hub_id: h.hubId,
      is_active: h.active,
      capacity_override_kw: o?.kw ?? null,
      capacity_override_from: o?.fromMs ?? null,
      capacity_override_until: o?.untilMs ?? null,
      registered: h.registered,
    },
  });
}

function nodeRows(c: Change<'node-upserted'>, out: WriteItem[]): void {
  const n = c.node;
  out.push({
    table: 'nodes',
    row: { hub_id: c.hubId, node_id: c.nodeId, name: pgText(n.name), max_power_kw: n.maxPowerKw },
  });
  out.push({
    table: 'nodeControl',
    row: {
      hub_id: c.hubId,
      node_id: c.nodeId,
      operator_maintenance: n.operatorMaintenance,
      max_power_override_kw: n.maxPowerOverrideKw,
      registered: n.registered,
      assigned_vehicle_id: n.assignedVehicleId,
      assigned_at: n.assignedAtMs,
      assigned_ts: n.assignedTs,
      assigned_soc: n.assignedSoc,
      operator_ended_vehicle_id: n.operatorEndedVehicleId,
    },
  });
}

function vehicleRows(c: Change<'vehicle-upserted'>, out: WriteItem[]): void {
  const v = c.vehicle;
  out.push({
    table: 'vehicles',
    row: {
      vehicle_id: v.vehicleId,
      latitude: v.position?.latitude ?? null,
      longitude: v.position?.longitude ?? null,
      ...(v.lastSeenMs !== null ? { last_seen: v.lastSeenMs } : {}),
    },
  });
  // A vehicle first seen in telemetry has no profile yet: its row's defaults are the profile.
  // (Profiles are durable rows of the write queue; telemetry may create many vehicles.)
  const profiled =
    v.registered ||
    v.priority ||
    v.batteryKwh !== null ||
    v.model !== null ||
    v.manufacturer !== null ||
    v.driver !== null;
  if (c.created && !profiled) return;
  out.push({
    table: 'vehicleProfiles',
    row: {
      vehicle_id: v.vehicleId,
      model: pgText(v.model),
      manufacturer: pgText(v.manufacturer),
      driver: pgText(v.driver),
      battery_capacity_kwh: v.batteryKwh,
      priority: v.priority,
      registered: v.registered,
    },
  });
}

const NO_ASSIGNMENT = { assigned_vehicle_id: null, assigned_at: null, assigned_ts: null, assigned_soc: null };

/** The rows that keep PostgreSQL in step with these twin changes (in their order). */
export function changesToWrites(changes: readonly TwinChange[]): WriteItem[] {
  const out: WriteItem[] = [];
  for (const c of changes) {
    switch (c.type) {
      case 'hub-upserted':
        hubRows(c, out);
        break;
      case 'hub-status':
        out.push({ table: 'hubs', row: { hub_id: c.hubId, state: c.state, cpu_temp: c.cpuTempC } });
        break;
      case 'hub-state':
        out.push({
          table: 'hubs',
          row: {
            hub_id: c.hubId,
            ...(c.state !== 'unknown' ? { state: c.state } : {}),
            cpu_temp: c.cpuTempC,
            available: c.available,
          },
        });
        break;
      case 'hub-deleted':
        out.push({ table: 'deletes', row: { entity: 'hub', hub_id: c.hubId } });
        break;
      case 'hub-dlm-event':
        out.push(hubDlmEventRow(c));
        break;
      case 'node-upserted':
        nodeRows(c, out);
        break;
      case 'node-status':
        out.push({
          table: 'nodes',
          row: {
            hub_id: c.hubId,
            node_id: c.nodeId,
            state: c.state,
            error_code: c.errorCode,
            current_vehicle_id: c.vehicleId,
          },
        });
        // A status other than charging lifts the block an operator's session-end put there.
        if (c.state !== 'charging')
          out.push({
            table: 'nodeControl',
            row: { hub_id: c.hubId, node_id: c.nodeId, operator_ended_vehicle_id: null },
          });
        break;
      case 'node-state':
        out.push({
          table: 'nodes',
          row: {
            hub_id: c.hubId,
            node_id: c.nodeId,
            ...(c.state !== 'unknown' ? { state: c.state } : {}),
            error_code: c.errorCode,
            current_vehicle_id: c.vehicleId,
            is_maintenance: c.maintenance,
          },
        });
        break;
      case 'node-telemetry':
        out.push({
          table: 'nodes',
          row: {
            hub_id: c.hubId,
            node_id: c.nodeId,
            power_kw: c.powerKw,
            power_limit_kw: c.powerLimitKw,
            last_seen: c.ts,
          },
        });
        break;
      case 'node-assigned':
        if (!c.alreadyCharging)
          out.push({
            table: 'nodeControl',
            row: {
              hub_id: c.hubId,
              node_id: c.nodeId,
              assigned_vehicle_id: c.vehicleId,
              assigned_at: c.atMs,
              assigned_ts: c.ts,
              assigned_soc: c.soc,
            },
          });
        break;
      case 'node-assignment-cleared':
        out.push({ table: 'nodeControl', row: { hub_id: c.hubId, node_id: c.nodeId, ...NO_ASSIGNMENT } });
        break;
      case 'node-deleted':
        out.push({ table: 'deletes', row: { entity: 'node', hub_id: c.hubId, node_id: c.nodeId } });
        break;
      case 'vehicle-upserted':
        vehicleRows(c, out);
        break;
      case 'vehicle-telemetry':
        out.push({
          table: 'vehicles',
          row: {
            vehicle_id: c.vehicleId,
            latitude: c.position.latitude,
            longitude: c.position.longitude,
            last_seen: c.ts,
          },
        });
        break;
      case 'vehicle-deleted':
        out.push({ table: 'deletes', row: { entity: 'vehicle', vehicle_id: c.vehicleId } });
        break;
      case 'soc':
        out.push({ table: 'vehicles', row: { vehicle_id: c.vehicleId, soc: c.value, soc_source: c.source } });
        break;
      case 'soc-class':
        out.push({ table: 'vehicles', row: { vehicle_id: c.vehicleId, soc_class: c.to } });
        break;
      case 'session-opened':
        out.push({ table: 'sessions', row: sessionRow(c.session) });
        out.push({
          table: 'nodeControl',
          row: { hub_id: c.hubId, node_id: c.nodeId, operator_ended_vehicle_id: null },
        });
        break;
      case 'session-updated':
      case 'session-closed':
        out.push({ table: 'sessions', row: sessionRow(c.session) });
        break;
      case 'operator-action':
        out.push(auditRow(c));
        if (c.op === 'session-end' && c.target.hubId && c.target.nodeId && c.target.vehicleId)
          out.push({
            table: 'nodeControl',
            row: {
              hub_id: c.target.hubId,
              node_id: c.target.nodeId,
              operator_ended_vehicle_id: c.target.vehicleId,
            },
          });
        break;
      case 'request-rejected':
        break;
    }
  }
  return out;
}

export { dlmCommandToWrite, dlmEventKeyOf, inboundDlmEventToWrite } from './dlm-rows';
export { controlRecordsOf, loadedStateToSnapshot, remoteStateOf, sessionRecordsOf } from './twin-restore';
