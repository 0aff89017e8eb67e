// The WPT-DLM launcher: starts what is not configured (embedded broker, embedded PostgreSQL),
// then Node-RED with runtime/settings.ts and the shipped flows, in one process.
// Generated logins (editor, API token, the broker's first account) are stored and printed only
// once everything started: a start that fails leaves nothing nobody has seen.
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import path from 'node:path';
import type http from 'node:http';
import { envValue } from './env';
import { resolveSecrets } from './secrets';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { buildSettings } from './settings';
import { DEMO_TIMELINE, demoFleet } from '../sim/demo';
import { startSimulator } from '../sim/runner';
import { encryptCredentials, provisionMqttCredentials } from './flow-credentials';
import { packageRoot, shippedFlows, userDirOf } from './paths';
import { createLauncherServer, type NodeRedHttp } from './http-server';
import { setupMqtt } from './mqtt-setup';
import { clusterSetup } from './cluster';

export { packageRoot, shippedFlows };

export interface RunningApp {
  url: string;
  port: number;
  mqttUrl: string;
  databaseUrl: string;
  influx: string | null;
  stop(): Promise<void>;
}

export interface AppOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

function banner(lines: string[]): string {
  const w = Math.max(...lines.map((l) => l.length));
  const bar = '*'.repeat(w + 4);
  return [bar, ...lines.map((l) => `* ${l.padEnd(w)} *`), bar].join('\n');
}

/** `wpt-dlm-<host>-<8 hex of the user dir>`: stable for one installation, distinct between two. */
export function defaultClientId(userDir: string): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_-]/g, '')
      .slice(0, 20) || 'host';
  const h = crypto.createHash('sha256').update(path.resolve(userDir)).digest('hex').slice(0, 8);
  return `wpt-dlm-${host}-${h}`;
}

