// What a WPT-DLM node finds in an incoming message: a decoded contract message (msg.wpt,
// set by wpt-decode), or raw MQTT (topic + payload) to decode here.
import type { NodeMessage } from './node-red';
import type { ControlRecords, RemoteState, SessionRecord } from '../../core/twin';
import { decode, isInboundMessage, type DecodeResult, type InboundMessage } from '../../core/contract';

export type InboundResult = ({ ok: true; msg: InboundMessage } | Exclude<DecodeResult, { ok: true }>) & {
  /** True when the message was decoded (and so is to be counted) here. */
  decodedHere: boolean;
};

export function inboundOf(msg: NodeMessage, nowMs: number): InboundResult {
  if (isInboundMessage(msg.wpt)) return { ok: true, msg: msg.wpt, decodedHere: false };
  const r = decode(typeof msg.topic === 'string' ? msg.topic : '', msg.payload, nowMs);
  return { ...r, decodedHere: true };
}

/**
 * Cluster mode, from wpt-subscriptions to wpt-twin (msg.watch): which hubs this instance's
 * twin watches (core/twin/watch.ts). `ownedOnly`: from now on only hubs watched here count
 * sessions; `watch`: hubs acquired, with their open sessions as stored; `unwatch`: hubs lost
 * or released.
 */
export interface WatchOrder {
  ownedOnly?: boolean;
  watch?: Array<{ hubId: string; sessions: SessionRecord[] }>;
  unwatch?: string[];
}

export function isWatchOrder(x: unknown): x is WatchOrder {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  return (
    (o.ownedOnly === undefined || typeof o.ownedOnly === 'boolean') &&
    (o.unwatch === undefined || strings(o.unwatch)) &&
    (o.watch === undefined ||
      (Array.isArray(o.watch) &&
        o.watch.every(
          (w: unknown) =>
            typeof w === 'object' &&
            w !== null &&
            typeof (w as { hubId?: unknown }).hubId === 'string' &&
            Array.isArray((w as { sessions?: unknown }).sessions),
        )))
  );
}

/**
 * Cluster mode, from wpt-subscriptions to wpt-twin (msg.controls): operator settings another
 * instance applied, as stored (Twin.syncControls).
 */
export function isControlRecords(x: unknown): x is ControlRecords {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  const list = (v: unknown, ...ids: string[]) =>
    v === undefined ||
    (Array.isArray(v) &&
      v.every(
        (r: unknown) =>
          typeof r === 'object' &&
          r !== null &&
          ids.every((k) => typeof (r as Record<string, unknown>)[k] === 'string'),
      ));
  return list(o.hubs, 'hubId') && list(o.nodes, 'hubId', 'nodeId') && list(o.vehicles, 'vehicleId');
}

/**
 * Cluster mode, from wpt-subscriptions to wpt-twin (msg.remote): what other instances stored,
 * node telemetry of their hubs and vehicles (Twin.applyRemote).
 */
export function isRemoteState(x: unknown): x is RemoteState {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  const n = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
  const rec = (r: unknown): r is Record<string, unknown> => typeof r === 'object' && r !== null;
  return (
    (o.nodes === undefined ||
      (Array.isArray(o.nodes) &&
        o.nodes.every(
          (r: unknown) =>
            rec(r) &&
            typeof r.hubId === 'string' &&
            typeof r.nodeId === 'string' &&
            typeof r.ts === 'number' &&
            n(r.powerKw) &&
            n(r.powerLimitKw) &&
            (r.vehicleId === null || typeof r.vehicleId === 'string'),
        ))) &&
    (o.vehicles === undefined ||
      (Array.isArray(o.vehicles) &&
        o.vehicles.every((r: unknown) => rec(r) && typeof r.vehicleId === 'string')))
  );
}
