/**
 * Inbound decoding: topic + payload (Buffer, JSON text or parsed object) → a typed,
 * validated, normalised message, or every error found. Never throws.
 *
 * Normalisation: `timestamp` becomes `ts` (epoch ms; `nowMs` when missing); unknown
 * fields dropped; defaults applied (altitude 0, error_code 0); optional nullable fields
 * missing → null; vehicle references `"n/a"` / `""` → null; NodeTelemetry
 * `current_vehicle_soc: 0` with no vehicle connected → null. Numbers are kept as given.
 */
import { schemas } from './schemas';
import type { DLMNotification, PayloadName } from './schemas';
import type { NormalisedFromSchema } from './schema-types';
import { matchTopic, quoteTopic, PAYLOAD_OF, TOPIC_KINDS } from './topics';
import type { TopicKind } from './topics';
import { normaliseValidated } from './normalise';
import { validatePayload, validationError } from './validate';
import type { ValidationError } from './validate';
import { formatTimestamp, parseTimestamp } from './time';

/** A payload after normalisation (see module doc); derived from its schema. */
export type Normalised<N extends PayloadName> = NormalisedFromSchema<(typeof schemas)[N], 'timestamp'>;

export type GeoLocationData = Normalised<'GeoLocation'>;
export type HubInfoData = Normalised<'HubInfo'>;
export type HubStatusData = Normalised<'HubStatus'>;
export type NodeInfoData = Normalised<'NodeInfo'>;
export type NodeStatusData = Normalised<'NodeStatus'>;
export type NodeTelemetryData = Normalised<'NodeTelemetry'>;
export type VehicleTelemetryData = Normalised<'VehicleTelemetry'>;
export type VehicleRequestData = Normalised<'VehicleRequest'>;
export type DlmEventData = Normalised<'DLMNotification'>;

interface HubScoped<K extends TopicKind> {
  kind: K;
  hubId: string;
  /** Epoch ms of the payload's timestamp, or the decode time when it had none. */
  ts: number;
  data: Normalised<(typeof PAYLOAD_OF)[K]>;
}

interface NodeScoped<K extends TopicKind> extends HubScoped<K> {
  nodeId: string;
}

export type HubInfoMessage = HubScoped<'hubInfo'>;
export type HubStatusMessage = HubScoped<'hubStatus'>;
export type NodeInfoMessage = NodeScoped<'nodeInfo'>;
export type NodeStatusMessage = NodeScoped<'nodeStatus'>;
export type NodeTelemetryMessage = NodeScoped<'nodeTelemetry'>;
export interface VehicleTelemetryMessage {
  kind: 'vehicleTelemetry';
  vehicleId: string;
  ts: number;
  data: VehicleTelemetryData;
}
export type VehicleRequestMessage = HubScoped<'vehicleRequest'>;
export type DlmEventMessage = HubScoped<'dlmEvent'>;

export type InboundMessage =
  | HubInfoMessage
  | HubStatusMessage
  | NodeInfoMessage
  | NodeStatusMessage
  | NodeTelemetryMessage
  | VehicleTelemetryMessage
  | VehicleRequestMessage
  | DlmEventMessage;

export interface DecodeFailure {
  ok: false;
  /** Known when the topic matched the contract. */
  kind?: TopicKind;
  /** Ids of the topic, only those that are valid. */
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
  errors: ValidationError[];
}

export type DecodeResult = { ok: true; msg: InboundMessage } | DecodeFailure;

export interface DecodeOptions {
  /** Largest accepted payload in bytes (UTF-8), default 64 KiB. Not applied to parsed objects. */
  maxBytes?: number;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 65536;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const NO_VALUE: unique symbol = Symbol('no value');

function shortReason(e: unknown): string {
  let text = e instanceof Error ? e.message : String(e);
  if (text.length > 160) text = text.slice(0, 160) + '…';
  // keep the message on one printable line
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? ' ' : text[i];
  }
  return out;
}

function parseJsonText(text: string, errors: ValidationError[]): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (e) {
    errors.push(validationError('payload', `not valid JSON (${shortReason(e)})`));
    return NO_VALUE;
  }
}

