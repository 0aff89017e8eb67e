// Point mapping: plain contract-shaped inputs -> InfluxDB line protocol points.
//
// Pure: no I/O, no clock. Measurement, tag and field names are the ones the original
// Telegraf pipeline wrote (mqtt_consumer + json data format: nested objects flattened
// with `_`, numbers and booleans as fields, `state` (and the connected vehicle id) as
// string fields, ids from the topic as tags), so dashboards built for it keep working.
// All numbers are written as floats, like Telegraf's JSON parser did: writing `0i` into
// a bucket that already holds the float field `error_code` would be a type conflict.
//
// Line protocol is written here rather than with the client's `Point`: `Point` does not
// escape backslashes in tag values (an id ending in `\` escapes the separator that
// follows it and breaks the line) and leaves raw newlines in string fields. Here every
// user-controlled text goes through `cleanText` (control characters become visible
// escapes such as the two characters `\n`: line protocol cannot carry a newline) and
// then the escaping of its position, so no id can break a line or inject a point.

export type Precision = 'ms' | 'ns';
export type FieldValue = number | boolean | string;
export type FieldType = 'float' | 'boolean' | 'string';

export interface InfluxPoint {
  readonly measurement: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** Epoch milliseconds; may carry a fraction (sub-millisecond) for `ns` precision. */
  readonly ts: number;
}

export interface MeasurementSpec {
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldType>>;
}

export type MeasurementName =
  'hub_status' | 'node_status' | 'node_telemetry' | 'vehicle_telemetry' | 'dlm_allocation' | 'hub_load';

/** Every measurement this module writes, with its tags and fields (and field types). */
export const MEASUREMENTS: Readonly<Record<MeasurementName, MeasurementSpec>> = {
  hub_status: { tags: ['hub_id'], fields: { cpu_temp: 'float', state: 'string' } },
  node_status: { tags: ['hub_id', 'node_id'], fields: { error_code: 'float', state: 'string' } },
  node_telemetry: {
    tags: ['hub_id', 'node_id'],
    fields: {
      voltage: 'float',
      current: 'float',
      power_kw: 'float',
      power_limit_kw: 'float',
      is_occupied: 'boolean',
      current_vehicle_soc: 'float',
      connected_vehicle_id: 'string',
    },
  },
  vehicle_telemetry: {
    tags: ['vehicle_id'],
    fields: {
      geo_location_latitude: 'float',
      geo_location_longitude: 'float',
      geo_location_altitude: 'float',
      battery_level: 'float',
      speed_kmh: 'float',
      engine_temp_c: 'float',
      is_charging: 'boolean',
    },
  },
  dlm_allocation: {
    tags: ['hub_id', 'node_id', 'trigger_reason'],
    fields: {
      limit_kw: 'float',
      original_limit_kw: 'float',
      total_grid_load_kw: 'float',
      available_capacity_kw: 'float',
    },
  },
  hub_load: { tags: ['hub_id'], fields: { load_kw: 'float', capacity_kw: 'float', utilisation: 'float' } },
};

export const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as MeasurementName[];

// ---------------------------------------------------------------------------------------
// Inputs: `{ hubId, nodeId?, vehicleId?, ts /* epoch ms */, data: { …payload fields… } }`,
// data fields named as in CONTRACT.md. Every data field is optional: a field that is
// missing, null or of the wrong type is left out of the point (as Telegraf did).

export interface HubStatusData {
  state?: string | null;
  cpu_temp?: number | null;
}
export interface NodeStatusData {
  state?: string | null;
  error_code?: number | null;
}
export interface NodeTelemetryData {
  voltage?: number | null;
  current?: number | null;
  power_kw?: number | null;
  power_limit_kw?: number | null;
  is_occupied?: boolean | null;
  connected_vehicle_id?: string | null;
  current_vehicle_soc?: number | null;
}
export interface GeoLocationData {
  latitude?: number | null;
  longitude?: number | null;
  altitude?: number | null;
}
export interface VehicleTelemetryData {
  geo_location?: GeoLocationData | null;
  battery_level?: number | null;
  speed_kmh?: number | null;
  engine_temp_c?: number | null;
  is_charging?: boolean | null;
}
/** A DLMNotification payload. */
export interface DlmNotificationData {
  trigger_reason?: string | null;
  original_limit?: number | null;
  new_limit?: number | null;
  affected_node_id?: string | null;
  total_grid_load?: number | null;
  available_capacity?: number | null;
}
export interface HubLoadData {
  load_kw?: number | null;
  capacity_kw?: number | null;
  /** load / capacity; computed from the two when absent and capacity > 0. */
  utilisation?: number | null;
}

