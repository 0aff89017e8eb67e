// wpt-influxdb: config node for the InfluxDB v2 write API (InfluxDB 2.x/3.x, 1.8+ compat).
// An empty URL (the default `${INFLUX_URL}` with the variable unset) means "time series off".
import type { NodeAPI, NodeDef } from '../lib/red';
import type { InfluxConfigNode } from '../lib/config-nodes';
import { fromEnvRef } from '../lib/red';

export = function register(RED: NodeAPI): void {
  function WptInfluxdbNode(this: InfluxConfigNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    node.url = (fromEnvRef(String(def.url ?? '')) ?? '').replace(/\/+$/, '');
    node.org = fromEnvRef(String(def.org ?? '')) ?? '';
    node.bucket = fromEnvRef(String(def.bucket ?? '')) ?? '';
    // A token typed in the editor is a credential; otherwise INFLUX_TOKEN from the environment.
    node.token = node.credentials?.token || process.env.INFLUX_TOKEN || '';
    node.enabled = node.url !== '';
    node.health = async (timeoutMs = 2000) => {
      if (!node.enabled) return { ok: true, off: true };
      try {
        const r = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
        return r.ok ? { ok: true } : { ok: false, error: `HTTP ${r.status}` };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    };
  }
  RED.nodes.registerType('wpt-influxdb', WptInfluxdbNode, { credentials: { token: { type: 'password' } } });
};
