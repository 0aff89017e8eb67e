// wpt-original-api: the original system's API (ORIGINAL-API.md) on a listener of its own, for
// the original driver app and operator dashboard, unchanged. Off unless its port is set
// (`${WPT_COMPAT_PORT}`); loopback only unless an allow-list of client networks is set
// (`${WPT_COMPAT_ALLOW}`), optionally a token (`WPT_COMPAT_TOKEN`) for clients that can send one.
// Reads come from the fleet's twin and PostgreSQL. Writes leave on output 1 as operator
// commands (msg.command, actor `original-api`) for a `link call` to wpt-twin, whose answer comes
// back on the input; charge requests leave on output 2 for `mqtt out` (QoS 1). The input also
// takes the twin's change lists: each vehicle telemetry goes to the WebSocket clients of that
// vehicle.
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode, fromEnvRef, num, str } from '../lib/node-red';
import { nodeStatus, compact } from '../lib/status';
import type { FleetNode, PostgresNode } from '../lib/config-nodes';
import { tokenHashOf } from '../lib/api';
import {
  parseAllowList,
  type AllowList,
  type CommandAnswer,
  type OriginalApiDeps,
} from '../lib/original-api';
import { DEFAULT_DLM_CONFIG, type Policy } from '../../core/dlm';
import { isTwinChangeList, type TwinChange } from '../../core/twin';
import { originalApiStore } from '../../adapters/postgres';
import { createOriginalApiServer, type OriginalApiServer } from './server';

