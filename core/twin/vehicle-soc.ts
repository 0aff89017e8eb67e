// SoC of vehicles inside the twin: reports (vehicle, node, request), estimates between them
// from the energy of the open session, and the class — core/soc decides, this module applies
// its decisions to the vehicle and to its open session and reports the changes.
import type { SocSource } from '../soc/soc';
import { dueEstimate, reclassify, recordReport, type ReportedSocSource } from '../soc/track';
import type { VehicleEntity } from './entities';
import type { TwinChange } from './changes';
import type { TwinState } from './state';

/** A reported SoC (ignored when older than the last report, or a mere repetition). */
export function reportSoc(
  st: TwinState,
  v: VehicleEntity,
  value: number,
  source: ReportedSocSource,
  ts: number,
  out: TwinChange[],
): void {
  if (recordReport(v, value, source, ts)) setSoc(st, v, value, source, ts, out);
}

/** Sets the best SoC (report or estimate), carries it into the open session, reclassifies. */
export function setSoc(
  st: TwinState,
  v: VehicleEntity,
  value: number,
  source: SocSource,
  ts: number,
  out: TwinChange[],
): void {
  const previous = v.soc;
  v.soc = value;
  v.socSource = source;
  v.socTs = ts;
  const s = v.hubId !== null && v.nodeId !== null ? st.node(v.hubId, v.nodeId)?.session : undefined;
  if (s && s.vehicleId === v.vehicleId) {
    s.endSoc = value;
    if (s.startSoc === null) s.startSoc = value;
  }
  if (previous !== value) {
    out.push({
      type: 'soc',
      ts,
      vehicleId: v.vehicleId,
      value,
      previous,
      source,
      hubId: v.hubId,
      nodeId: v.nodeId,
    });
  }
  classifyVehicle(st, v, ts, out);
}

/** Reclassifies a vehicle (SoC or priority changed); reports a soc-class change. */
export function classifyVehicle(st: TwinState, v: VehicleEntity, ts: number, out: TwinChange[]): void {
  const from = v.socClass;
  if (!reclassify(v, v.priority, { criticalSoc: st.config.criticalSoc, hysteresis: st.config.socHysteresis }))
    return;
  out.push({
    type: 'soc-class',
    ts,
    vehicleId: v.vehicleId,
    from,
    to: v.socClass ?? 'normal',
    soc: v.soc,
    priority: v.priority,
    hubId: v.hubId,
    nodeId: v.nodeId,
  });
}

/** Estimates of the vehicles charging now, where they moved by at least socEstimateStep. */
export function estimateCharging(st: TwinState, nowMs: number, out: TwinChange[]): void {
  for (const node of st.sessionNodes) {
    const s = node.session;
    if (!s) continue;
    const v = st.vehicles.get(s.vehicleId);
    if (!v) continue;
    const est = dueEstimate(v, v.batteryKwh ?? st.config.defaultBatteryKwh, st.config.socEstimateStep);
    if (est !== null) setSoc(st, v, est, 'estimate', nowMs, out);
  }
}
