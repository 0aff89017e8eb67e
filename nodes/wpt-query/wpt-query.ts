// wpt-query: the read side of the REST API and the dashboard's data, from the fleet's twin and
// PostgreSQL. Input: a message from `http in` (msg.req; its token is checked first) or, for the
// dashboard operations, any message (an inject). Output: msg.payload (JSON) and msg.statusCode,
// ready for `http response`.
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode } from '../lib/node-red';
import { nodeStatus, compact } from '../lib/status';
import { apiGuard, respond } from '../lib/api-guard';
import type { FleetNode, PostgresNode, InfluxConfigNode } from '../lib/config-nodes';
import { OPS, runOp, type QueryDeps, type QueryOp } from './ops';
import { baseUrlOf } from '../lib/api';
import { DlmAlarmBook } from './dashboard-control';

export = function register(RED: NodeAPI): void {
  function WptQueryNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const op = (OPS as readonly string[]).includes(String(def.op)) ? (def.op as QueryOp) : 'health';
    const deps: QueryDeps = {
      fleet: configNode<FleetNode>(RED, def.fleet),
      broker: configNode<{ connected?: boolean }>(RED, def.broker),
      postgres: configNode<PostgresNode>(RED, def.postgres),
      influx: configNode<InfluxConfigNode>(RED, def.influxdb),
      ...(op === 'dashboard-alarms' ? { alarms: new DlmAlarmBook() } : {}),
    };
    // /api/health is the one public route.
    const guard = apiGuard(RED, def, { isPublic: op === 'health' });
    let served = 0;
    let last = 0;
    const status = nodeStatus(node, () => ({
      fill: last < 500 ? 'green' : 'red',
      shape: 'dot',
      text: RED._('wpt-query.status.counts', { op, served: compact(served), last: last || '–' }),
    }));

    node.on('input', async (msg: NodeMessageInFlow, send, done) => {
      // dashboard-alarms: the allocator's alarms (output 2) are kept, not answered.
      if (deps.alarms && typeof msg.topic === 'string' && msg.topic.startsWith('wpt/alarms/')) {
        deps.alarms.apply(msg.payload);
        return done();
      }
      const refused = guard.check(msg);
      if (refused) {
        last = refused.response.statusCode;
        status.refresh();
        send(respond(msg, refused.response, refused.headers));
        return done();
      }
      const req = (msg.req ?? {}) as {
        params?: Record<string, unknown>;
        query?: Record<string, unknown>;
        protocol?: unknown;
        headers?: Record<string, unknown>;
      };
      try {
        const r = await runOp(
          op,
          deps,
          { params: req.params ?? {}, query: req.query ?? {}, body: msg.payload, baseUrl: baseUrlOf(req) },
          Date.now(),
        );
        respond(msg, r, r.headers);
      } catch (err) {
        // A failure of ours or of the database, never of the caller's input.
        const message = RED._('wpt-query.errors.failed', { message: (err as Error).message });
        respond(msg, { statusCode: 503, payload: { error: 'unavailable', status: 503, message } });
        node.warn(message);
      }
      last = msg.statusCode as number;
      if (last < 500) served++;
      status.refresh();
      send(msg);
      done();
    });
    node.on('close', () => status.stop());
  }
  RED.nodes.registerType('wpt-query', WptQueryNode);
};
