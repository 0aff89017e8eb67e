// What a WPT-DLM node finds in an incoming message: a decoded contract message (msg.wpt,
// set by wpt-decode), or raw MQTT (topic + payload) to decode here.
import type { NodeMessage } from './node-red';
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
