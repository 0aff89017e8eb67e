// wpt-feed: the live feed of the fleet on a WebSocket of its own (default /api/ws). A client
// connects with the API token (`?token=…`, or `Authorization: Bearer …`), checked by this node
// whatever the Node-RED settings; it gets a snapshot of the hubs and vehicles at once, then every
// change of the twin (the change lists of wpt-twin on this node's input), snake_case like the
// REST API. A client narrows the feed by sending {"hub_id": …} and/or {"vehicle_id": …} ({} for
// everything again). The node has no output: what it serves is on its socket.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode, num, str } from '../lib/node-red';
import { nodeStatus } from '../lib/status';
import type { ApiConfigNode, FleetNode } from '../lib/config-nodes';
import { FeedSubscriptions, hubJson, parseFeedFilter, toPeopleJson, vehicleJson } from '../lib/api';
import { isTwinChangeList } from '../../core/twin';
import { requestPath } from '../lib/api';

export = function register(RED: NodeAPI): void {
  function WptFeedNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const api = configNode<ApiConfigNode>(RED, def.api);
    const root = (RED.settings as unknown as { httpNodeRoot?: string }).httpNodeRoot ?? '/';
    const path = requestPath(`${root}/${str(def.path) || '/api/ws'}`);
    const subs = new FeedSubscriptions<WebSocket>(num(def.maxClients, 1000));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
    const status = nodeStatus(node, () => ({
      fill: api?.tokenHash ? 'green' : 'red',
      shape: api?.tokenHash ? 'dot' : 'ring',
      text: api?.tokenHash
        ? RED._('wpt-feed.status.clients', { n: subs.size })
        : RED._('wpt-feed.status.closed'),
    }));
    status.refresh();

    const sendJson = (ws: WebSocket, body: unknown) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(body));
    };
    const snapshot = () => {
      const t = fleet?.twin;
      if (!t) return { type: 'snapshot', hubs: [], vehicles: [] };
      return {
        type: 'snapshot',
        timestamp: new Date().toISOString(),
        hubs: t.hubs().map((h) => hubJson(t, h)),
        vehicles: t.vehicles().map((v) => vehicleJson(t, v)),
      };
    };
    let nextId = 0;
    wss.on('connection', (ws: WebSocket) => {
      const id = String(++nextId);
      subs.set(id, {}, ws);
      sendJson(ws, snapshot());
      ws.on('message', (data) => {
        const f = parseFeedFilter(data.toString());
        if (!f.ok) return sendJson(ws, { type: 'error', error: 'bad_request', message: f.error });
        subs.set(id, f.value, ws);
        sendJson(ws, {
          type: 'subscribed',
          hub_id: f.value.hubId ?? null,
          vehicle_id: f.value.vehicleId ?? null,
        });
      });
      ws.on('close', () => {
        subs.remove(id);
        status.refresh();
      });
      ws.on('error', () => ws.terminate());
      status.refresh();
    });

    const refuse = (socket: Duplex, code: number, message: string) => {
      const body = JSON.stringify({
        error: code === 401 ? 'unauthorized' : 'unavailable',
        status: code,
        message,
      });
      socket.end(
        `HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : 'Service Unavailable'}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          (code === 401 ? 'WWW-Authenticate: Bearer realm="wpt-dlm"\r\n' : '') +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (requestPath(req.url).toLowerCase() !== path.toLowerCase()) return; // another endpoint's
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      const headers =
        token && !req.headers.authorization ? { ...req.headers, 'x-api-key': token } : req.headers;
      const a = api
        ? api.authorize(headers)
        : ({ ok: false, statusCode: 503, message: RED._('wpt-feed.errors.no-api') } as const);
      if (!a.ok) return refuse(socket, a.statusCode, a.message);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    };
    const server = (RED as unknown as { server?: import('node:http').Server }).server;
    server?.on('upgrade', onUpgrade);

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      if (!isTwinChangeList(msg.payload)) return done(new Error(RED._('wpt-feed.errors.input')));
      if (subs.size === 0) return done();
      for (const r of subs.route(msg.payload)) {
        sendJson(r.handle, { type: 'changes', changes: toPeopleJson(r.changes) });
      }
      done();
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      server?.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => done());
    });
  }
  RED.nodes.registerType('wpt-feed', WptFeedNode);
};