export async function startApp(opts: AppOptions = {}): Promise<RunningApp> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => console.log(l));
  const root = packageRoot();
  const userDir = userDirOf(env, root);
  if (!fs.existsSync(userDir)) {
    fs.mkdirSync(userDir, { recursive: true });
    fs.chmodSync(userDir, 0o711); // the embedded PostgreSQL may run as another user
  }

  // Cluster mode (WPT_CLUSTER=1): checked before anything starts; refuses the embedded broker
  // and the embedded PostgreSQL.
  const cluster = clusterSetup(env);
  if (cluster.enabled) log(cluster.note);
  const externalDatabase = envValue(env, 'DATABASE_URL');
  const dataDir = path.join(userDir, 'postgres');
  const secrets = resolveSecrets(env, userDir, externalDatabase ? {} : { embeddedDataDir: dataDir });
  const started: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stopStarted = async () => {
    for (const s of started.splice(0).reverse()) {
      await s.stop().catch((e: unknown) => log(`[wpt] stopping ${s.name}: ${(e as Error).message}`));
    }
  };

  try {
    const mqtt = await setupMqtt(env, userDir, log);
    if (mqtt.broker) started.push({ name: 'embedded broker', stop: () => mqtt.broker!.close() });
    let databaseUrl = externalDatabase;
    if (!databaseUrl) {
      const pg: EmbeddedPostgres = await startEmbeddedPostgres({
        dataDir,
        password: secrets.embeddedPostgresPassword,
        database: 'wpt',
        log: (l) => {
          if (/FATAL|PANIC|ERROR|\[error\]|ready to accept/.test(l)) log(`[postgres] ${l}`);
        },
      });
      started.push({ name: 'embedded PostgreSQL', stop: () => pg.stop() });
      databaseUrl = pg.url;
      log(`[wpt] embedded PostgreSQL on 127.0.0.1:${pg.port}, data in ${dataDir}`);
    }
    const influx = envValue(env, 'INFLUX_URL') ?? null;
    if (!influx) log('[wpt] INFLUX_URL not set: time series (InfluxDB) off');

    // Every file written from here on (flows, credentials, Node-RED's own) is the owner's only.
    process.umask(0o077);

    // The flows read their connections from the environment (${MQTT_URL} …). Broker
    // credentials go into the broker node's encrypted credentials, so they are never logged.
    process.env.MQTT_URL = mqtt.url;
    process.env.DATABASE_URL = databaseUrl;
    process.env.INFLUX_URL = influx ?? '';
    // The shipped flows' wpt-cluster node reads these (${WPT_CLUSTER} …); off: WPT_CLUSTER=0.
    Object.assign(process.env, cluster.flowEnv);
    // The broker session is persistent (requests sent while we are away wait for us): its client
    // id must be this installation's own, the same at every start and different from any other
    // orchestrator on the broker.
    process.env.WPT_MQTT_CLIENT_ID = envValue(env, 'WPT_MQTT_CLIENT_ID') ?? defaultClientId(userDir);
    for (const [k, d] of [
      ['INFLUX_ORG', 'wpt'],
      ['INFLUX_BUCKET', 'wpt'],
      ['INFLUX_TOKEN', ''],
    ] as const) {
      process.env[k] = envValue(env, k) ?? d;
    }

    // Flows: the shipped flows on first start (or when WPT_RESET_FLOWS=1); after that the
    // user's own (deployed from the editor) are kept.
    const flowFile = path.join(userDir, 'flows.json');
    if (!fs.existsSync(flowFile) || envValue(env, 'WPT_RESET_FLOWS') === '1') {
      fs.writeFileSync(flowFile, JSON.stringify(shippedFlows(root), null, 2) + '\n');
      log(`[wpt] shipped flows written to ${flowFile}`);
    }
    const credFile = path.join(userDir, 'flows_cred.json');
    if (!fs.existsSync(credFile)) {
      fs.writeFileSync(credFile, JSON.stringify(encryptCredentials(secrets.credentialSecret, {})) + '\n');
    }
    fs.chmodSync(credFile, 0o600);
    if (mqtt.orchestrator) {
      const { username, password } = mqtt.orchestrator;
      provisionMqttCredentials(userDir, flowFile, secrets.credentialSecret, username, password);
    }

    const settings = buildSettings({ env, userDir, packageRoot: root, secrets });
    const RED = require('node-red') as NodeRedHttp & {
      events: { once(event: string, listener: () => void): void };
      init(server: http.Server, settings: Record<string, unknown>): void;
      start(): Promise<void>;
      stop(): Promise<void>;
    };
    const launcher = createLauncherServer(RED, secrets.apiTokenHash);
    const server = launcher.server;
    RED.init(server, settings);
    const port = settings.uiPort as number;
    const host = settings.uiHost as string;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`HTTP port ${host}:${port} is already in use: set PORT`)
            : err,
        ),
      );
      server.listen(port, host, () => resolve());
    });
    started.push({
      name: 'HTTP server',
      stop: () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    });
    // RED.start() resolves before the flows run: /api goes to them once they do.
    RED.events.once('flows:started', () => launcher.ready());
    await RED.start();
    // Stopped in reverse order: Node-RED first, then the server, the database, the broker.
    started.push({ name: 'Node-RED', stop: () => RED.stop() });

    // Demo: the simulator's demo fleet on the same broker (sim/demo.ts says what happens when).
    if (envValue(env, 'WPT_DEMO') === '1') {
      const sim = await startSimulator({
        url: mqtt.url,
        ...(mqtt.demo ?? {}),
        ...demoFleet({ seed: 1 }),
        log: (l: string) => log(`[sim] ${l}`),
      });
      started.push({ name: 'simulator', stop: () => sim.stop({ clearRetained: true }) });
      log(`[wpt] demo (WPT_DEMO=1):\n${DEMO_TIMELINE}`);
    }

    // Everything runs: keep what this start generated, and show it once.
    secrets.commit();
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const url = `http://${shownHost}:${port}`;
    const notes = [`WPT-DLM is running: editor ${url}/  API ${url}/api  dashboard ${url}/dashboard`];
    if (secrets.generated.adminPassword) {
      notes.push(`Editor login (shown once): ${secrets.adminUser} / ${secrets.generated.adminPassword}`);
    }
    if (secrets.generated.apiToken) notes.push(`API token (shown once): ${secrets.generated.apiToken}`);
    notes.push(...mqtt.commit());
    if (notes.length > 1) notes.push('Lost them? npm run reset-login (editor password and API token)');
    log(notes.length > 1 ? banner(notes) : notes[0]!);

    return {
      url,
      port,
      mqttUrl: mqtt.url,
      databaseUrl,
      influx,
      stop: stopStarted,
    };
  } catch (err) {
    await stopStarted();
    throw err;
  }
}
