// Nodes (charging pads): info, status and telemetry messages, and what they mean for the
// node's session, its assignment and the SoC of the vehicle on it.
import type { NodeInfoMessage, NodeStatusMessage, NodeTelemetryMessage } from '../contract';
import { clearAssignment } from './assignments';
import { admit } from './bounds';
import { maintenanceOf } from './entities';
import type { TwinChange } from './changes';
import { emitNodeState } from './emit';
import { alive } from './hubs';
import { endSession, integrateSample, pushSessionUpdated, switchVehicle } from './sessions';
import type { TwinState } from './state';
import { reportSoc } from './vehicle-soc';
import type { NodeTelemetryView } from './view-types';
import { nodeView } from './views';
import { isSoc, optNum, optStr } from './guards';

/** Node info: data only, never a sign of life. */
export function applyNodeInfo(st: TwinState, msg: NodeInfoMessage, out: TwinChange[]): void {
  const name = optStr(msg.data.name);
  const maxPowerKw = msg.data.max_power_kw;
  const known = st.hubs.get(msg.hubId);
  const existing = known?.nodes.get(msg.nodeId);
  admit(st, msg.hubId, known, msg.nodeId, existing, null, undefined);
  if (existing && existing.infoTs !== null) {
    if (msg.ts < existing.infoTs) return; // out of order
    if (msg.ts === existing.infoTs && existing.name === name && existing.maxPowerKw === maxPowerKw) return;
  }
  const hub = st.ensureHub(msg.hubId, msg.ts, out);
  const node = existing ?? st.ensureNode(hub, msg.nodeId, msg.ts, null);
  const previous = existing ? nodeView(node) : null;
  node.infoTs = msg.ts;
  node.name = name;
  node.maxPowerKw = maxPowerKw;
  out.push({
    type: 'node-upserted',
    ts: msg.ts,
    hubId: hub.hubId,
    nodeId: node.nodeId,
    created: !existing,
    node: nodeView(node),
    previous,
  });
}

export function applyNodeStatus(
  st: TwinState,
  msg: NodeStatusMessage,
  nowMs: number,
  live: boolean,
  out: TwinChange[],
): void {
  const d = msg.data;
  const vehicleId = optStr(d.current_vehicle_id);
  const errorCode = optNum(d.error_code) ?? 0;
  const known = st.hubs.get(msg.hubId);
  const existing = known?.nodes.get(msg.nodeId);
  const found = vehicleId !== null ? st.vehicles.get(vehicleId) : undefined;
  admit(st, msg.hubId, known, msg.nodeId, existing, vehicleId, found);
  if (existing && existing.statusTs !== null) {
    if (msg.ts < existing.statusTs) return; // out of order
    const same =
      existing.state === d.state &&
      existing.errorCode === errorCode &&
      existing.statusVehicleId === vehicleId;
    if (msg.ts === existing.statusTs && same) return; // duplicate
  }
  const hub = st.ensureHub(msg.hubId, msg.ts, out);
  const node = existing ?? st.ensureNode(hub, msg.nodeId, msg.ts, out);
  if (vehicleId !== null && !found) st.ensureVehicle(vehicleId, msg.ts, out);
  out.push({
    type: 'node-status',
    ts: msg.ts,
    hubId: hub.hubId,
    nodeId: node.nodeId,
    state: d.state,
    errorCode,
    vehicleId,
  });
  if (live) alive(hub, nowMs, msg.ts, out, node);
  const prevState = node.state;
  const changed = prevState !== d.state || node.errorCode !== errorCode || node.statusVehicleId !== vehicleId;
  node.statusTs = msg.ts;
  node.state = d.state;
  node.errorCode = errorCode;
  node.statusVehicleId = vehicleId;
  if (changed) emitNodeState(node, prevState, maintenanceOf(node), msg.ts, out);
  // After an operator ended its session, the node's next status other than charging that
  // vehicle lets sessions open again.
  if (d.state !== 'charging' || vehicleId !== node.operatorEndedVehicleId) node.operatorEndedVehicleId = null;
  const s = node.session;
  if (d.state === 'charging') {
    // Sessions are counted where the hub is watched (cluster mode: by its owner alone).
    if (vehicleId !== null && node.hub.watched) switchVehicle(st, node, vehicleId, msg.ts, out);
  } else {
    if (s !== null && msg.ts >= s.startTs) endSession(st, node, d.state, msg.ts, msg.ts, out);
    if (d.state === 'faulted') clearAssignment(st, node, 'faulted', msg.ts, out);
  }
}

export function applyNodeTelemetry(
  st: TwinState,
  msg: NodeTelemetryMessage,
  nowMs: number,
  live: boolean,
  out: TwinChange[],
): void {
  const d = msg.data;
  const vehicleId = optStr(d.connected_vehicle_id);
  const known = st.hubs.get(msg.hubId);
  const existing = known?.nodes.get(msg.nodeId);
  const found = vehicleId !== null ? st.vehicles.get(vehicleId) : undefined;
  admit(st, msg.hubId, known, msg.nodeId, existing, vehicleId, found);
  if (existing && existing.telemetry !== null && msg.ts <= existing.telemetry.ts) return; // duplicate or out of order
  const soc = vehicleId !== null && isSoc(d.current_vehicle_soc) ? d.current_vehicle_soc : null;
  const hub = existing ? existing.hub : st.ensureHub(msg.hubId, msg.ts, out);
  const node = existing ?? st.ensureNode(hub, msg.nodeId, msg.ts, out);
  const vehicle = vehicleId === null ? null : (found ?? st.ensureVehicle(vehicleId, msg.ts, out));
  const tel: NodeTelemetryView = Object.freeze({
    ts: msg.ts,
    voltage: d.voltage,
    current: d.current,
    powerKw: d.power_kw,
    powerLimitKw: d.power_limit_kw,
    isOccupied: d.is_occupied === true,
    vehicleId,
    soc,
  });
  node.telemetry = tel;
  out.push({
    type: 'node-telemetry',
    ts: msg.ts,
    hubId: hub.hubId,
    nodeId: node.nodeId,
    powerKw: tel.powerKw,
    powerLimitKw: tel.powerLimitKw,
    voltage: tel.voltage,
    current: tel.current,
    isOccupied: tel.isOccupied,
    vehicleId,
    soc,
  });
  if (live) alive(hub, nowMs, msg.ts, out, node);
  if (vehicleId !== null && vehicleId !== node.operatorEndedVehicleId) node.operatorEndedVehicleId = null;
  // Sessions: telemetry opens one only while the status says charging.
  if (
    node.hub.watched &&
    node.state === 'charging' &&
    tel.isOccupied &&
    vehicleId !== null &&
    tel.powerKw > 0
  ) {
    switchVehicle(st, node, vehicleId, msg.ts, out);
  }
  const s = integrateSample(st, node, tel.powerKw, msg.ts);
  // The report covers the energy delivered up to it: integrate first, then report.
  if (vehicle !== null && soc !== null) reportSoc(st, vehicle, soc, 'node', msg.ts, out);
  if (s !== null) pushSessionUpdated(s, msg.ts, out);
}
