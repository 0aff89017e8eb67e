// The report change the twin emits for a decoded message (PLAN.md, "The change-list
// contract": every applied inbound message yields exactly one report change carrying the
// message's values). The time series tests build change lists with it; once the twin
// emits `hub-status`, `node-status` and `vehicle-telemetry` itself, tests can take the
// changes of `Twin.apply` instead.
import type { InboundMessage } from '../../core/contract';
import type { TimeSeriesChange } from '../../adapters/influx';

export function reportChange(m: InboundMessage): TimeSeriesChange | null {
  switch (m.kind) {
    case 'hubStatus':
      return { type: 'hub-status', ts: m.ts, hubId: m.hubId, state: m.data.state, cpuTempC: m.data.cpu_temp };
    case 'nodeStatus':
      return {
        type: 'node-status',
        ts: m.ts,
        hubId: m.hubId,
        nodeId: m.nodeId,
        state: m.data.state,
        errorCode: m.data.error_code,
        vehicleId: m.data.current_vehicle_id ?? null,
      };
    case 'nodeTelemetry':
      return {
        type: 'node-telemetry',
        ts: m.ts,
        hubId: m.hubId,
        nodeId: m.nodeId,
        powerKw: m.data.power_kw,
        powerLimitKw: m.data.power_limit_kw,
        voltage: m.data.voltage,
        current: m.data.current,
        isOccupied: m.data.is_occupied,
        vehicleId: m.data.connected_vehicle_id ?? null,
        soc: m.data.current_vehicle_soc ?? null,
      };
    case 'vehicleTelemetry':
      return {
        type: 'vehicle-telemetry',
        ts: m.ts,
        vehicleId: m.vehicleId,
        position: m.data.geo_location,
        batteryLevel: m.data.battery_level,
        speedKmh: m.data.speed_kmh ?? null,
        engineTempC: m.data.engine_temp_c ?? null,
        isCharging: m.data.is_charging,
      };
    default:
      return null;
  }
}
