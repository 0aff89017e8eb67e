// Real services for tests. Uses MQTT_URL / DATABASE_URL / INFLUX_URL when set; otherwise
// starts an embedded broker (aedes), an embedded PostgreSQL and, when Debian's
// victoria-metrics binary is installed, a VictoriaMetrics server for the Influx write API.
// Everything started here is stopped once after all tests (test/helpers/mocha-hooks.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Client } from 'pg';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../runtime/embedded-broker';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../runtime/embedded-postgres';
import { freePort } from '../../runtime/free-port';
import { VICTORIA_METRICS_BIN, startVictoriaMetrics, type VictoriaMetrics } from './victoria';

let broker: Promise<EmbeddedBroker> | undefined;
let postgres: Promise<EmbeddedPostgres> | undefined;
let influx: Promise<VictoriaMetrics | null> | undefined;
const createdDbs: string[] = [];
let tmpRoot: string | undefined;

function tmp(): string {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-test-'));
    fs.chmodSync(tmpRoot, 0o711); // the embedded PostgreSQL may run as another user
  }
  return tmpRoot;
}

/** URL of an MQTT broker: MQTT_URL, or an embedded aedes on a free loopback port. */
export async function mqttUrl(): Promise<string> {
  if (process.env.MQTT_URL) return process.env.MQTT_URL;
  broker ??= freePort().then((port) => startEmbeddedBroker({ port, host: '127.0.0.1' }));
  return (await broker).url;
}

/** URL of the PostgreSQL server (not a test database): DATABASE_URL, or an embedded one. */
export async function postgresServerUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  postgres ??= startEmbeddedPostgres({
    dataDir: path.join(tmp(), 'pg'),
    password: crypto.randomBytes(12).toString('hex'),
    database: 'postgres',
  });
  return (await postgres).url;
}

/** Creates a fresh, empty database for one test file and returns its URL. Dropped after all tests. */
export async function createTestDatabase(prefix = 'wpt_test'): Promise<string> {
  const serverUrl = await postgresServerUrl();
  const name = `${prefix}_${crypto.randomBytes(5).toString('hex')}`.toLowerCase();
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  createdDbs.push(name);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Base URL of a server that implements the InfluxDB v2 write API (`/api/v2/write`):
 * INFLUX_URL, or a VictoriaMetrics started here when /usr/bin/victoria-metrics exists.
 * Returns null (with the reason printed) when neither is available: callers skip.
 */
export async function influxUrl(): Promise<string | null> {
  if (process.env.INFLUX_URL) return process.env.INFLUX_URL;
  influx ??= (async () => {
    const bin = VICTORIA_METRICS_BIN;
    if (!fs.existsSync(bin)) {
      console.log(
        `      (no INFLUX_URL and no ${bin}: Influx write API tests skipped; apt-get install victoria-metrics)`,
      );
      return null;
    }
    return startVictoriaMetrics(path.join(tmp(), 'vm'));
  })();
  const v = await influx;
  return v ? v.url : null;
}

export async function stopServices(): Promise<void> {
  if (createdDbs.length && (process.env.DATABASE_URL || postgres)) {
    try {
      const admin = new Client({ connectionString: await postgresServerUrl() });
      await admin.connect();
      for (const db of createdDbs.splice(0)) {
        await admin
          .query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(db)} WITH (FORCE)`)
          .catch(() => {});
      }
      await admin.end();
    } catch {
      /* best effort */
    }
  }
  if (broker) await (await broker).close();
  broker = undefined;
  if (postgres) await (await postgres).stop();
  postgres = undefined;
  if (influx) {
    const v = await influx.catch(() => null);
    if (v) await v.stop();
  }
  influx = undefined;
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = undefined;
}
