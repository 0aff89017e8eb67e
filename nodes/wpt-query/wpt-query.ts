// wpt-query: answers the read side of the REST API (and vehicle registration) from the
// fleet's twin and PostgreSQL. Input: a message from `http in` (msg.req); output:
// msg.payload (JSON) and msg.statusCode, ready for `http response`.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import { statusThrottle } from '../lib/red';
import type { FleetNode, PostgresNode, InfluxConfigNode } from '../lib/config-nodes';
import { OPS, runOp, type QueryDeps, type QueryOp } from './ops';

export = function register(RED: NodeAPI): void {
  function WptQueryNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const op = (OPS as readonly string[]).includes(String(def.op)) ? (def.op as QueryOp) : 'health';
    const get = <T>(id: unknown): T | null => (id ? (RED.nodes.getNode(String(id)) as T | null) : null);
    const deps: QueryDeps = {
      fleet: get<FleetNode>(def.fleet),
      broker: get<{ connected?: boolean }>(def.broker),
      postgres: get<PostgresNode>(def.postgres),
      influx: get<InfluxConfigNode>(def.influxdb),
    };
    let served = 0;
    let failed = 0;
    let last = 0;
    const status = statusThrottle(node, () => ({
      fill: last < 500 ? 'green' : 'red',
      shape: 'dot',
      text: RED._('wpt-query.status.counts', { op, served, failed, last }),
    }));

    node.on('input', async (msg: NodeMessage, send, done) => {
      const req = (msg.req ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown> };
      let statusCode: number;
      try {
        const r = await runOp(
          op,
          deps,
          { params: req.params ?? {}, query: req.query ?? {}, body: msg.payload },
          Date.now(),
        );
        msg.payload = r.payload;
        statusCode = r.statusCode;
      } catch (err) {
        // A failure of ours or of the database, never of the caller's input.
        const message = (err as Error).message;
        msg.payload = {
          error: 'unavailable',
          status: 503,
          message: RED._('wpt-query.errors.failed', { message }),
        };
        statusCode = 503;
        node.warn(RED._('wpt-query.errors.failed', { message }));
      }
      msg.statusCode = statusCode;
      msg.headers = {
        ...(msg.headers as object | undefined),
        'Content-Type': 'application/json; charset=utf-8',
      };
      if (statusCode < 500) served++;
      else failed++;
      last = statusCode;
      status.refresh();
      send(msg);
      done();
    });
    node.on('close', (_r: boolean, done: () => void) => {
      status.stop();
      done();
    });
  }
  RED.nodes.registerType('wpt-query', WptQueryNode);
};