export interface HubStatusInput {
  hubId: string;
  ts: number;
  data: HubStatusData;
}
export interface NodeStatusInput {
  hubId: string;
  nodeId: string;
  ts: number;
  data: NodeStatusData;
}
export interface NodeTelemetryInput {
  hubId: string;
  nodeId: string;
  ts: number;
  data: NodeTelemetryData;
}
export interface VehicleTelemetryInput {
  vehicleId: string;
  ts: number;
  data: VehicleTelemetryData;
}
export interface DlmAllocationInput {
  hubId: string;
  /** Defaults to `data.affected_node_id`. */
  nodeId?: string;
  ts: number;
  data: DlmNotificationData;
}
export interface HubLoadInput {
  hubId: string;
  ts: number;
  data: HubLoadData;
}

// ---------------------------------------------------------------------------------------

type Fields = Record<string, FieldValue>;

function num(fields: Fields, key: string, v: unknown): void {
  if (typeof v === 'number' && Number.isFinite(v)) fields[key] = v;
}
function bool(fields: Fields, key: string, v: unknown): void {
  if (typeof v === 'boolean') fields[key] = v;
}
function str(fields: Fields, key: string, v: unknown): void {
  if (typeof v === 'string') fields[key] = v;
}
function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function point(
  measurement: MeasurementName,
  tags: Record<string, string>,
  fields: Fields,
  ts: number,
): InfluxPoint | null {
  if (!Number.isFinite(ts)) return null;
  if (Object.keys(fields).length === 0) return null; // a line without fields is invalid
  return { measurement, tags, fields, ts };
}

/** `hub_status` (tag hub_id). Null when the point would be invalid (no id, no field, bad ts). */
export function hubStatusPoint(input: HubStatusInput): InfluxPoint | null {
  if (!isId(input.hubId)) return null;
  const f: Fields = {};
  num(f, 'cpu_temp', input.data?.cpu_temp);
  str(f, 'state', input.data?.state);
  return point('hub_status', { hub_id: input.hubId }, f, input.ts);
}

/** `node_status` (tags hub_id, node_id). */
export function nodeStatusPoint(input: NodeStatusInput): InfluxPoint | null {
  if (!isId(input.hubId) || !isId(input.nodeId)) return null;
  const f: Fields = {};
  num(f, 'error_code', input.data?.error_code);
  str(f, 'state', input.data?.state);
  return point('node_status', { hub_id: input.hubId, node_id: input.nodeId }, f, input.ts);
}

/** `node_telemetry` (tags hub_id, node_id). */
export function nodeTelemetryPoint(input: NodeTelemetryInput): InfluxPoint | null {
  if (!isId(input.hubId) || !isId(input.nodeId)) return null;
  const d = input.data ?? {};
  const f: Fields = {};
  num(f, 'voltage', d.voltage);
  num(f, 'current', d.current);
  num(f, 'power_kw', d.power_kw);
  num(f, 'power_limit_kw', d.power_limit_kw);
  bool(f, 'is_occupied', d.is_occupied);
  num(f, 'current_vehicle_soc', d.current_vehicle_soc);
  str(f, 'connected_vehicle_id', d.connected_vehicle_id);
  return point('node_telemetry', { hub_id: input.hubId, node_id: input.nodeId }, f, input.ts);
}

/** `vehicle_telemetry` (tag vehicle_id); geo_location flattened to geo_location_*. */
export function vehicleTelemetryPoint(input: VehicleTelemetryInput): InfluxPoint | null {
  if (!isId(input.vehicleId)) return null;
  const d = input.data ?? {};
  const g = d.geo_location ?? {};
  const f: Fields = {};
  num(f, 'geo_location_latitude', g.latitude);
  num(f, 'geo_location_longitude', g.longitude);
  num(f, 'geo_location_altitude', g.altitude);
  num(f, 'battery_level', d.battery_level);
  num(f, 'speed_kmh', d.speed_kmh);
  num(f, 'engine_temp_c', d.engine_temp_c);
  bool(f, 'is_charging', d.is_charging);
  return point('vehicle_telemetry', { vehicle_id: input.vehicleId }, f, input.ts);
}

