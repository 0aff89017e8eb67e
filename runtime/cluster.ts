// Cluster mode at start (issue #14, docs/scaling.md): WPT_CLUSTER=1 with WPT_INSTANCE_ID and
// the lease timing, checked before anything starts. Cluster mode needs what the instances
// share: an external MQTT 5 broker (the embedded one is refused) and an external PostgreSQL
// (the embedded one is refused). Off (the default): nothing else is read.
import { CLUSTER_BROKER_NOTE, checkClusterTiming, clusterModeFromEnv } from '../core/cluster';
import { envValue } from './env';

export type ClusterSetup =
  | { enabled: false; flowEnv: Record<string, string> }
  | { enabled: true; instanceId: string; note: string; flowEnv: Record<string, string> };

const TIMING = [
  ['renewMs', 'WPT_CLUSTER_RENEW_MS'],
  ['leaseMs', 'WPT_CLUSTER_LEASE_MS'],
  ['marginMs', 'WPT_CLUSTER_MARGIN_MS'],
  ['publishLatencyMs', 'WPT_CLUSTER_PUBLISH_LATENCY_MS'],
] as const;

/** Throws one clear line when cluster mode is asked for but cannot run. */
export function clusterSetup(env: NodeJS.ProcessEnv): ClusterSetup {
  const off: Record<string, string> = { WPT_CLUSTER: '0', WPT_INSTANCE_ID: '' };
  for (const [, name] of TIMING) off[name] = '';
  const mode = clusterModeFromEnv(env);
  if (!mode.ok) throw new Error(mode.errors.join('; '));
  if (!mode.value.enabled) return { enabled: false, flowEnv: off };
  if (!envValue(env, 'MQTT_URL'))
    throw new Error(
      `WPT_CLUSTER=1: MQTT_URL is required (the embedded broker is refused): ${CLUSTER_BROKER_NOTE}`,
    );
  if (!envValue(env, 'DATABASE_URL'))
    throw new Error(
      'WPT_CLUSTER=1: DATABASE_URL is required (the instances share one PostgreSQL; the embedded PostgreSQL is refused)',
    );
  const partial: Record<string, number> = {};
  const flowEnv: Record<string, string> = { WPT_CLUSTER: '1', WPT_INSTANCE_ID: mode.value.instanceId };
  for (const [key, name] of TIMING) {
    const v = envValue(env, name);
    flowEnv[name] = v ?? '';
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v))
      throw new Error(`${name}: an integer number of milliseconds is required (got "${v.slice(0, 20)}")`);
    partial[key] = n;
  }
  const timing = checkClusterTiming(partial);
  if (!timing.ok) throw new Error(`cluster timing (WPT_CLUSTER_*_MS): ${timing.errors.join('; ')}`);
  const t = timing.value;
  return {
    enabled: true,
    instanceId: mode.value.instanceId,
    note: `[wpt] cluster mode: instance ${mode.value.instanceId} (renew ${t.renewMs} ms, lease ${t.leaseMs} ms, margin ${t.marginMs} ms, publish latency ${t.publishLatencyMs} ms); ${CLUSTER_BROKER_NOTE}`,
    flowEnv,
  };
}
