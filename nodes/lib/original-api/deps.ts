// What the original API's routes need from the fleet, and the helpers they share: one request,
// the node found by its (global) id, and an operator command sent to the twin through the flow
// with its answer mapped to the original's errors.
import type { IncomingHttpHeaders } from 'node:http';
import type { HubView, NodeView, SessionView, VehicleView } from '../../../core/twin';
import type { HubDlmSettings } from '../../../core/dlm';
import type { OriginalApiStore } from '../../../adapters/postgres';
import { ambiguousNode, detail, internalError, validationError, type PyError, type Resp } from './errors';

export interface OriginalTwin {
  hubs(): HubView[];
  hub(id: string): HubView | undefined;
  nodesOf(hubId: string): NodeView[];
  node(hubId: string, nodeId: string): NodeView | undefined;
  vehicles(): VehicleView[];
  vehicle(id: string): VehicleView | undefined;
  openSession(hubId: string, nodeId: string): SessionView | undefined;
}

/** wpt-twin's answer to an operator command (REST JSON and status). */
export interface CommandAnswer {
  statusCode: number;
  payload: unknown;
}

export interface OriginalApiDeps {
  twin: OriginalTwin;
  /** PostgreSQL reads; null without a database (history routes then fail with a 500). */
  store: OriginalApiStore | null;
  dbHealthy(): Promise<boolean>;
  /** Sends an operator command to wpt-twin (through the flow) and waits for its answer. */
  command(cmd: Record<string, unknown>): Promise<CommandAnswer>;
  /** Publishes (QoS 1, not retained) through the flow's `mqtt out`. */
  publish(topic: string, payload: Record<string, unknown>): void;
  /** When this vehicle was created, as seen in the twin's changes (undefined: not seen). */
  createdAt(vehicleId: string): number | undefined;
  dlm: HubDlmSettings;
  /** Base URL of this listener for QR codes when the request gives none. */
  baseUrl(headers: IncomingHttpHeaders): string;
  now(): number;
}

export interface Req {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The JSON body; undefined when none was sent. */
  body: unknown;
  /** Set when a body was sent that is not JSON. */
  bodyError?: PyError;
  /** Client address (for the audit note). */
  client: string;
}

export type Handler = (req: Req, d: OriginalApiDeps) => Promise<Resp>;

/** Every node with this id, in any hub. */
export function nodesWithId(twin: OriginalTwin, nodeId: string): NodeView[] {
  const out: NodeView[] = [];
  for (const h of twin.hubs()) {
    const n = twin.node(h.hubId, nodeId);
    if (n) out.push(n);
  }
  return out;
}

/** The one node with this id, or the answer: `missing` when none, 409 when several hubs have it. */
export function resolveNode(
  twin: OriginalTwin,
  nodeId: string,
  missing: () => Resp,
): { ok: true; node: NodeView } | { ok: false; resp: Resp } {
  const found = nodesWithId(twin, nodeId);
  if (found.length === 1) return { ok: true, node: found[0]! };
  if (found.length === 0) return { ok: false, resp: missing() };
  return {
    ok: false,
    resp: ambiguousNode(
      nodeId,
      found.map((n) => n.hubId),
    ),
  };
}

/** Twin field names (of a refusal) as the original's bodies call them. */
function originalField(field: string): string {
  if (field.startsWith('location')) {
    const sub = field.slice('location.'.length);
    return { latitude: 'lat', longitude: 'lon', altitude: 'alt' }[sub] ?? 'lat';
  }
  return field === 'driver' ? 'driver_id' : field;
}

/** The audit note of a request: what was asked, and from where. */
export function noteOf(req: Req, extra = ''): string {
  const base = `original API: ${req.method} ${req.path} from ${req.client}`;
  return (extra ? `${base} (${extra})` : base).slice(0, 500);
}

/**
 * Runs an operator command (as the `original-api` actor). Null when the twin did it; else the
 * answer to send: its field refusals as a 422, `notFound` for its 404, its 409 with the
 * message as `detail`, anything else as the catch-all 500.
 */
export async function runCommand(
  d: OriginalApiDeps,
  cmd: Record<string, unknown>,
  notFound: () => Resp,
): Promise<{ ok: true; answer: CommandAnswer } | { ok: false; resp: Resp }> {
  const a = await d.command(cmd);
  if (a.statusCode >= 200 && a.statusCode < 300) return { ok: true, answer: a };
  const p = (a.payload ?? {}) as { message?: unknown; errors?: unknown };
  const message = typeof p.message === 'string' ? p.message : `the twin answered ${a.statusCode}`;
  if (a.statusCode === 400) {
    const lines = Array.isArray(p.errors) ? (p.errors as unknown[]).map(String) : [message];
    return {
      ok: false,
      resp: validationError(
        lines.map((l) => {
          const i = l.indexOf(': ');
          const field = i > 0 ? l.slice(0, i) : 'body';
          return {
            type: 'value_error',
            loc: ['body', originalField(field)],
            msg: i > 0 ? l.slice(i + 2) : l,
            input: null,
          };
        }),
      ),
    };
  }
  if (a.statusCode === 404) return { ok: false, resp: notFound() };
  if (a.statusCode === 409) return { ok: false, resp: detail(409, message) };
  return { ok: false, resp: internalError(message) };
}

/** Runs commands one after the other; stops at the first refusal. */
export async function runCommands(
  d: OriginalApiDeps,
  cmds: ReadonlyArray<Record<string, unknown>>,
  notFound: () => Resp,
): Promise<Resp | null> {
  for (const c of cmds) {
    const r = await runCommand(d, c, notFound);
    if (!r.ok) return r.resp;
  }
  return null;
}

/** Pages as the original: [skip, skip+limit) and the count of all, or every match when filtered. */
export function pageOf<T>(all: readonly T[], skip: number, limit: number, filtered: boolean) {
  if (filtered) return { items: [...all], total: all.length, skip, limit };
  // The original's database refused these (a 500).
  if (skip < 0) throw new Error('OFFSET must not be negative');
  if (limit < 0) throw new Error('LIMIT must not be negative');
  return { items: all.slice(skip, skip + limit), total: all.length, skip, limit };
}
