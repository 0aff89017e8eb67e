/**
 * The MQTT topics of the contract: parse, build, subscription filters.
 *
 *   iot/hubs/{hub_id}/info                       hubInfo           HubInfo
 *   iot/hubs/{hub_id}/status                     hubStatus         HubStatus
 *   iot/hubs/{hub_id}/nodes/{node_id}/info       nodeInfo          NodeInfo
 *   iot/hubs/{hub_id}/nodes/{node_id}/status     nodeStatus        NodeStatus
 *   iot/hubs/{hub_id}/nodes/{node_id}/telemetry  nodeTelemetry     NodeTelemetry
 *   iot/vehicles/{vehicle_id}/telemetry          vehicleTelemetry  VehicleTelemetry
 *   iot/hubs/{hub_id}/requests                   vehicleRequest    VehicleRequest
 *   iot/hubs/{hub_id}/dlm/events                 dlmEvent          DLMNotification
 *
 * Ids in topics: 1–50 characters, no `/`, `+`, `#`, no control characters.
 */
import type { PayloadName } from './schemas';

export type TopicKind =
  | 'hubInfo'
  | 'hubStatus'
  | 'nodeInfo'
  | 'nodeStatus'
  | 'nodeTelemetry'
  | 'vehicleTelemetry'
  | 'vehicleRequest'
  | 'dlmEvent';

export const TOPIC_KINDS: readonly TopicKind[] = [
  'hubInfo',
  'hubStatus',
  'nodeInfo',
  'nodeStatus',
  'nodeTelemetry',
  'vehicleTelemetry',
  'vehicleRequest',
  'dlmEvent',
];

export interface TopicIds {
  hubId?: string;
  nodeId?: string;
  vehicleId?: string;
}

export interface ParsedTopic extends TopicIds {
  kind: TopicKind;
}

export interface TopicError {
  /** Full message, e.g. `topic: hub_id must be 1-50 characters`. */
  error: string;
}

/** Wildcard subscription filter per kind. */
export const SUBSCRIPTIONS: Readonly<Record<TopicKind, string>> = {
  hubInfo: 'iot/hubs/+/info',
  hubStatus: 'iot/hubs/+/status',
  nodeInfo: 'iot/hubs/+/nodes/+/info',
  nodeStatus: 'iot/hubs/+/nodes/+/status',
  nodeTelemetry: 'iot/hubs/+/nodes/+/telemetry',
  vehicleTelemetry: 'iot/vehicles/+/telemetry',
  vehicleRequest: 'iot/hubs/+/requests',
  dlmEvent: 'iot/hubs/+/dlm/events',
};

/** Payload carried by each kind of topic. */
export const PAYLOAD_OF = {
  hubInfo: 'HubInfo',
  hubStatus: 'HubStatus',
  nodeInfo: 'NodeInfo',
  nodeStatus: 'NodeStatus',
  nodeTelemetry: 'NodeTelemetry',
  vehicleTelemetry: 'VehicleTelemetry',
  vehicleRequest: 'VehicleRequest',
  dlmEvent: 'DLMNotification',
} as const satisfies Record<TopicKind, PayloadName>;

export const TOPIC_ID_MAX_LENGTH = 50;

/**
 * The broken rule of a topic id (`hub_id must be 1-50 characters`), or null when valid.
 * `label` names the id in the message.
 */
export function topicIdProblem(label: string, id: unknown): string | null {
  if (typeof id !== 'string') return `${label} is required`;
  const n = id.length;
  if (n === 0 || n > TOPIC_ID_MAX_LENGTH * 2) return `${label} must be 1-${TOPIC_ID_MAX_LENGTH} characters`;
  let points = 0;
  let control = false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c === 47 || c === 43 || c === 35) return `${label} must not contain '/', '+' or '#'`;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) control = true;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = id.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    points++;
  }
  if (points > TOPIC_ID_MAX_LENGTH) return `${label} must be 1-${TOPIC_ID_MAX_LENGTH} characters`;
  if (control) return `${label} must not contain control characters`;
  return null;
}

/** True when `id` may be used in a topic. */
export function isValidTopicId(id: unknown): id is string {
  return topicIdProblem('id', id) === null;
}

/** Quote a topic for an error message: control characters escaped, length capped. */
export function quoteTopic(topic: string): string {
  const cut = topic.length > 120 ? topic.slice(0, 120) : topic;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? '\\u' + c.toString(16).padStart(4, '0') : cut[i];
  }
  return `'${out}${cut.length < topic.length ? '…' : ''}'`;
}

/** Structural match of a topic: kind and raw ids, ids not yet checked. */
export interface TopicMatch extends ParsedTopic {
  /** Broken id rules (`hub_id must be 1-50 characters`), empty when the ids are valid. */
  problems: string[];
}