function tooLarge(bytes: number, limit: number): ValidationError {
  return validationError('payload', `too large (${bytes} bytes, limit ${limit})`);
}

/** The payload as a JS value, or NO_VALUE after pushing the reason. */
function payloadValue(payload: unknown, maxBytes: number, errors: ValidationError[]): unknown {
  if (payload instanceof Uint8Array || payload instanceof ArrayBuffer) {
    const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
    if (bytes.byteLength === 0) {
      errors.push(validationError('payload', 'is empty'));
      return NO_VALUE;
    }
    if (bytes.byteLength > maxBytes) {
      errors.push(tooLarge(bytes.byteLength, maxBytes));
      return NO_VALUE;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      errors.push(validationError('payload', 'not valid UTF-8'));
      return NO_VALUE;
    }
    return parseJsonText(text, errors);
  }
  if (typeof payload === 'string') {
    if (payload.length === 0) {
      errors.push(validationError('payload', 'is empty'));
      return NO_VALUE;
    }
    // a UTF-16 unit is at most 3 UTF-8 bytes: measure only when it could matter
    if (payload.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(payload, 'utf8');
      if (bytes > maxBytes) {
        errors.push(tooLarge(bytes, maxBytes));
        return NO_VALUE;
      }
    }
    return parseJsonText(payload, errors);
  }
  if (payload === undefined) {
    errors.push(validationError('payload', 'is empty'));
    return NO_VALUE;
  }
  return payload;
}

function isNoVehicle(v: unknown): boolean {
  return v === null || v === '' || v === 'n/a' || v === 'N/A';
}

function failure(
  kind: TopicKind | undefined,
  ids: { hubId?: string; nodeId?: string; vehicleId?: string },
  errors: ValidationError[],
): DecodeFailure {
  const f: DecodeFailure = { ok: false, errors };
  if (kind !== undefined) f.kind = kind;
  if (ids.hubId !== undefined) f.hubId = ids.hubId;
  if (ids.nodeId !== undefined) f.nodeId = ids.nodeId;
  if (ids.vehicleId !== undefined) f.vehicleId = ids.vehicleId;
  return f;
}

function decodeUnchecked(topic: unknown, payload: unknown, nowMs: number, maxBytes: number): DecodeResult {
  if (typeof topic !== 'string') {
    return failure(undefined, {}, [validationError('topic', 'must be a string')]);
  }
  const m = matchTopic(topic);
  if (m === null) {
    return failure(undefined, {}, [validationError('topic', `unknown topic ${quoteTopic(topic)}`)]);
  }
  const errors: ValidationError[] = [];
  for (const p of m.problems) errors.push(validationError('topic', p));
  const kind = m.kind;
  // keep only the ids that passed
  const ids: { hubId?: string; nodeId?: string; vehicleId?: string } = {};
  if (errors.length > 0) {
    for (const [label, key] of [
      ['hub_id', 'hubId'],
      ['node_id', 'nodeId'],
      ['vehicle_id', 'vehicleId'],
    ] as const) {
      const v = m[key];
      if (v !== undefined && !m.problems.some((p) => p.startsWith(label + ' '))) ids[key] = v;
    }
  } else {
    if (m.hubId !== undefined) ids.hubId = m.hubId;
    if (m.nodeId !== undefined) ids.nodeId = m.nodeId;
    if (m.vehicleId !== undefined) ids.vehicleId = m.vehicleId;
  }

  const value = payloadValue(payload, maxBytes, errors);
  if (value === NO_VALUE) return failure(kind, ids, errors);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(validationError('payload', 'must be a JSON object'));
    return failure(kind, ids, errors);
  }

  const name = PAYLOAD_OF[kind];
  const checked = validatePayload(name, value, { timestampOptional: true });
  if (!checked.ok) for (const e of checked.errors) errors.push(e);

  const obj = value as Record<string, unknown>;
  if (kind === 'hubInfo' || kind === 'nodeInfo') {
    const hubId = obj.hub_id;
    if (ids.hubId !== undefined && typeof hubId === 'string' && hubId !== ids.hubId) {
      errors.push(validationError(`${name}.hub_id`, `must equal the topic's hub_id '${ids.hubId}'`));
    }
    if (kind === 'nodeInfo') {
      const nodeId = obj.node_id;
      if (ids.nodeId !== undefined && typeof nodeId === 'string' && nodeId !== ids.nodeId) {
        errors.push(validationError(`${name}.node_id`, `must equal the topic's node_id '${ids.nodeId}'`));
      }
    }
  }
  if (errors.length > 0) return failure(kind, ids, errors);

  const data = normaliseValidated(name, obj);
  if (kind === 'nodeTelemetry') {
    if (isNoVehicle(data.connected_vehicle_id)) {
      data.connected_vehicle_id = null;
      if (data.current_vehicle_soc === 0) data.current_vehicle_soc = null;
    }
  } else if (kind === 'nodeStatus') {
    if (isNoVehicle(data.current_vehicle_id)) data.current_vehicle_id = null;
  }
  const stamp = obj.timestamp;
  const ts = typeof stamp === 'string' ? parseTimestamp(stamp) : nowMs;

  // The shapes are guaranteed by validation + normalisation against the same schema.
  const msg = { kind, ts, data } as { kind: TopicKind; ts: number; data: unknown } & typeof ids;
  if (ids.hubId !== undefined) msg.hubId = ids.hubId;
  if (ids.nodeId !== undefined) msg.nodeId = ids.nodeId;
  if (ids.vehicleId !== undefined) msg.vehicleId = ids.vehicleId;
  return { ok: true, msg: msg as InboundMessage };
}