/** The actor of the original API's operator commands in the audit log. */
const ACTOR = 'original-api';
/** Vehicles whose creation time is remembered (the oldest are forgotten first). */
const MAX_CREATED = 100_000;
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export = function register(RED: NodeAPI): void {
  function WptOriginalApiNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const ns = 'wpt-original-api';
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const pg = configNode<PostgresNode>(RED, def.postgres);
    const portText = (fromEnvRef(str(def.port)) ?? '').trim();
    const status = nodeStatus(node, () => null);

    let allow: AllowList;
    try {
      allow = parseAllowList(fromEnvRef(str(def.allow)));
    } catch (err) {
      node.error(RED._(`${ns}.errors.allow`, { message: (err as Error).message }));
      status.set({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.bad-allow`) });
      return;
    }
    const credential = (node.credentials as { token?: string } | undefined)?.token;
    const tokenHash = tokenHashOf(credential) ?? tokenHashOf(process.env.WPT_COMPAT_TOKEN);
    if ((credential || process.env.WPT_COMPAT_TOKEN) && !tokenHash)
      node.warn(RED._(`${ns}.errors.short-token`));

    if (!portText) {
      node.log(RED._(`${ns}.log.off`));
      status.set({ fill: 'grey', shape: 'ring', text: RED._(`${ns}.status.off`) });
      node.on('input', (_m, _s, done) => done());
      return;
    }
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
      node.error(RED._(`${ns}.errors.port`, { port: portText }));
      status.set({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.bad-port`) });
      return;
    }
    if (!fleet) {
      node.error(RED._(`${ns}.errors.no-fleet`));
      status.set({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.no-fleet`) });
      return;
    }
    const host = allow.configured || tokenHash ? '0.0.0.0' : '127.0.0.1';
    const publicUrl = (fromEnvRef(str(def.publicUrl)) ?? '').trim().replace(/\/+$/, '');
    const timeoutMs = Math.max(1000, num(def.timeoutS, 15) * 1000);

    // Operator commands waiting for wpt-twin's answer (through the link call, on the input).
    const pending = new Map<string, { resolve(a: CommandAnswer): void; timer: NodeJS.Timeout }>();
    let seq = 0;
    let closed = false;
    // When vehicles were created, as the twin's changes said (their registered_at).
    const created = new Map<string, number>();
    const remember = (vehicleId: string, ms: number) => {
      if (created.has(vehicleId)) return;
      created.set(vehicleId, ms);
      if (created.size > MAX_CREATED) created.delete(created.keys().next().value as string);
    };
    let answered = 0;
    let refused = 0;
    let running: OriginalApiServer | null = null;

    const deps: OriginalApiDeps = {
      get twin() {
        return fleet.twin; // replaced once restored from PostgreSQL
      },
      store: pg?.pool ? originalApiStore(pg.pool) : null,
      dbHealthy: async () => (pg ? (await pg.health(2000)).ok : false),
      command(cmd) {
        return new Promise((resolve) => {
          if (closed) return resolve({ statusCode: 503, payload: { message: 'the listener is closing' } });
          const id = `${node.id}:${++seq}`;
          const timer = setTimeout(() => {
            pending.delete(id);
            resolve({
              statusCode: 500,
              payload: { message: RED._(`${ns}.errors.timeout`, { s: timeoutMs / 1000 }) },
            });
          }, timeoutMs);
          pending.set(id, { resolve, timer });
          node.send([{ topic: 'original-api/command', command: cmd, actor: ACTOR, _compat: id }, null]);
        });
      },
      publish(topic, payload) {
        node.send([null, { topic, payload, qos: 1, retain: false }]);
      },
      createdAt: (id) => created.get(id),
      dlm: {
        policy: (def.policy === 'equal' ? 'equal' : DEFAULT_DLM_CONFIG.policy) as Policy,
        reserve: Math.min(0.5, Math.max(0, num(def.reserve, DEFAULT_DLM_CONFIG.reserve))),
        criticalSoc: fleet.twin.config.criticalSoc,
        minChangeKw: DEFAULT_DLM_CONFIG.minChangeKw,
      },
      baseUrl(headers) {
        if (publicUrl) return publicUrl;
        const h = typeof headers.host === 'string' ? headers.host : '';
        return HOST_HEADER.test(h) ? `http://${h}` : `http://127.0.0.1:${port}`;
      },
      now: () => Date.now(),
    };

    const live = nodeStatus(node, () =>
      running
        ? {
            fill: 'green',
            shape: 'dot',
            text: RED._(`${ns}.status.listening`, {
              port,
              answered: compact(answered),
              refused: refused ? ` · ✗ ${compact(refused)}` : '',
              ws: running.clients(),
            }),
          }
        : null,
    );

    // Listen once the twin is restored and the schema is current.
    void Promise.allSettled([fleet.ready, pg?.ready]).then(() => {
      if (closed) return;
      const s = createOriginalApiServer({
        deps,
        allow,
        tokenHash,
        maxClients: num(def.maxClients, 1000),
        onAnswer(code) {
          if (code === 401 || code === 403) refused++;
          else answered++;
          live.refresh();
        },
      });
      s.server.once('error', (err: NodeJS.ErrnoException) => {
        node.error(RED._(`${ns}.errors.listen`, { host, port, message: err.message }));
        status.set({ fill: 'red', shape: 'ring', text: RED._(`${ns}.status.listen-failed`, { port }) });
      });
      s.server.listen(port, host, () => {
        if (closed) return void s.close();
        running = s;
        node.log(
          RED._(`${ns}.log.listening`, {
            url: `http://${host}:${port}`,
            clients: allow.text,
            token: tokenHash ? RED._(`${ns}.log.token`) : '',
          }),
        );
        live.refresh();
      });
    });

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      const id = (msg as { _compat?: unknown })._compat;
      if (typeof id === 'string') {
        const p = pending.get(id);
        if (p) {
          pending.delete(id);
          clearTimeout(p.timer);
          const answer = {
            statusCode: typeof msg.statusCode === 'number' ? msg.statusCode : 500,
            payload: msg.payload,
          };
          // A vehicle this command created: created now (the change list saying so may come
          // after the answer).
          const cmd = msg.command as { op?: unknown; vehicle_id?: unknown } | undefined;
          if (answer.statusCode === 201 && cmd?.op === 'vehicle-upsert' && typeof cmd.vehicle_id === 'string')
            remember(cmd.vehicle_id, Date.now());
          p.resolve(answer);
        }
        return done(); // an answer after its timeout is dropped
      }
      if (!isTwinChangeList(msg.payload)) return done(new Error(RED._(`${ns}.errors.input`)));
      const changes = msg.payload as TwinChange[];
      for (const c of changes) {
        if (c.type === 'vehicle-upserted' && c.created) remember(c.vehicleId, c.ts);
        else if (c.type === 'vehicle-deleted') created.delete(c.vehicleId);
      }
      running?.telemetry(changes);
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      status.stop();
      live.stop();
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.resolve({ statusCode: 503, payload: { message: 'the listener is closing' } });
        pending.delete(id);
      }
      const s = running;
      running = null;
      if (!s) return done();
      void s.close().then(() => done());
    });
  }
  RED.nodes.registerType('wpt-original-api', WptOriginalApiNode, {
    credentials: { token: { type: 'password' } },
  });
};
