// wpt-timeseries: maps telemetry, status and DLM allocation messages to InfluxDB points
// (hub_status, node_status, node_telemetry, vehicle_telemetry, dlm_allocation) and twin
// changes to hub_load, and hands them to the shared writer of its wpt-influxdb. Writing is
// synchronous into a bounded buffer: the flow is never blocked or slowed by InfluxDB.
// Output 1 (optional): messages that could not be decoded, with msg.error.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage, NodeStatus } from '../lib/red';
import type { FleetNode, InfluxConfigNode } from '../lib/config-nodes';
import { num } from '../lib/red';
import type { InboundMessage } from '../../core/contract';
import { isTwinChangeList } from '../../core/twin';
import { inboundOf } from '../lib/messages';
import { HubLoadTracker, type HubLoadSample } from '../../core/timeseries';
import {
  dlmAllocationPoint,
  hubLoadPoint,
  hubStatusPoint,
  nodeStatusPoint,
  nodeTelemetryPoint,
  vehicleTelemetryPoint,
  type InfluxPoint,
} from '../../adapters/influx';

/** The point of a decoded message; undefined for kinds that are not time series (info, requests). */
function pointOf(m: InboundMessage): InfluxPoint | null | undefined {
  switch (m.kind) {
    case 'hubStatus':
      return hubStatusPoint({ hubId: m.hubId, ts: m.ts, data: m.data });
    case 'nodeStatus':
      return nodeStatusPoint({ hubId: m.hubId, nodeId: m.nodeId, ts: m.ts, data: m.data });
    case 'nodeTelemetry':
      return nodeTelemetryPoint({ hubId: m.hubId, nodeId: m.nodeId, ts: m.ts, data: m.data });
    case 'vehicleTelemetry':
      return vehicleTelemetryPoint({ vehicleId: m.vehicleId, ts: m.ts, data: m.data });
    case 'dlmEvent':
      return dlmAllocationPoint({ hubId: m.hubId, ts: m.ts, data: m.data });
    default:
      return undefined;
  }
}

function loadPoint(s: HubLoadSample): InfluxPoint | null {
  return hubLoadPoint({
    hubId: s.hubId,
    ts: s.ts,
    data: { load_kw: s.loadKw, capacity_kw: s.capacityKw, utilisation: s.utilisation },
  });
}

export = function register(RED: NodeAPI): void {
  function WptTimeseriesNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const influx = RED.nodes.getNode(String(def.influxdb ?? '')) as InfluxConfigNode | null;
    const fleet = def.fleet ? (RED.nodes.getNode(String(def.fleet)) as FleetNode | null) : null;

    if (!influx) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-timeseries.status.no-config') });
      node.on('input', (_m: NodeMessage, _s, done) =>
        done(new Error(RED._('wpt-timeseries.errors.no-config'))),
      );
      return;
    }
    const writer = influx.enabled ? influx.writer : null;
    const counts = { points: 0, invalid: 0, ignored: 0 };

    const capacityOf = (hubId: string): number | null => fleet?.twin.hub(hubId)?.maxGridCapacityKw ?? null;
    const hubLoad = new HubLoadTracker({ minIntervalMs: Math.max(0, num(def.hubLoadIntervalMs, 1000)) });

    let lastText = '';
    const showStatus = (): void => {
      let st: NodeStatus;
      if (!influx.enabled) {
        st = { fill: 'grey', shape: 'ring', text: RED._('wpt-timeseries.status.off') };
      } else if (!writer) {
        st = { fill: 'red', shape: 'ring', text: RED._('wpt-timeseries.status.unusable') };
      } else {
        const s = writer.stats();
        const subs = { written: s.written, buffered: s.buffered, dropped: s.dropped };
        if (s.state === 'ok') {
          st = { fill: 'green', shape: 'dot', text: RED._('wpt-timeseries.status.ok', subs) };
        } else if (s.state === 'retrying') {
          st = { fill: 'yellow', shape: 'ring', text: RED._('wpt-timeseries.status.retrying', subs) };
        } else {
          st = { fill: 'red', shape: 'ring', text: RED._('wpt-timeseries.status.down', subs) };
        }
      }
      if (counts.invalid > 0) st.text += RED._('wpt-timeseries.status.invalid', { invalid: counts.invalid });
      const key = `${st.fill}|${st.text}`;
      if (key !== lastText) {
        lastText = key;
        node.status(st);
      }
    };

    const write = (points: Array<InfluxPoint | null | undefined>): void => {
      if (!writer) return;
      counts.points += writer.write(points);
    };

    // Once a second: hub loads held back by the rate limit, and the status (the writer
    // makes progress, or fails, without any input arriving).
    const timer = setInterval(() => {
      try {
        if (writer) {
          const due = hubLoad.due(capacityOf, Date.now());
          if (due.length) write(due.map(loadPoint));
        }
        showStatus();
      } catch (err) {
        node.error(err);
      }
    }, 1000);
    timer.unref?.();
    showStatus();

    node.on('input', (msg: NodeMessage, send, done) => {
      try {
        const now = Date.now();
        if (isTwinChangeList(msg.payload)) {
          if (writer) {
            const samples = hubLoad.update(msg.payload, capacityOf, now);
            if (samples.length) write(samples.map(loadPoint));
          }
          return done();
        }
        const r = inboundOf(msg, now);
        if (!r.ok) {
          counts.invalid++;
          const message = r.errors.map((e) => e.message).join('; ');
          msg.error = { message, source: { id: node.id, type: node.type }, errors: r.errors };
          send(msg);
          return done();
        }
        const m = r.msg;
        const p = pointOf(m);
        if (p === undefined) counts.ignored++;
        else write([p]);
        done();
      } catch (err) {
        // never thrown out of the node: reported like any other node error
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      hubLoad.clear();
      done();
    });
  }
  RED.nodes.registerType('wpt-timeseries', WptTimeseriesNode);
};
