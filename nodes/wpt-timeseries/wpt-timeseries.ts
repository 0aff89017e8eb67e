// wpt-timeseries: time series from wires. Takes the twin's change lists (msg.payload:
// TwinChange[]) and our DLM commands (msg.dlm: DlmCommand) and hands their points
// (adapters/influx: node_telemetry, hub_status, node_status, vehicle_telemetry,
// dlm_allocation, hub_load) to the shared writer of its wpt-influxdb. Never decodes MQTT.
// Writing is synchronous into a bounded buffer: the flow is never blocked by InfluxDB.
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import type { FleetNode, InfluxConfigNode } from '../lib/config-nodes';
import { configNode, num } from '../lib/node-red';
import { compact, nodeStatus, type StatusSpec } from '../lib/status';
import { isTwinChangeList } from '../../core/twin';
import { TimeSeriesPoints, isDlmCommand, type InfluxWriterStats } from '../../adapters/influx';

export = function register(RED: NodeAPI): void {
  const t = (key: string, subs?: Record<string, string | number>): string =>
    RED._(`wpt-timeseries.${key}`, subs);

  /** The status of a writer: green while it writes, yellow retrying, red down. */
  function writerStatus(s: InfluxWriterStats): StatusSpec {
    const lost = compact(s.dropped);
    if (s.state === 'ok')
      return { fill: 'green', shape: 'dot', text: t('status.ok', { written: compact(s.written), lost }) };
    const text = t('status.queued', { buffered: compact(s.buffered), lost });
    return { fill: s.state === 'retrying' ? 'yellow' : 'red', shape: 'ring', text };
  }

  function WptTimeseriesNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const influx = configNode<InfluxConfigNode>(RED, def.influxdb);
    const fleet = configNode<FleetNode>(RED, def.fleet);

    if (!influx) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.no-config') });
      node.on('input', (_m, _s, done) => done(new Error(t('errors.no-config'))));
      return;
    }
    const writer = influx.enabled ? influx.writer : null;
    const series = new TimeSeriesPoints({
      hubLoadIntervalMs: Math.max(0, num(def.hubLoadIntervalMs, 1000)),
      capacityOf: (hubId) => fleet?.twin.hub(hubId)?.maxGridCapacityKw ?? null,
    });

    let last = '';
    const computeStatus = (): StatusSpec => {
      if (!influx.enabled) return { fill: 'grey', shape: 'ring', text: t('status.off') };
      if (!writer) return { fill: 'red', shape: 'ring', text: t('status.unusable') };
      return writerStatus(writer.stats());
    };
    const status = nodeStatus(node, computeStatus);
    const showStatus = (): void => {
      const st = computeStatus();
      const key = `${st.fill}|${st.shape}|${st.text}`;
      if (key !== last) {
        last = key;
        status.set(st);
      }
    };

    // Once a second: hub loads held back by their interval, and the status (the writer
    // makes progress, or fails, without any input arriving).
    const timer = setInterval(() => {
      try {
        if (writer) writer.write(series.due(Date.now()));
        showStatus();
      } catch (err) {
        node.error(err);
      }
    }, 1000);
    timer.unref?.();
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      try {
        if (isTwinChangeList(msg.payload)) {
          const { points, skipped } = series.fromChanges(msg.payload, Date.now());
          if (writer) writer.write(points);
          if (skipped > 0) return done(new Error(t('errors.skipped', { skipped })));
        } else if (isDlmCommand(msg.dlm)) {
          const p = series.fromCommand(msg.dlm);
          if (!p) return done(new Error(t('errors.command')));
          if (writer) writer.write(p);
        } else {
          return done(new Error(t('errors.input')));
        }
        done();
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      status.stop();
      series.clear();
      done();
    });
  }
  RED.nodes.registerType('wpt-timeseries', WptTimeseriesNode);
};
