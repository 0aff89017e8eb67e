// wpt-query: answers the read side of the REST API from the fleet and its connections.
// Input: any message (typically from `http in`); output: msg.payload (JSON) and
// msg.statusCode, ready for `http response`.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import type { FleetNode, PostgresNode, InfluxConfigNode } from '../lib/config-nodes';
import { summariseHealth, type DependencyHealth } from '../../core/health';

type QueryOp = 'health' | 'ingest';
const OPS: readonly QueryOp[] = ['health', 'ingest'];

export = function register(RED: NodeAPI): void {
  function WptQueryNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const op = (OPS as readonly string[]).includes(String(def.op)) ? (def.op as QueryOp) : 'health';
    const get = <T>(id: unknown): T | null => (id ? (RED.nodes.getNode(String(id)) as T | null) : null);
    const fleet = get<FleetNode>(def.fleet);
    const broker = get<{ connected?: boolean }>(def.broker);
    const postgres = get<PostgresNode>(def.postgres);
    const influx = get<InfluxConfigNode>(def.influxdb);

    async function health(): Promise<{ payload: unknown; statusCode: number }> {
      const deps: Record<string, DependencyHealth> = {};
      deps.mqtt = broker
        ? { state: broker.connected ? 'ok' : 'down', required: true }
        : { state: 'off', required: true, error: 'no broker configured' };
      if (postgres) {
        const h = await postgres.health(2000);
        deps.postgres = {
          state: h.ok ? 'ok' : 'down',
          required: true,
          ...(h.error ? { error: h.error } : {}),
        };
        if (h.latencyMs !== undefined) deps.postgres.latencyMs = h.latencyMs;
      } else {
        deps.postgres = { state: 'off', required: true, error: 'no database configured' };
      }
      if (influx) {
        const h = await influx.health(2000);
        deps.influxdb = {
          state: h.off ? 'off' : h.ok ? 'ok' : 'down',
          required: false,
          ...(h.error ? { error: h.error } : {}),
        };
      } else {
        deps.influxdb = { state: 'off', required: false };
      }
      const report = summariseHealth(deps);
      return {
        statusCode: report.statusCode,
        payload: { status: report.status, time: new Date().toISOString(), dependencies: report.dependencies },
      };
    }

    function ingest(): { payload: unknown; statusCode: number } {
      if (!fleet)
        return { statusCode: 500, payload: { error: 'misconfigured', status: 500, message: 'no fleet' } };
      return { statusCode: 200, payload: fleet.counters.snapshot() };
    }

    node.on('input', async (msg: NodeMessage, send, done) => {
      try {
        const r = op === 'health' ? await health() : ingest();
        msg.payload = r.payload;
        msg.statusCode = r.statusCode;
        msg.headers = {
          ...(msg.headers as object | undefined),
          'Content-Type': 'application/json; charset=utf-8',
        };
        node.status({
          fill: r.statusCode < 400 ? 'green' : 'red',
          shape: 'dot',
          text: `${op}: ${r.statusCode}`,
        });
        send(msg);
        done();
      } catch (err) {
        msg.payload = { error: 'internal', status: 500, message: (err as Error).message };
        msg.statusCode = 500;
        send(msg);
        done(err as Error);
      }
    });
  }
  RED.nodes.registerType('wpt-query', WptQueryNode);
};