/**
 * Decode one MQTT message of the contract. `payload` may be a Buffer/Uint8Array, JSON
 * text, or an already parsed value. `nowMs` is used as `ts` when the payload has no
 * timestamp. Never throws: every problem is returned in `errors`.
 */
export function decode(topic: string, payload: unknown, nowMs: number, opts?: DecodeOptions): DecodeResult {
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  try {
    return decodeUnchecked(topic, payload, nowMs, maxBytes);
  } catch (e) {
    return failure(undefined, {}, [validationError('payload', `could not be decoded (${shortReason(e)})`)]);
  }
}

/** What `encodeDlmNotification` takes: a DLMNotification with `ts` (epoch ms) instead of `timestamp`. */
export type DlmNotificationInput = Omit<DLMNotification, 'timestamp'> & { ts: number };

/**
 * JSON text of a DLMNotification in the contract's field names: `available_capacity`
 * below 0 sent as 0, `timestamp` formatted from `ts`, the optional extras
 * (`allocation_id`, `policy`, `source`) included when set. Throws an Error listing the
 * violations if the result would not be a valid DLMNotification (a programming error).
 */
export function encodeDlmNotification(n: DlmNotificationInput): string {
  const out: DLMNotification = {
    trigger_reason: n.trigger_reason,
    original_limit: n.original_limit,
    new_limit: n.new_limit,
    affected_node_id: n.affected_node_id,
    total_grid_load: n.total_grid_load,
    available_capacity: n.available_capacity < 0 ? 0 : n.available_capacity,
    timestamp: formatTimestamp(n.ts),
  };
  if (n.allocation_id !== undefined) out.allocation_id = n.allocation_id;
  if (n.policy !== undefined) out.policy = n.policy;
  if (n.source !== undefined) out.source = n.source;
  const checked = validatePayload('DLMNotification', out);
  if (!checked.ok) {
    throw new Error(`invalid DLMNotification: ${checked.errors.map((e) => e.message).join('; ')}`);
  }
  return JSON.stringify(out);
}

const KINDS: ReadonlySet<string> = new Set(TOPIC_KINDS);

/**
 * Is this an already decoded message (e.g. `msg.wpt` set by wpt-validate or a twin node)?
 * Checks the shape only: decode() is what validates.
 */
export function isInboundMessage(v: unknown): v is InboundMessage {
  if (v === null || typeof v !== 'object') return false;
  const m = v as { kind?: unknown; ts?: unknown; data?: unknown };
  return (
    typeof m.kind === 'string' &&
    KINDS.has(m.kind) &&
    typeof m.ts === 'number' &&
    !!m.data &&
    typeof m.data === 'object'
  );
}
