// The WPT-DLM launcher: starts what is not configured (embedded broker, embedded
// PostgreSQL), then Node-RED with settings.ts and the shipped flows, in one process.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { envValue } from './env';
import { resolveSecrets } from './secrets';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { buildSettings } from '../settings';
import { startSimulator } from '../sim/runner';
import { preferNoDelay } from './tcp-nodelay';
import { encryptCredentials, provisionMqttCredentials, splitMqttUrl } from './flow-credentials';

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

/** The package root: the folder that holds package.json (dist/runtime/app.js → ../..). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

/** Shipped flows: every JSON file of flows/, merged into one flow file. */
export function shippedFlows(root: string): unknown[] {
  const dir = path.join(root, 'flows');
  const all: unknown[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error(`flows/${f}: must be an array of nodes`);
    all.push(...parsed);
  }
  return all;
}

function banner(lines: string[]): string {
  const w = Math.max(...lines.map((l) => l.length));
  const bar = '*'.repeat(w + 4);
  return [bar, ...lines.map((l) => `* ${l.padEnd(w)} *`), bar].join('\n');
}

export async function startApp(opts: AppOptions = {}): Promise<RunningApp> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => console.log(l));
  preferNoDelay();
  const root = packageRoot();
  const userDir = path.resolve(envValue(env, 'WPT_USER_DIR') ?? path.join(root, '.node-red'));
  fs.mkdirSync(userDir, { recursive: true });

  const secrets = resolveSecrets(env, userDir);
  const started: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stopStarted = async () => {
    for (const s of started.splice(0).reverse()) {
      await s.stop().catch((e: unknown) => log(`[wpt] stopping ${s.name}: ${(e as Error).message}`));
    }
  };

  try {
    // MQTT
    let mqttUrl = envValue(env, 'MQTT_URL');
    if (!mqttUrl) {
      const port = Number(envValue(env, 'WPT_MQTT_PORT') ?? 1883);
      const host = envValue(env, 'WPT_MQTT_BIND') ?? '127.0.0.1';
      const broker: EmbeddedBroker = await startEmbeddedBroker({ port, host });
      started.push({ name: 'embedded broker', stop: () => broker.close() });
      mqttUrl = broker.url;
      log(`[wpt] embedded MQTT broker listening on ${host}:${broker.port}`);
    }
    // PostgreSQL
    let databaseUrl = envValue(env, 'DATABASE_URL');
    if (!databaseUrl) {
      const pg: EmbeddedPostgres = await startEmbeddedPostgres({
        dataDir: path.join(userDir, 'postgres'),
        password: secrets.embeddedPostgresPassword,
        database: 'wpt',
        log: (l) => {
          if (/FATAL|PANIC|ERROR|ready to accept/.test(l)) log(`[postgres] ${l}`);
        },
      });
      started.push({ name: 'embedded PostgreSQL', stop: () => pg.stop() });
      databaseUrl = pg.url;
      log(`[wpt] embedded PostgreSQL on 127.0.0.1:${pg.port}, data in ${path.join(userDir, 'postgres')}`);
    }
    const influx = envValue(env, 'INFLUX_URL') ?? null;
    if (!influx) log('[wpt] INFLUX_URL not set: time series (InfluxDB) off');

    // The flows read their connections from the environment (${MQTT_URL} …). User info in
    // MQTT_URL is moved into the broker node's credentials, so it is never logged.
    const mqttParts = splitMqttUrl(mqttUrl);
    const mqttUser = envValue(env, 'MQTT_USERNAME') ?? mqttParts.username;
    const mqttPassword = envValue(env, 'MQTT_PASSWORD') ?? mqttParts.password ?? '';
    mqttUrl = mqttParts.url;
    process.env.MQTT_URL = mqttUrl;
    process.env.DATABASE_URL = databaseUrl;
    process.env.INFLUX_URL = influx ?? '';
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
      fs.writeFileSync(credFile, JSON.stringify(encryptCredentials(secrets.credentialSecret, {})) + '\n', {
        mode: 0o600,
      });
    }
    if (mqttUser) {
      provisionMqttCredentials(userDir, flowFile, secrets.credentialSecret, mqttUser, mqttPassword);
    }

    const settings = buildSettings({ env, userDir, packageRoot: root, secrets });
    const RED = require('node-red') as {
      init(server: http.Server, settings: Record<string, unknown>): void;
      start(): Promise<void>;
      stop(): Promise<void>;
      httpAdmin: http.RequestListener &
        ((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void);
      httpNode: (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;
    };
    const notFound = (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(
        JSON.stringify({ error: 'not_found', status: 404, message: `no route for ${req.method} ${req.url}` }),
      );
    };
    // The REST API and the dashboard are `http in` / Dashboard routes: they go straight to
    // Node-RED's node app, without the editor's session and static-file middleware.
    const nodeFirst = /^\/(api|dashboard)(\/|\?|$)/;
    // What no route handled: 404, or the error of a route's middleware (an unparsable body
    // is the caller's fault: 400, as JSON like every API answer).
    const fallback = (req: http.IncomingMessage, res: http.ServerResponse) => (err?: unknown) => {
      if (!err) return notFound(req, res);
      const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
      const status = e.status ?? e.statusCode ?? 500;
      res.statusCode = status >= 400 && status < 600 ? status : 500;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      const message =
        e.type === 'entity.parse.failed'
          ? 'body: not valid JSON'
          : e.type === 'entity.too.large'
            ? 'body: too large'
            : res.statusCode < 500
              ? (e.message ?? 'bad request')
              : 'internal error';
      res.end(
        JSON.stringify({
          error: res.statusCode < 500 ? 'bad_request' : 'internal',
          status: res.statusCode,
          message,
        }),
      );
    };
    const server = http.createServer((req, res) => {
      if (nodeFirst.test(req.url ?? '')) RED.httpNode(req, res, fallback(req, res));
      else RED.httpAdmin(req, res, () => RED.httpNode(req, res, fallback(req, res)));
    });
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
    await RED.start();
    // Stopped in reverse order: Node-RED first, then the server, the database, the broker.
    started.push({ name: 'Node-RED', stop: () => RED.stop() });

    // Demo: a simulated fleet (3 hubs × 4 pads, 20 vehicles) on the same broker.
    if (envValue(env, 'WPT_DEMO') === '1') {
      const sim = await startSimulator({
        url: mqttUrl,
        ...(mqttUser ? { username: mqttUser, password: mqttPassword } : {}),
        hubs: 3,
        nodesPerHub: 4,
        vehicles: 20,
        seed: 1,
        log: (l: string) => log(`[sim] ${l}`),
      });
      started.push({ name: 'simulator', stop: () => sim.stop({ clearRetained: true }) });
      log('[wpt] demo: simulated fleet of 3 hubs × 4 nodes, 20 vehicles (WPT_DEMO=1)');
    }

    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const url = `http://${shownHost}:${port}`;
    const notes = [`WPT-DLM is running: editor ${url}/  API ${url}/api  dashboard ${url}/dashboard`];
    if (secrets.generated.adminPassword) {
      notes.push(`Editor login (shown once): ${secrets.adminUser} / ${secrets.generated.adminPassword}`);
    }
    if (secrets.generated.apiToken) notes.push(`API token (shown once): ${secrets.generated.apiToken}`);
    log(notes.length > 1 ? banner(notes) : notes[0]!);

    return {
      url,
      port,
      mqttUrl,
      databaseUrl,
      influx,
      stop: stopStarted,
    };
  } catch (err) {
    await stopStarted();
    throw err;
  }
}
