// Points of the time series, built with the client's `Point` from twin changes, DLM
// commands and hub load samples. Pure: no I/O, no clock.
//
// Measurement, tag and field names are the ones the original Telegraf pipeline wrote
// (mqtt_consumer + json data format: nested objects flattened with `_`, numbers and
// booleans as fields, `state` and the connected vehicle id as string fields, ids as tags),
// so dashboards built for it keep working. Every number is a float field, like Telegraf's
// JSON parser wrote it: `0i` into a bucket that holds the float field `error_code` would
// be a type conflict.
//
// Ids come from MQTT topics and may hold spaces, commas, `=`, quotes, backslashes or any
// unicode (the contract only forbids control characters). `Point` escapes `,` `=` and
// space in tags, and `"` and `\` in string fields, but leaves a backslash in a tag as it
// is: `a\` followed by `,` would escape the separator and break the line. So every id
// goes through `safeTag` first (backslashes doubled; a trailing one spelled `\u005c`,
// which InfluxDB 1.x/2.x scanners cannot read in any form as the end of a tag) and every
// string field through `cleanText` (a control character becomes a visible escape: line
// protocol cannot carry a newline). No id can break a line or inject a point.
import { Point } from '@influxdata/influxdb-client';
import type { DlmCommand } from '../../core/dlm/types';
import type {
  HubStatusChange,
  NodeStatusChange,
  NodeTelemetryChange,
  VehicleTelemetryChange,
} from './changes';
import type { HubLoadSample } from './hub-load';

export type FieldType = 'float' | 'boolean' | 'string';

export interface MeasurementSpec {
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldType>>;
}

export type MeasurementName =
  'hub_status' | 'node_status' | 'node_telemetry' | 'vehicle_telemetry' | 'dlm_allocation' | 'hub_load';

/** Every measurement written, with its tags and fields (and field types). */
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
// Safe text

const CONTROL = /[\u0000-\u001f\u007f]/g; // eslint-disable-line no-control-regex
/** A control character or a backslash: the text needs work before it goes into a tag. */
const UNSAFE = /[\u0000-\u001f\u007f\\]/; // eslint-disable-line no-control-regex

/**
 * Control characters (newline, carriage return, tab, …) become visible escapes (`\n`,
 * `\r`, `\t`, `\u0000`): a line cannot hold a newline.
 */
