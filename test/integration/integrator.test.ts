// The package as an integrator gets it: `npm pack`, installed into stock Node-RED user dirs
// (Node-RED 4.1 on Node.js 20 and Node-RED 5.0 on Node.js 22, both from npm) the way the palette
// manager installs it, Node-RED started with its default settings. Each example imports and
// deploys alone into an empty Node-RED, then all together; against a real broker and PostgreSQL
// a hub is driven through the contract: a DLM event comes back, the rows are in PostgreSQL, the
// REST API refuses requests without the token, and Node-RED logs no error. What the tarball
// holds and declares: test/integration/package.test.ts.
// Node-RED installs are cached (test/helpers/stock-node-red.ts, CACHE_DIR). Outside CI the test
// skips, saying why, when a Node.js or Node-RED cannot be had; with CI=true it fails instead.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import WebSocket from 'ws';
import mqtt from 'mqtt';

/** The MQTT client id the examples carry (scripts/copy-assets.js puts it in). */
const EXAMPLE_CLIENT_ID = 'wpt-dlm-orchestrator';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { startContractHub, type ContractHub } from '../helpers/contract-hub';
import { DASHBOARD, EXAMPLE_NAMES, PKG, STOCK, type PackageJson } from '../helpers/package-info';
import {
  deployAndSettle,
  examplesOf,
  findNode,
  installNodeRed,
  packPackage,
  problems,
  redStatuses,
  startStockNodeRed,
  userDirWith,
  type StockNodeRed,
} from '../helpers/stock-node-red';
import { poll, sleep, until } from '../helpers/wait';

/** Skips (saying why) outside CI; fails in CI, where this test must run. */
function skipOrFail(ctx: Mocha.Context, reason: string): never {
  if (process.env.CI) throw new Error(`${reason} — CI must run the integrator test`);
  console.log(`      (${reason}: integrator test skipped)`);
  ctx.skip();
}

type Node = { id: string; type: string; z?: string; [k: string]: unknown };

