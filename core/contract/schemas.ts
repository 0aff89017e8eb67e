/**
 * The payloads of the MQTT contract (shared/CONTRACT.md) as JSON Schema (draft 2020-12).
 *
 * These literals are the single source: the TypeScript wire types below are derived from
 * them (`FromSchema`), `validate.ts` compiles them with Ajv, and `normalise.ts` uses their
 * defaults.
 *
 * Notes on the dialect as used here:
 * - Unknown extra properties are allowed (no `additionalProperties`): forward compatibility.
 * - `format: 'date-time'` is checked by `parseTimestamp` (time.ts): RFC 3339 plus, leniently,
 *   a missing zone (Python `isoformat()` of a naive datetime), read as UTC.
 * - `ip_address` is `anyOf` the `ipv4` / `ipv6` formats (formats.ts); formats are asserted,
 *   not annotations.
 * - `timestamp` is listed in `required` where CONTRACT.md requires it; inbound decoding
 *   accepts it missing everywhere (missing means "now"), see `validatePayload` options.
 */
import type { FromSchema } from './schema-types';

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** Identifiers in payloads: no control characters (C0, DEL, C1). */
export const ID_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';

const id = { type: 'string', minLength: 1, maxLength: 50, pattern: ID_PATTERN } as const;

/** A reference to a vehicle that may be absent: devices send `"n/a"`, `""` or `null` for none. */
const vehicleRef = { type: ['string', 'null'], maxLength: 50, pattern: ID_PATTERN } as const;

const timestamp = { type: 'string', format: 'date-time' } as const;

const kw350 = { type: 'number', minimum: 0, maximum: 350 } as const;

const geoLocation = {
  type: 'object',
  properties: {
    latitude: { type: 'number', minimum: -90, maximum: 90 },
    longitude: { type: 'number', minimum: -180, maximum: 180 },
    altitude: { type: 'number', minimum: -500, maximum: 10000, default: 0 },
  },
  required: ['latitude', 'longitude'],
} as const;

export const GeoLocationSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'GeoLocation',
  ...geoLocation,
} as const;

export const HubInfoSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'HubInfo',
  type: 'object',
  properties: {
    hub_id: id,
    location: geoLocation,
    max_grid_capacity_kw: { type: 'number', minimum: 0, maximum: 1000 },
    ip_address: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
    firmware_version: { type: 'string', maxLength: 20 },
    timestamp,
  },
  required: ['hub_id', 'location', 'max_grid_capacity_kw', 'ip_address', 'firmware_version'],
} as const;

export const HubStatusSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'HubStatus',
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['online', 'offline', 'maintenance'] },
    cpu_temp: { type: 'number', minimum: -40, maximum: 125 },
    timestamp,
  },
  required: ['state', 'cpu_temp', 'timestamp'],
} as const;

export const NodeInfoSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'NodeInfo',
  type: 'object',
  properties: {
    node_id: id,
    hub_id: id,
    name: { type: ['string', 'null'], maxLength: 100 },
    max_power_kw: kw350,
    timestamp,
  },
  required: ['node_id', 'hub_id', 'max_power_kw'],
} as const;

export const NodeStatusSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'NodeStatus',
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['idle', 'charging', 'full', 'faulted'] },
    current_vehicle_id: vehicleRef,
    error_code: { type: 'integer', minimum: 0, maximum: 9999, default: 0 },
    timestamp,
  },
  required: ['state', 'timestamp'],
} as const;

export const NodeTelemetrySchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'NodeTelemetry',
  type: 'object',
  properties: {
    voltage: { type: 'number', minimum: 0, maximum: 1000 },
    current: { type: 'number', minimum: 0, maximum: 500 },
    power_kw: kw350,
    power_limit_kw: kw350,
    is_occupied: { type: 'boolean' },
    connected_vehicle_id: vehicleRef,
    current_vehicle_soc: { type: ['number', 'null'], minimum: 0, maximum: 100 },
    timestamp,
  },
  required: ['voltage', 'current', 'power_kw', 'power_limit_kw', 'is_occupied', 'timestamp'],
} as const;

export const VehicleTelemetrySchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'VehicleTelemetry',
  type: 'object',
  properties: {
    geo_location: geoLocation,
    battery_level: { type: 'integer', minimum: 0, maximum: 100 },
    speed_kmh: { type: ['number', 'null'], minimum: 0, maximum: 300 },
    engine_temp_c: { type: ['number', 'null'], minimum: -40, maximum: 150 },
    is_charging: { type: 'boolean' },
    timestamp,
  },
  required: ['geo_location', 'battery_level', 'is_charging', 'timestamp'],
} as const;

export const VehicleRequestSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'VehicleRequest',
  type: 'object',
  properties: {
    vehicle_id: id,
    node_id: id,
    soc_percent: { type: 'integer', minimum: 0, maximum: 100 },
    timestamp,
  },
  required: ['vehicle_id', 'node_id', 'soc_percent'],
} as const;

export const DLMNotificationSchema = {
  $schema: JSON_SCHEMA_DIALECT,
  title: 'DLMNotification',
  type: 'object',
  properties: {
    trigger_reason: { type: 'string', minLength: 1, maxLength: 50 },
    original_limit: kw350,
    new_limit: kw350,
    affected_node_id: id,
    total_grid_load: { type: 'number', minimum: 0 },
    available_capacity: { type: 'number' },
    timestamp,
    allocation_id: { type: 'string' },
    policy: { type: 'string' },
    source: { type: 'string' },
  },
  required: [
    'trigger_reason',
    'original_limit',
    'new_limit',
    'affected_node_id',
    'total_grid_load',
    'available_capacity',
    'timestamp',
  ],
} as const;

/** All payload schemas, keyed by payload name. */
export const schemas = {
  GeoLocation: GeoLocationSchema,
  HubInfo: HubInfoSchema,
  HubStatus: HubStatusSchema,
  NodeInfo: NodeInfoSchema,
  NodeStatus: NodeStatusSchema,
  NodeTelemetry: NodeTelemetrySchema,
  VehicleTelemetry: VehicleTelemetrySchema,
  VehicleRequest: VehicleRequestSchema,
  DLMNotification: DLMNotificationSchema,
} as const;

export type PayloadName = keyof typeof schemas;

export const PAYLOAD_NAMES: readonly PayloadName[] = Object.keys(schemas) as PayloadName[];

export type GeoLocation = FromSchema<typeof GeoLocationSchema>;
export type HubInfo = FromSchema<typeof HubInfoSchema>;
export type HubStatus = FromSchema<typeof HubStatusSchema>;
export type NodeInfo = FromSchema<typeof NodeInfoSchema>;
export type NodeStatus = FromSchema<typeof NodeStatusSchema>;
export type NodeTelemetry = FromSchema<typeof NodeTelemetrySchema>;
export type VehicleTelemetry = FromSchema<typeof VehicleTelemetrySchema>;
export type VehicleRequest = FromSchema<typeof VehicleRequestSchema>;
export type DLMNotification = FromSchema<typeof DLMNotificationSchema>;

/** Payload name → wire type. */
export type PayloadTypes = { [N in PayloadName]: FromSchema<(typeof schemas)[N]> };