function kindOf(parts: string[]): ParsedTopic | null {
  if (parts[0] !== 'iot') return null;
  const n = parts.length;
  if (parts[1] === 'hubs') {
    const hubId = parts[2] as string;
    if (n === 4) {
      const leaf = parts[3];
      if (leaf === 'info') return { kind: 'hubInfo', hubId };
      if (leaf === 'status') return { kind: 'hubStatus', hubId };
      if (leaf === 'requests') return { kind: 'vehicleRequest', hubId };
      return null;
    }
    if (n === 5) return parts[3] === 'dlm' && parts[4] === 'events' ? { kind: 'dlmEvent', hubId } : null;
    if (n === 6 && parts[3] === 'nodes') {
      const nodeId = parts[4] as string;
      const leaf = parts[5];
      if (leaf === 'info') return { kind: 'nodeInfo', hubId, nodeId };
      if (leaf === 'status') return { kind: 'nodeStatus', hubId, nodeId };
      if (leaf === 'telemetry') return { kind: 'nodeTelemetry', hubId, nodeId };
    }
    return null;
  }
  if (parts[1] === 'vehicles' && n === 4 && parts[3] === 'telemetry') {
    return { kind: 'vehicleTelemetry', vehicleId: parts[2] as string };
  }
  return null;
}

/**
 * Match a topic against the contract and check its ids. Returns null for an unknown
 * topic. Internal building block of `parseTopic` and `decode`.
 */
export function matchTopic(topic: string): TopicMatch | null {
  const parsed = kindOf(topic.split('/'));
  if (parsed === null) return null;
  const problems: string[] = [];
  if (parsed.hubId !== undefined) {
    const p = topicIdProblem('hub_id', parsed.hubId);
    if (p !== null) problems.push(p);
  }
  if (parsed.nodeId !== undefined) {
    const p = topicIdProblem('node_id', parsed.nodeId);
    if (p !== null) problems.push(p);
  }
  if (parsed.vehicleId !== undefined) {
    const p = topicIdProblem('vehicle_id', parsed.vehicleId);
    if (p !== null) problems.push(p);
  }
  return { ...parsed, problems };
}

/** Parse a contract topic into its kind and ids, or an error naming the problem. */
export function parseTopic(topic: string): ParsedTopic | TopicError {
  if (typeof topic !== 'string') return { error: 'topic: must be a string' };
  const m = matchTopic(topic);
  if (m === null) return { error: `topic: unknown topic ${quoteTopic(topic)}` };
  if (m.problems.length > 0) return { error: `topic: ${m.problems[0]}` };
  const out: ParsedTopic = { kind: m.kind };
  if (m.hubId !== undefined) out.hubId = m.hubId;
  if (m.nodeId !== undefined) out.nodeId = m.nodeId;
  if (m.vehicleId !== undefined) out.vehicleId = m.vehicleId;
  return out;
}

/** Type guard for the error branch of `parseTopic`. */
export function isTopicError(r: ParsedTopic | TopicError): r is TopicError {
  return 'error' in r;
}

function need(label: string, id: string | undefined): string {
  const p = topicIdProblem(label, id);
  if (p !== null) throw new Error(`topic: ${p}`);
  return id as string;
}

/** Build the topic of `kind` for the given ids. Throws when a needed id is missing or invalid. */
export function buildTopic(kind: TopicKind, ids: TopicIds): string {
  switch (kind) {
    case 'hubInfo':
      return `iot/hubs/${need('hub_id', ids.hubId)}/info`;
    case 'hubStatus':
      return `iot/hubs/${need('hub_id', ids.hubId)}/status`;
    case 'vehicleRequest':
      return `iot/hubs/${need('hub_id', ids.hubId)}/requests`;
    case 'dlmEvent':
      return `iot/hubs/${need('hub_id', ids.hubId)}/dlm/events`;
    case 'nodeInfo':
      return `iot/hubs/${need('hub_id', ids.hubId)}/nodes/${need('node_id', ids.nodeId)}/info`;
    case 'nodeStatus':
      return `iot/hubs/${need('hub_id', ids.hubId)}/nodes/${need('node_id', ids.nodeId)}/status`;
    case 'nodeTelemetry':
      return `iot/hubs/${need('hub_id', ids.hubId)}/nodes/${need('node_id', ids.nodeId)}/telemetry`;
    case 'vehicleTelemetry':
      return `iot/vehicles/${need('vehicle_id', ids.vehicleId)}/telemetry`;
    default:
      throw new Error(`topic: unknown kind '${String(kind)}'`);
  }
}