describe('integrator: the packed package in stock Node-RED', function () {
  this.timeout(600000);
  let workDir = '';
  let tarball = '';
  const durations: Array<[string, number]> = [];
  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      durations.push([name, Date.now() - t0]);
    }
  }

  before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-integrator-'));
    tarball = await step('npm pack', () => packPackage(workDir));
  });
  after(() => {
    if (durations.length) {
      const total = durations.reduce((s, [, ms]) => s + ms, 0);
      console.log('      integrator test, durations:');
      for (const [name, ms] of durations)
        console.log(`        ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}`);
      console.log(`        ${(total / 1000).toFixed(1).padStart(6)} s  in all`);
    }
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  for (const stock of STOCK) {
    describe(`Node-RED ${stock.nodeRed} on Node.js ${stock.node}`, function () {
      const label = `Node-RED ${stock.nodeRed} / Node.js ${stock.node}`;
      const token = `integrator-${crypto.randomBytes(12).toString('hex')}`;
      const hub = `int_${stock.node}_${crypto.randomBytes(4).toString('hex')}`;
      let nodeBin = '';
      let nodeVersionText = '';
      let userDir = '';
      let databaseUrl = '';
      let brokerUrl = '';
      let nr: StockNodeRed | undefined;
      let examples = new Map<string, unknown[]>();
      let hubClient: ContractHub | undefined;

      async function checkDeployed(name: string, nodes: Node[]): Promise<void> {
        // The examples' broker node keeps a persistent session (fixed client id, clean: false)
        // on a broker other tests share: stop the flows, then discard that session, so what
        // other tests published meanwhile is not delivered to this deploy.
        await deployAndSettle(nr!, []);
        const drop = await mqtt.connectAsync(brokerUrl, { clientId: EXAMPLE_CLIENT_ID, clean: true });
        await drop.endAsync();
        const seg = await step(`${label}: deploy ${name}`, () => deployAndSettle(nr!, nodes));
        assert.deepEqual(problems(seg), [], `${name}: the log of its deploy\n${seg}`);
        assert.match(seg, /Started flows/);
        // Every node of the import is in the running flows, every type registered.
        const running = (await (await fetch(`${nr!.url}/flows`)).json()) as Node[];
        assert.deepEqual(
          running.map((n) => n.id).sort(),
          nodes.map((n) => n.id).sort(),
          `${name}: the running flows are the imported nodes`,
        );
        assert.deepEqual(redStatuses(nr!, nodes), [], `${name}: nodes showing a red status`);
        // Every GET route of the import is served (an API node that did not start would leave
        // its request unanswered until Node-RED's timeout): 2xx with the token.
        for (const n of nodes.filter((x) => x.type === 'http in' && x.method === 'get')) {
          const route = String(n.url)
            .replace(/:hub_id/, 'h_none')
            .replace(/:vehicle_id/, 'v_none');
          const res = await fetch(`${nr!.url}${route}`, {
            headers: { Authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(10000),
          });
          const ok = route.includes('_none') ? res.status === 404 : res.status === 200;
          assert.ok(ok, `${name}: GET ${route} → ${res.status} ${await res.text()}`);
        }
      }

      before(async function () {
        this.timeout(1500000); // a cold run installs Node-RED from npm
        const found = findNode(stock.node);
        if ('missing' in found) skipOrFail(this, found.missing);
        nodeBin = found.bin;
        nodeVersionText = found.version;
        let redJs = '';
        try {
          const t0 = Date.now();
          const inst = await installNodeRed(stock.nodeRed, found);
          durations.push([
            `${label}: install Node-RED (${inst.cached ? 'cached' : 'from npm'})`,
            Date.now() - t0,
          ]);
          redJs = inst.redJs;
        } catch (e) {
          skipOrFail(
            this,
            `Node-RED ${stock.nodeRed} could not be installed: ${(e as Error).message.split('\n')[0]}`,
          );
        }
        userDir = await step(`${label}: npm install <tarball> in a new user dir`, () =>
          userDirWith(tarball, nodeBin),
        );
        databaseUrl = await createTestDatabase('wpt_integrator');
        brokerUrl = await mqttUrl();
        nr = await step(`${label}: start Node-RED`, () =>
          startStockNodeRed({
            node: nodeBin,
            redJs,
            userDir,
            env: { MQTT_URL: brokerUrl, DATABASE_URL: databaseUrl, INFLUX_URL: '', WPT_API_TOKEN: token },
          }),
        );
        examples = await examplesOf(nr.url, PKG.name);
      });

      after(async () => {
        await hubClient?.close();
        await nr?.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
      });

      it('runs the Node.js and Node-RED it claims to', () => {
        assert.match(nodeVersionText, new RegExp(`^v${stock.node}\\.`));
        assert.match(nr!.log(), new RegExp(`Node-RED version: v${stock.nodeRed.replace(/\./g, '\\.')}`));
        assert.match(nr!.log(), new RegExp(`Node\\.js +version: ${nodeVersionText.replace(/\./g, '\\.')}`));
        // Default settings: Node-RED wrote its own settings.js into the new user dir.
        assert.match(
          nr!.log(),
          new RegExp(`Settings file +: ${userDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/settings\\.js`),
        );
      });

      it('installing the tarball brings Dashboard 2.0, and every bin of the package runs (--help)', async () => {
        const nm = path.join(userDir, 'node_modules');
        const dash = JSON.parse(fs.readFileSync(path.join(nm, DASHBOARD, 'package.json'), 'utf8')) as {
          version: string;
        };
        assert.ok(dash.version, 'Dashboard 2.0 installed');
        const pkg = JSON.parse(
          fs.readFileSync(path.join(nm, PKG.name, 'package.json'), 'utf8'),
        ) as PackageJson;
        const bins = Object.keys(pkg.bin ?? {});
        for (const b of bins) {
          const out = execFileSync(nodeBin, [path.join(nm, '.bin', b), '--help'], {
            encoding: 'utf8',
            timeout: 30000,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          assert.match(out, /usage/i, `${b} --help`);
        }
        // Every node type of the package and of Dashboard 2.0 loaded without error.
        const sets = (await (
          await fetch(`${nr!.url}/nodes`, { headers: { Accept: 'application/json' } })
        ).json()) as Array<{
          module: string;
          types: string[];
          enabled: boolean;
          err?: string;
        }>;
        const ours = sets.filter((s) => s.module === PKG.name);
        assert.deepEqual(
          ours.filter((s) => s.err || !s.enabled).map((s) => `${s.types.join(',')}: ${s.err}`),
          [],
        );
        const types = new Set(ours.flatMap((s) => s.types));
        for (const t of Object.keys(PKG['node-red'].nodes)) assert.ok(types.has(t), `${t} registered`);
        assert.ok(
          sets.some((s) => s.module === DASHBOARD && s.types.includes('ui-base') && !s.err),
          'Dashboard 2.0 nodes registered',
        );
      });

      it('offers every example of the package in Import › Examples', () => {
        assert.deepEqual([...examples.keys()].sort(), EXAMPLE_NAMES);
      });

      for (const name of EXAMPLE_NAMES) {
        it(`example "${name}" alone: deploys into an empty Node-RED, every node runs, no error or warning`, async () => {
          const nodes = examples.get(name) as Node[] | undefined;
          assert.ok(nodes, `example ${name} offered`);
          await checkDeployed(`"${name}"`, nodes);
        });
      }

      it('all examples together: deploy, every node runs, no error or warning', async () => {
        const union = new Map<string, Node>();
        for (const nodes of examples.values()) for (const n of nodes as Node[]) union.set(n.id, n);
        assert.ok(union.size > 0);
        await checkDeployed('all examples', [...union.values()]);
        // The links between tabs join up: every link target is in the union.
        for (const n of union.values()) {
          for (const l of (n.links as string[] | undefined) ?? []) {
            assert.ok(union.has(l), `${n.type} ${n.id} links to ${l}, which no example carries`);
          }
        }
      });

      it('drives a hub through the contract: a DLM event on MQTT, hubs/nodes/dlm_events rows in PostgreSQL', async () => {
        const t0 = Date.now();
        hubClient = await startContractHub(brokerUrl, hub, {
          capacityKw: 100,
          nodes: { pad_1: 60, pad_2: 60 },
        });
        const { events } = hubClient;
        await hubClient.request(`ev_${hub}`, 'pad_1', 30);
        await until(
          () =>
            events.some((e) => e.affected_node_id === 'pad_1' && e.new_limit > 0 && e.source === 'wpt-dlm'),
          20000,
          'a DLM event for pad_1 on iot/hubs/{hub}/dlm/events',
          { detail: () => ({ events, log: nr!.log().slice(-3000) }) },
        );
        const event = events.find(
          (e) => e.affected_node_id === 'pad_1' && e.new_limit > 0 && e.source === 'wpt-dlm',
        )!;
        assert.equal(event.new_limit, 60, 'one vehicle on a 100 kW hub: its pad gets its 60 kW');
        assert.ok(event.trigger_reason.length > 0);

        const db = new Client({ connectionString: databaseUrl });
        await db.connect();
        try {
          const rows = await poll(
            async () => ({
              hubs: (
                await db.query('SELECT hub_id, max_grid_capacity_kw, state FROM hubs WHERE hub_id = $1', [
                  hub,
                ])
              ).rows,
              nodes: (
                await db.query('SELECT node_id, max_power_kw FROM nodes WHERE hub_id = $1 ORDER BY node_id', [
                  hub,
                ])
              ).rows,
              events: (
                await db.query(
                  `SELECT node_id, new_limit, source FROM dlm_events WHERE hub_id = $1 AND source = 'orchestrator'`,
                  [hub],
                )
              ).rows,
            }),
            (r) => r.hubs.length === 1 && r.nodes.length === 2 && r.events.some((e) => e.node_id === 'pad_1'),
            20000,
          );
          assert.deepEqual(rows.hubs, [{ hub_id: hub, max_grid_capacity_kw: 100, state: 'online' }]);
          assert.deepEqual(rows.nodes, [
            { node_id: 'pad_1', max_power_kw: 60 },
            { node_id: 'pad_2', max_power_kw: 60 },
          ]);
          assert.ok(
            rows.events.some(
              (e) => e.node_id === 'pad_1' && e.new_limit === 60 && e.source === 'orchestrator',
            ),
            JSON.stringify(rows.events),
          );
        } finally {
          await db.end();
        }
        durations.push([`${label}: drive a hub (event and rows)`, Date.now() - t0]);
      });

      it('REST API and live feed: 401 without the token, 200 with it, /api/health open', async () => {
        const anon = await fetch(`${nr!.url}/api/hubs`);
        assert.equal(anon.status, 401);
        assert.match(anon.headers.get('www-authenticate') ?? '', /Bearer/);
        const wrong = await fetch(`${nr!.url}/api/hubs`, {
          headers: { Authorization: 'Bearer not-the-token-at-all' },
        });
        assert.equal(wrong.status, 401);
        const ok = await fetch(`${nr!.url}/api/hubs`, { headers: { Authorization: `Bearer ${token}` } });
        assert.equal(ok.status, 200);
        const body = JSON.stringify(await ok.json());
        assert.ok(body.includes(hub), `the driven hub in /api/hubs: ${body.slice(0, 500)}`);
        const health = await fetch(`${nr!.url}/api/health`);
        assert.equal(health.status, 200);
        const h = (await health.json()) as { dependencies: Record<string, { state: string }> };
        assert.equal(h.dependencies.mqtt?.state, 'ok');
        assert.equal(h.dependencies.postgres?.state, 'ok');
        // A write without the token changes nothing.
        const post = await fetch(`${nr!.url}/api/vehicles`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ vehicle_id: `ev_anon_${hub}`, priority: true }),
        });
        assert.equal(post.status, 401);
        // The live feed (WebSocket /api/ws): refused without the token, a snapshot with it.
        const wsUrl = `${nr!.url.replace('http', 'ws')}/api/ws`;
        const refused = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(wsUrl);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('open', () => reject(new Error('the feed opened without a token')));
          ws.on('error', () => undefined);
        });
        assert.equal(refused, 401);
        const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
        try {
          const first = await new Promise<string>((resolve, reject) => {
            ws.once('message', (d: Buffer) => resolve(d.toString()));
            ws.once('error', reject);
          });
          const snapshot = JSON.parse(first) as { type: string };
          assert.equal(snapshot.type, 'snapshot');
          assert.ok(first.includes(hub), 'the driven hub in the snapshot');
        } finally {
          ws.close();
        }
      });

      it('logged no error and no warning of a node over the whole run', async () => {
        await sleep(500);
        assert.deepEqual(problems(nr!.log()), [], nr!.log());
      });
    });
  }
});