export function cleanText(s: string): string {
  return s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A tag value ready for `Point.tag` (which escapes `,` `=` and space itself). */
export function safeTag(s: string): string {
  if (!UNSAFE.test(s)) return s; // the common case: nothing to do
  let t = cleanText(s);
  if (t.endsWith('\\')) t = `${t.slice(0, -1)}\\u005c`;
  return t.includes('\\') ? t.replace(/\\/g, '\\\\') : t;
}

/** The text a tag value is stored as (what a server reads back for `safeTag(s)`). */
export function storedTag(s: string): string {
  const t = cleanText(s);
  return t.endsWith('\\') ? `${t.slice(0, -1)}\\u005c` : t;
}

/** Timestamps are epoch milliseconds, written with precision `ms`. */
export const MS_PRECISION = {
  convertTime: (t: string | number | Date | undefined): string | undefined =>
    typeof t === 'number' && Number.isFinite(t) ? String(Math.floor(t)) : undefined,
};

const DIGITS = /^-?\d+$/;

/** One line of line protocol (precision ms), or undefined when the point has no field or time. */
export function toLine(p: Point): string | undefined {
  const line = p.toLineProtocol(MS_PRECISION);
  if (line === undefined) return undefined;
  // a point without time would be stamped by the server on receipt: not ours to write
  return DIGITS.test(line.slice(line.lastIndexOf(' ') + 1)) ? line : undefined;
}

// ---------------------------------------------------------------------------------------
// Mapping

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Sets a float field when the value is a finite number (Point throws on anything else). */
function float(p: Point, name: string, v: unknown): void {
  if (isNum(v)) p.floatField(name, v);
}
function bool(p: Point, name: string, v: unknown): void {
  if (typeof v === 'boolean') p.booleanField(name, v);
}
function text(p: Point, name: string, v: unknown): void {
  if (typeof v === 'string') p.stringField(name, UNSAFE.test(v) ? cleanText(v) : v);
}

/** A point with its tags and time; null when an id is missing or the time is not finite. */
function start(measurement: MeasurementName, tags: Record<string, unknown>, ts: unknown): Point | null {
  if (!isNum(ts)) return null;
  const p = new Point(measurement).timestamp(ts);
  for (const [k, v] of Object.entries(tags)) {
    if (!isId(v)) return null;
    p.tag(k, safeTag(v));
  }
  return p;
}
/** The point, or null when it has no field (a line without fields is invalid). */
const done = (p: Point): Point | null => (Object.keys(p.fields).length > 0 ? p : null);

/** `hub_status` (tag hub_id): cpu_temp, state. */
export function hubStatusPoint(c: HubStatusChange): Point | null {
  const p = start('hub_status', { hub_id: c.hubId }, c.ts);
  if (!p) return null;
  float(p, 'cpu_temp', c.cpuTempC);
  text(p, 'state', c.state);
  return done(p);
}

/** `node_status` (tags hub_id, node_id): error_code, state. */
export function nodeStatusPoint(c: NodeStatusChange): Point | null {
  const p = start('node_status', { hub_id: c.hubId, node_id: c.nodeId }, c.ts);
  if (!p) return null;
  float(p, 'error_code', c.errorCode);
  text(p, 'state', c.state);
  return done(p);
}

/** `node_telemetry` (tags hub_id, node_id). */
export function nodeTelemetryPoint(c: NodeTelemetryChange): Point | null {
  const p = start('node_telemetry', { hub_id: c.hubId, node_id: c.nodeId }, c.ts);
  if (!p) return null;
  float(p, 'voltage', c.voltage);
  float(p, 'current', c.current);
  float(p, 'power_kw', c.powerKw);
  float(p, 'power_limit_kw', c.powerLimitKw);
  bool(p, 'is_occupied', c.isOccupied);
  float(p, 'current_vehicle_soc', c.soc);
  text(p, 'connected_vehicle_id', c.vehicleId);
  return done(p);
}

/** `vehicle_telemetry` (tag vehicle_id); the position flattened to geo_location_*. */
export function vehicleTelemetryPoint(c: VehicleTelemetryChange): Point | null {
  const p = start('vehicle_telemetry', { vehicle_id: c.vehicleId }, c.ts);
  if (!p) return null;
  float(p, 'geo_location_latitude', c.position?.latitude);
  float(p, 'geo_location_longitude', c.position?.longitude);
  float(p, 'geo_location_altitude', c.position?.altitude);
  float(p, 'battery_level', c.batteryLevel);
  float(p, 'speed_kmh', c.speedKmh);
  float(p, 'engine_temp_c', c.engineTempC);
  bool(p, 'is_charging', c.isCharging);
  return done(p);
}

/** `dlm_allocation` (tags hub_id, node_id, trigger_reason): one point per DLM command. */
export function dlmAllocationPoint(cmd: DlmCommand): Point | null {
  const p = start(
    'dlm_allocation',
    { hub_id: cmd.hubId, node_id: cmd.nodeId, trigger_reason: cmd.reason },
    cmd.ts,
  );
  if (!p) return null;
  float(p, 'limit_kw', cmd.newLimitKw);
  float(p, 'original_limit_kw', cmd.originalLimitKw);
  float(p, 'total_grid_load_kw', cmd.totalGridLoadKw);
  float(p, 'available_capacity_kw', cmd.availableCapacityKw);
  return done(p);
}

/** `hub_load` (tag hub_id): measured load against capacity, and their ratio when known. */
export function hubLoadPoint(s: HubLoadSample): Point | null {
  const p = start('hub_load', { hub_id: s.hubId }, s.ts);
  if (!p) return null;
  float(p, 'load_kw', s.loadKw);
  float(p, 'capacity_kw', s.capacityKw);
  float(p, 'utilisation', s.utilisation);
  return done(p);
}
