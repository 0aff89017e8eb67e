// wpt-influxdb: config node for the InfluxDB v2 write API (InfluxDB 2.x/3.x, 1.8+ compat).
// Owns ONE buffered InfluxWriter shared by every node that uses this configuration
// (bounded buffer, retries with backoff, oldest points dropped and counted beyond the
// bound; never blocks). Flushed and closed on redeploy and shutdown.
// An empty URL (the default `${INFLUX_URL}` with the variable unset) means "time series off".
import type { NodeAPI, Props } from '../lib/node-red';
import type { InfluxConfigNode } from '../lib/config-nodes';
import { fromEnvRef, num, registerNode } from '../lib/node-red';
import { InfluxWriter, type WriterState } from '../../adapters/influx';

export = function register(RED: NodeAPI): void {
  function WptInfluxdbNode(this: InfluxConfigNode, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.url = (fromEnvRef(String(def.url ?? '')) ?? '').trim().replace(/\/+$/, '');
    node.org = fromEnvRef(String(def.org ?? '')) ?? '';
    node.bucket = fromEnvRef(String(def.bucket ?? '')) ?? '';
    // A token typed in the editor is a credential; otherwise INFLUX_TOKEN from the environment.
    node.token = node.credentials?.token || process.env.INFLUX_TOKEN || '';
    node.enabled = node.url !== '';
    node.writer = null;
    const closeTimeoutMs = Math.max(0, num(def.closeTimeoutMs, 5000));

    if (!node.enabled) {
      node.log(RED._('wpt-influxdb.log.off'));
    } else {
      let previous: WriterState = 'ok';
      try {
        node.writer = new InfluxWriter({
          url: node.url,
          org: node.org,
          bucket: node.bucket,
          token: node.token,
          batchSize: num(def.batchSize, 5000),
          flushIntervalMs: num(def.flushIntervalMs, 1000),
          maxBufferPoints: num(def.maxBufferPoints, 100_000),
          timeoutMs: num(def.timeoutMs, 10_000),
          maxRetryDelayMs: num(def.maxRetryDelayMs, 30_000),
          onStatusChange: (state, stats) => {
            if (state === 'down' && previous !== 'down') {
              node.warn(
                RED._('wpt-influxdb.log.down', { error: stats.lastError ?? '', buffered: stats.buffered }),
              );
            } else if (state === 'ok' && previous !== 'ok') {
              node.log(RED._('wpt-influxdb.log.up', { dropped: stats.dropped }));
            }
            previous = state;
          },
        });
      } catch (err) {
        // e.g. a URL that is not one: nodes using this configuration report it as down
        node.error(RED._('wpt-influxdb.errors.config', { message: (err as Error).message }));
        node.writer = null;
      }
    }

    node.health = async (timeoutMs = 2000) => {
      if (!node.enabled) return { ok: true, off: true };
      if (!node.writer) return { ok: false, error: RED._('wpt-influxdb.errors.no-writer') };
      const r = await node.writer.ping(timeoutMs);
      const out: { ok: boolean; error?: string; latencyMs?: number } = { ok: r.ok, latencyMs: r.latencyMs };
      if (!r.ok) out.error = r.error ?? `HTTP ${r.status ?? '?'}`;
      return out;
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      const w = node.writer;
      if (!w) return done();
      w.close(closeTimeoutMs)
        .then((s) => {
          if (s.dropped > 0 || s.buffered > 0) {
            node.warn(RED._('wpt-influxdb.log.closed', { written: s.written, dropped: s.dropped }));
          }
        })
        .catch(() => undefined)
        .then(() => done());
    });
  }
  registerNode(RED, 'wpt-influxdb', WptInfluxdbNode, { credentials: { token: { type: 'password' } } });
};
