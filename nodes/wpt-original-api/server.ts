// The listener of the original API: HTTP (routes of nodes/lib/original-api) and the WebSocket
// /ws/telemetry/{vehicle_id}. Every connection is checked first (allow-list or token), then
// preflights, then the route; bodies are bounded; answers are serialised as the original's.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import type { TwinChange } from '../../core/twin';
import {
  corsHeaders,
  decideAccess,
  detail,
  dispatch,
  isPreflight,
  jsonInvalid,
  preflight,
  serialize,
  telemetryFrame,
  type AllowList,
  type OriginalApiDeps,
  type PyError,
  type Resp,
} from '../lib/original-api';

export interface OriginalApiServerOptions {
  deps: OriginalApiDeps;
  allow: AllowList;
  tokenHash: string | null;
  /** Largest request body (bytes). */
  maxBodyBytes?: number;
  /** Most WebSocket clients at once. */
  maxClients?: number;
  /** Called after each answer (status code) and each refused connection. */
  onAnswer?(status: number): void;
}

export interface OriginalApiServer {
  server: http.Server;
  /** Pushes the vehicle telemetry of a change list to the sockets of those vehicles; frames sent. */
  telemetry(changes: readonly TwinChange[]): number;
  clients(): number;
  close(): Promise<void>;
}

const TELEMETRY_PATH = /^\/ws\/telemetry\/([^/]+)$/;

function pathAndQuery(url: string | undefined): { path: string; query: URLSearchParams } {
  const raw = url ?? '/';
  const i = raw.indexOf('?');
  const path = (i < 0 ? raw : raw.slice(0, i)).split('#', 1)[0] || '/';
  return { path, query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

/** The body as the original's FastAPI took it: JSON when the type says so (or none is given). */
function parseBody(buf: Buffer, contentType: string | undefined): { body: unknown; error?: PyError } {
  if (buf.length === 0) return { body: undefined };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const json = !type || /^application\/([\w.+-]+\+)?json$/.test(type);
  const text = buf.toString('utf8');
  if (!json) return { body: text };
  try {
    return { body: JSON.parse(text) };
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    return { body: undefined, error: jsonInvalid(m ? Number(m[1]) : 0) };
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(null);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(req: IncomingMessage, res: ServerResponse, r: Resp): void {
  const headers: Record<string, string> = {
    ...(r.cors === false ? {} : corsHeaders(req.headers)),
    ...r.headers,
  };
  let body: Buffer | null = null;
  if (Buffer.isBuffer(r.body)) body = r.body;
  else if (r.body !== undefined && r.status !== 204) {
    body = Buffer.from(serialize(r.body));
    headers['Content-Type'] ??= 'application/json';
  }
  if (body) headers['Content-Length'] = String(body.length);
  else if (r.status !== 204) headers['Content-Length'] = '0';
  res.writeHead(r.status, headers);
  res.end(req.method === 'HEAD' ? undefined : (body ?? undefined));
}

export function createOriginalApiServer(opts: OriginalApiServerOptions): OriginalApiServer {
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const maxClients = opts.maxClients ?? 1000;
  const sockets = new Map<string, Set<WebSocket>>();
  let clients = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  const admit = (req: IncomingMessage, query: URLSearchParams) =>
    decideAccess(req.socket.remoteAddress, req.headers, query.get('token'), opts.allow, opts.tokenHash);

  const server = http.createServer((req, res) => {
    void (async () => {
      const { path, query } = pathAndQuery(req.url);
      const method = (req.method ?? 'GET').toUpperCase();
      const access = admit(req, query);
      let r: Resp;
      if (!access.ok) {
        req.resume();
        r = detail(access.status, access.detail);
      } else if (isPreflight(method, req.headers)) {
        req.resume();
        r = preflight(req.headers);
      } else {
        const buf = await readBody(req, maxBody);
        if (buf === null) {
          r = detail(413, `Request body too large (at most ${maxBody} bytes)`);
          res.setHeader('Connection', 'close');
        } else {
          const parsed = parseBody(buf, req.headers['content-type']);
          r = await dispatch(
            {
              method,
              path,
              query,
              headers: req.headers,
              body: parsed.body,
              ...(parsed.error ? { bodyError: parsed.error } : {}),
              client: req.socket.remoteAddress ?? '?',
            },
            opts.deps,
          );
        }
      }
      send(req, res, r);
      opts.onAnswer?.(r.status);
    })().catch((err: Error) => {
      if (!res.headersSent) send(req, res, { status: 500, body: { detail: err.message }, cors: false });
      else res.destroy();
    });
  });

  const refuse = (socket: Duplex, status: number, text: string, reason: string) => {
    const body = serialize({ detail: text });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    opts.onAnswer?.(status);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const { path, query } = pathAndQuery(req.url);
    const access = admit(req, query);
    if (!access.ok)
      return refuse(
        socket,
        access.status,
        access.detail,
        access.status === 401 ? 'Unauthorized' : 'Forbidden',
      );
    const m = TELEMETRY_PATH.exec(path);
    let vehicleId: string | null;
    try {
      vehicleId = m ? decodeURIComponent(m[1]!) : null;
    } catch {
      vehicleId = null;
    }
    if (vehicleId === null) return refuse(socket, 404, 'Not Found', 'Not Found');
    if (clients >= maxClients)
      return refuse(socket, 503, 'Too many WebSocket clients', 'Service Unavailable');
    const id = vehicleId;
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients++;
      let set = sockets.get(id);
      if (!set) sockets.set(id, (set = new Set()));
      set.add(ws);
      ws.on('message', () => {}); // the original ignored what clients send
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        clients--;
        set.delete(ws);
        if (set.size === 0 && sockets.get(id) === set) sockets.delete(id);
      });
    });
  });

  return {
    server,
    telemetry(changes) {
      if (sockets.size === 0) return 0;
      let sent = 0;
      for (const c of changes) {
        if (c.type !== 'vehicle-telemetry') continue;
        const set = sockets.get(c.vehicleId);
        if (!set) continue;
        const frame = serialize(telemetryFrame(c));
        for (const ws of set) {
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(frame);
            sent++;
          }
        }
      }
      return sent;
    },
    clients: () => clients,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
