// wpt-timeseries + wpt-influxdb under node-red-node-test-helper: the nodes (with their
// message catalogs), a flow, and what the tests look at (statuses, errors, the writer).
import net from 'node:net';
import { nr, type TestNode } from './node-red';
import type { FleetNode, InfluxConfigNode } from '../../nodes/lib/config-nodes';
import type { NodeTelemetryChange } from '../../adapters/influx';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const influxNode = require('../../nodes/wpt-influxdb/wpt-influxdb');
const timeseriesModule = require('../../nodes/wpt-timeseries/wpt-timeseries');
const catalog = {
  ...require('../../nodes/wpt-timeseries/locales/en-US/wpt-timeseries.json'),
  ...require('../../nodes/wpt-influxdb/locales/en-US/wpt-influxdb.json'),
};
/** RED._ over our message catalogs (the test helper's RED._ returns the key). */
function translate(key: string, subs?: Record<string, unknown>): string {
  const v = key
    .split('.')
    .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalog);
  return typeof v === 'string' ? v.replace(/__(\w+?)__/g, (_m, k: string) => String(subs?.[k] ?? '')) : key;
}
const timeseriesNode = (RED: { _: unknown }) => {
  RED._ = translate;
  return timeseriesModule(RED);
};
export const NODES = [fleetNode, influxNode, timeseriesNode];

/** A server that accepts connections and never answers (InfluxDB hanging). */
export async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

export function flow(url: string, extra: Record<string, unknown> = {}, hubLoadIntervalMs = 1000): unknown[] {
  return [
    { id: 'f1', type: 'wpt-fleet', name: 'fleet' },
    { id: 'i1', type: 'wpt-influxdb', url, org: 'wpt', bucket: 'wpt', ...extra },
    { id: 'ts', type: 'wpt-timeseries', influxdb: 'i1', fleet: 'f1', hubLoadIntervalMs },
  ];
}
/** Hub load at most once an hour: only a hub's first list makes a hub_load point. */
export const HOURLY = 3_600_000;
export const influxOf = () => nr.getNode('i1') as unknown as InfluxConfigNode;
export const fleetOf = () => nr.getNode('f1') as unknown as FleetNode;

/** Every status the node showed so far (the test helper spies on Node.prototype.status). */
export function statusesOf(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const spy = nr.getNode(id).status as unknown as {
    getCalls(): Array<{ thisValue: { id?: string }; args: unknown[] }>;
  };
  return spy
    .getCalls()
    .filter((c) => c.thisValue?.id === id)
    .map((c) => c.args[0] as { fill?: string; shape?: string; text?: string });
}
/** Errors the node reported through done(err). */
export function errorsOf(node: TestNode): string[] {
  const errs: string[] = [];
  node.on('call:error', (call) => errs.push(String((call.args[0] as Error)?.message ?? call.args[0])));
  return errs;
}

/** A node telemetry change as the twin emits it. */
export function tel(hubId: string, nodeId: string, i: number, ts: number): NodeTelemetryChange {
  return {
    type: 'node-telemetry',
    ts,
    hubId,
    nodeId,
    powerKw: i / 4,
    powerLimitKw: 50,
    voltage: i,
    current: 10,
    isOccupied: true,
    vehicleId: 'v1',
    soc: 50,
  };
}