/** `dlm_allocation` (tags hub_id, node_id, trigger_reason) from a DLMNotification. */
export function dlmAllocationPoint(input: DlmAllocationInput): InfluxPoint | null {
  const d = input.data ?? {};
  const nodeId = input.nodeId ?? d.affected_node_id;
  if (!isId(input.hubId) || !isId(nodeId)) return null;
  const tags: Record<string, string> = { hub_id: input.hubId, node_id: nodeId };
  if (isId(d.trigger_reason)) tags.trigger_reason = d.trigger_reason;
  const f: Fields = {};
  num(f, 'limit_kw', d.new_limit);
  num(f, 'original_limit_kw', d.original_limit);
  num(f, 'total_grid_load_kw', d.total_grid_load);
  num(f, 'available_capacity_kw', d.available_capacity);
  return point('dlm_allocation', tags, f, input.ts);
}

/** `hub_load` (tag hub_id): measured load against capacity. */
export function hubLoadPoint(input: HubLoadInput): InfluxPoint | null {
  if (!isId(input.hubId)) return null;
  const d = input.data ?? {};
  const f: Fields = {};
  num(f, 'load_kw', d.load_kw);
  num(f, 'capacity_kw', d.capacity_kw);
  if (typeof d.utilisation === 'number') num(f, 'utilisation', d.utilisation);
  else if (typeof f.load_kw === 'number' && typeof f.capacity_kw === 'number' && f.capacity_kw > 0) {
    f.utilisation = f.load_kw / f.capacity_kw;
  }
  return point('hub_load', { hub_id: input.hubId }, f, input.ts);
}

// ---------------------------------------------------------------------------------------
// Line protocol

const CONTROL = /[\u0000-\u001f\u007f]/g; // eslint-disable-line no-control-regex

/**
 * Makes text safe to carry in line protocol: control characters (newline, carriage
 * return, tab, …) become visible escapes (`\n`, `\r`, `\t`, `\u0000`), since a line
 * cannot hold a newline. Two ids that differ only in a control character versus its
 * spelled-out escape map to the same text; ids never contain either in practice.
 */
export function cleanText(s: string): string {
  return s.replace(CONTROL, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

/** Escapes a measurement name: backslash, comma, space. */
export function escapeMeasurement(s: string): string {
  return cleanText(s).replace(/[\\, ]/g, (c) => `\\${c}`);
}

/**
 * Escapes a tag key, tag value or field key: backslash, comma, equals sign, space.
 * A text ending in a backslash gets that last backslash spelled `\u005c`: the scanners
 * of InfluxDB 1.x/2.x read `\\` followed by a separator as an escaped separator, so a
 * trailing backslash cannot be written to them in any form that stays one tag.
 */
export function escapeKey(s: string): string {
  let t = cleanText(s);
  if (t.endsWith('\\')) t = `${t.slice(0, -1)}\\u005c`;
  return t.replace(/[\\,= ]/g, (c) => `\\${c}`);
}

/** Quotes a string field value: backslash and double quote escaped. */
export function quoteString(s: string): string {
  return `"${cleanText(s).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Timestamp text for a precision; `ts` in epoch ms (a fraction is kept at `ns`). */
export function formatTimestamp(ts: number, precision: Precision): string {
  const whole = Math.floor(ts);
  if (precision === 'ms') return String(whole);
  const fracNs = Math.round((ts - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(fracNs)).toString();
}

function formatField(v: FieldValue): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quoteString(v);
  return null;
}

/**
 * One line of line protocol (no trailing newline), tags sorted by key. Null when the
 * point cannot be written: no valid field, empty measurement, non-finite timestamp.
 * Empty tag values are left out (line protocol has no empty tag value).
 */
export function toLineProtocol(p: InfluxPoint, precision: Precision = 'ms'): string | null {
  if (typeof p.measurement !== 'string' || p.measurement.length === 0) return null;
  if (typeof p.ts !== 'number' || !Number.isFinite(p.ts)) return null;
  let fields = '';
  for (const [k, v] of Object.entries(p.fields)) {
    if (k.length === 0) continue;
    const text = formatField(v);
    if (text === null) continue;
    fields += `${fields ? ',' : ''}${escapeKey(k)}=${text}`;
  }
  if (!fields) return null;
  let tags = '';
  for (const k of Object.keys(p.tags).sort()) {
    const v = p.tags[k];
    if (k.length === 0 || typeof v !== 'string' || v.length === 0) continue;
    tags += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  return `${escapeMeasurement(p.measurement)}${tags} ${fields} ${formatTimestamp(p.ts, precision)}`;
}
