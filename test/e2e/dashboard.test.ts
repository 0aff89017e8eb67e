// The operators' Dashboard 2.0 (flows/dashboard.json) in a real browser: the runtime in demo
// mode (3 hubs × 4 nodes, 20 vehicles), headless Chromium through playwright-core.
// WPT_DASHBOARD_SHOTS=<dir> keeps the screenshots of every page there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startRuntime, ROOT, type RuntimeHandle } from '../helpers/runtime';
import { poll, sleep } from '../helpers/wait';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type FlowNode = { id: string; type: string; name?: string };
const FLOW = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'dashboard.json'), 'utf8')) as FlowNode[];

/** DOM id of the widget of the shipped flow with that type and name. */
function widget(type: string, name: string): string {
  const n = FLOW.find((x) => x.type === type && x.name === name);
  if (!n) throw new Error(`flows/dashboard.json has no ${type} named "${name}"`);
  return `#nrdb-ui-widget-${n.id}`;
}

type ApiHub = {
  hub_id: string;
  max_grid_capacity_kw: number | null;
  load_kw: number;
  utilisation: number | null;
  nodes: Array<{ node_id: string }>;
};

/** The cells of every body row of a ui-table, as text, keyed by column title. */
async function tableRows(page: Page, selector: string): Promise<Array<Record<string, string>>> {
  return page.evaluate((sel) => {
    // Runs in the page (the tests are compiled without the DOM library: a minimal shape).
    interface El {
      textContent: string | null;
      querySelectorAll(s: string): Iterable<El>;
    }
    const doc = (globalThis as unknown as { document: { querySelector(s: string): El | null } }).document;
    const root = doc.querySelector(sel);
    if (!root) return [];
    const titles = [...root.querySelectorAll('thead th')].map((th) => (th.textContent ?? '').trim());
    return [...root.querySelectorAll('tbody tr')]
      .map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()))
      .filter((cells) => cells.length === titles.length)
      .map((cells) => Object.fromEntries(titles.map((t, i) => [t, cells[i] ?? ''])));
  }, selector);
}

describe('e2e: operators dashboard (Dashboard 2.0 in a browser)', function () {
  this.timeout(240000);
  let rt: RuntimeHandle | undefined;
  let browser: Browser | undefined;
  let ctx: BrowserContext | undefined;
  let page: Page;
  let shots: string;
  let keepShots = false;

  const api = async <T>(p: string): Promise<T> => {
    const r = await fetch(`${rt!.url}${p}`, { headers: { Authorization: `Bearer ${rt!.apiToken}` } });
    assert.equal(r.status, 200, `GET ${p}`);
    return (await r.json()) as T;
  };
  const shot = async (name: string) => {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 10_000, `${file} looks empty`);
  };
  const open = async (p: string, firstWidget: string) => {
    const res = await page.goto(`${rt!.url}/dashboard${p}`);
    assert.equal(res?.status(), 200);
    await page.waitForSelector(firstWidget, { timeout: 30000 });
  };

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
      this.skip();
    }
    keepShots = Boolean(process.env.WPT_DASHBOARD_SHOTS);
    shots = process.env.WPT_DASHBOARD_SHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-dashboard-'));
    fs.mkdirSync(shots, { recursive: true });
    rt = await startRuntime({ env: { WPT_DEMO: '1' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    ctx = await browser.newContext({
      httpCredentials: { username: rt.adminUser, password: rt.adminPassword },
      viewport: { width: 1366, height: 900 },
    });
    page = await ctx.newPage();
  });

  after(async () => {
    await ctx?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    if (rt) {
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
    if (shots && !keepShots) fs.rmSync(shots, { recursive: true, force: true });
  });

  it('starts the dashboard flow without warnings', () => {
    const bad = rt!
      .output()
      .split('\n')
      .filter((l) => /\[(warn|error)\]/.test(l) && !/\[warn\] Projects disabled/.test(l));
    assert.deepEqual(bad, []);
  });

  it('asks for the login: /dashboard is 401 without credentials, also in a browser', async () => {
    const r = await fetch(`${rt!.url}/dashboard`);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrong = await fetch(`${rt!.url}/dashboard`, {
      headers: { Authorization: 'Basic ' + Buffer.from(`${rt!.adminUser}:wrong`).toString('base64') },
    });
    assert.equal(wrong.status, 401);
    // Headless Chromium has no login prompt: it ends the navigation with 401 or with
    // ERR_INVALID_AUTH_CREDENTIALS; either way no dashboard is shown.
    const anon = await browser!.newContext();
    try {
      const p = await anon.newPage();
      const statuses: number[] = [];
      p.on('response', (res) => {
        if (res.url().includes('/dashboard')) statuses.push(res.status());
      });
      const res = await p.goto(`${rt!.url}/dashboard/hubs`).catch((e: Error) => {
        assert.match(e.message, /ERR_INVALID_AUTH_CREDENTIALS/);
        return null;
      });
      if (res) assert.equal(res.status(), 401);
      else assert.deepEqual(statuses, [401]);
      assert.equal(await p.locator('.nrdb-ui-widget').count(), 0);
    } finally {
      await anon.close();
    }
  });

  it('DLM events: the allocator’s decisions with reason, node, limits and source', async () => {
    const table = widget('ui-table', 'DLM events');
    await open('/dlm-events', table);
    // The demo's vehicles reach the hubs and the allocator decides within a minute or two.
    const rows = await poll(
      () => tableRows(page, table),
      (r) => r.length > 0,
      150000,
      1000,
    );
    assert.ok(rows.length > 0, 'no DLM event on the dashboard');
    const stored = await api<{ total: number; items: Array<{ hub_id: string; node_id: string }> }>(
      '/api/dlm/events?limit=50',
    );
    assert.ok(stored.total > 0);
    const hubIds = new Set((await api<{ items: ApiHub[] }>('/api/hubs')).items.map((h) => h.hub_id));
    for (const r of rows) {
      assert.ok(hubIds.has(r.Hub ?? ''), JSON.stringify(r));
      assert.match(r.Reason ?? '', /^[A-Z_]+$/, JSON.stringify(r));
      assert.match(r['Limit kW (from → to)'] ?? '', /^(–|\d+\.\d) → \d+\.\d$/, JSON.stringify(r));
      assert.match(r.Source ?? '', /^(orchestrator|hub)$/, JSON.stringify(r));
    }
    const first = rows[0]!;
    assert.ok(
      stored.items.some((e) => e.hub_id === first.Hub && e.node_id === first.Node),
      `${JSON.stringify(first)} is not among the stored events`,
    );
    await shot('dlm-events');
  });

  it('Hubs: the 3 demo hubs with the load, capacity and utilisation of GET /api/hubs', async () => {
    const hubsTable = widget('ui-table', 'hubs');
    await open('/hubs', hubsTable);
    const num = (s: string | undefined) => (s === undefined || s === '' ? NaN : Number(s));
    // The page refreshes every 2 s and the hubs report every 2 s: the page matches the API
    // read just before or just after it. A vehicle charges by now (the allocator decided).
    let someLoad = false;
    let last = '';
    const matched = await poll(
      async () => {
        const before = (await api<{ items: ApiHub[] }>('/api/hubs')).items;
        const rows = await tableRows(page, hubsTable);
        const after = (await api<{ items: ApiHub[] }>('/api/hubs')).items;
        last = JSON.stringify({ rows, before: before.map((h) => [h.hub_id, h.load_kw]) });
        if (before.length !== 3 || rows.length !== 3) return false;
        someLoad = rows.some((r) => num(r.Load) > 0);
        return (
          someLoad &&
          before.every((h) => {
            const row = rows.find((r) => r.Hub === h.hub_id);
            if (!row) return false;
            const other = after.find((a) => a.hub_id === h.hub_id);
            const load = num(row.Load);
            const loadOk = [h, other].some((a) => a !== undefined && Math.abs(a.load_kw - load) < 0.051);
            const capOk = num(row.Capacity) === h.max_grid_capacity_kw;
            const pct = num(row['%']);
            const pctOk = [h, other].some(
              (a) => a !== undefined && a.utilisation !== null && Math.abs(a.utilisation * 100 - pct) < 0.051,
            );
            return loadOk && capOk && pctOk && /^\d+ \/ 4$/.test(row.Charging ?? '');
          })
        );
      },
      (ok) => ok,
      60000,
      500,
    );
    assert.ok(someLoad, `no hub has load on the dashboard: ${last}`);
    assert.ok(matched, `the Hubs table never matched GET /api/hubs: ${last}`);
    // The bar per hub (utilisation) and the load/capacity chart are drawn.
    assert.equal(await page.locator(`${hubsTable} tbody tr .v-progress-linear`).count(), 3);
    assert.equal(
      (await page.locator(`${widget('ui-chart', 'load against capacity')} canvas`).count()) > 0,
      true,
    );
  });

  it('Hubs: the node table lists every node with state, vehicle, SoC, power and limit', async () => {
    const nodesTable = widget('ui-table', 'nodes');
    const hubs = (await api<{ items: ApiHub[] }>('/api/hubs')).items;
    const expected = hubs.flatMap((h) => h.nodes.map((n) => `${h.hub_id}/${n.node_id}`)).sort();
    assert.equal(expected.length, 12);
    // Limits and power appear with the nodes' first telemetry.
    const rows = await poll(
      () => tableRows(page, nodesTable),
      (r) => r.length === 12 && r.every((x) => x['Limit kW'] !== ''),
      30000,
      500,
    );
    assert.deepEqual(rows.map((r) => `${r.Hub}/${r.Node}`).sort(), expected);
    for (const r of rows) {
      assert.match(r.State ?? '', /^(idle|charging|full|faulted.*|maintenance|unknown)$/, JSON.stringify(r));
      assert.match(r['Limit kW'] ?? '', /^\d+(\.\d+)?$/, JSON.stringify(r));
      if (r.State === 'charging') assert.notEqual(r.Vehicle, '', JSON.stringify(r));
    }
    const charging = rows.filter((r) => r.State === 'charging');
    assert.ok(charging.length > 0, JSON.stringify(rows));
    for (const r of charging) {
      assert.match(r.Vehicle ?? '', /\S/, JSON.stringify(r));
      assert.match(r['Power kW'] ?? '', /^\d+(\.\d+)?$/, JSON.stringify(r));
      assert.match(r['SoC %'] ?? '', /^\d+(\.\d+)?$/, JSON.stringify(r));
    }
    await shot('hubs');
  });

  it('Vehicles: every vehicle with SoC, class and where it charges', async () => {
    const table = widget('ui-table', 'vehicles');
    await open('/vehicles', table);
    // Each demo vehicle reports within its telemetry period.
    const vehicles = (
      await poll(
        () => api<{ items: Array<{ vehicle_id: string; soc_class: string }> }>('/api/vehicles'),
        (v) => v.items.length === 20,
        30000,
        500,
      )
    ).items;
    assert.equal(vehicles.length, 20);
    const rows = await poll(
      () => tableRows(page, table),
      (r) => r.length === 20 && r.some((x) => x.Activity === 'charging'),
      20000,
      500,
    );
    assert.deepEqual(rows.map((r) => r.Vehicle).sort(), vehicles.map((v) => v.vehicle_id).sort());
    for (const r of rows) {
      assert.match(r['SoC %'] ?? '', /^\d+(\.\d+)?$/, JSON.stringify(r));
      assert.match(r.Class ?? '', /^(critical|normal)$/, JSON.stringify(r));
      if (r.Activity === 'charging') assert.match(r['Charging at'] ?? '', /^\S+ \/ \S+$/, JSON.stringify(r));
    }
    assert.ok(
      rows.some((r) => r.Activity === 'charging'),
      `no vehicle charges on the dashboard: ${JSON.stringify(rows)}`,
    );
    await shot('vehicles');
  });

  it('first load: the navigation is a rail of icons beside the tables, the Hub and State columns uncovered', async () => {
    const fresh = await ctx!.newPage();
    try {
      await fresh.setViewportSize({ width: 1024, height: 768 });
      const hubsTable = widget('ui-table', 'hubs');
      await fresh.goto(`${rt!.url}/dashboard/hubs`);
      await fresh.waitForSelector(`${hubsTable} thead th`, { timeout: 30000 });
      // The pages stay at hand: the rail is shown, and it ends where the page begins.
      const rail = await fresh.locator('nav.v-navigation-drawer').first().boundingBox();
      const table = await fresh.locator(hubsTable).boundingBox();
      assert.ok(rail && rail.width > 0 && rail.width < 100, `no icon rail: ${JSON.stringify(rail)}`);
      assert.ok(
        table && rail.x + rail.width <= table.x,
        `the rail overlaps the table: ${JSON.stringify({ rail, table })}`,
      );
      for (const title of ['Hub', 'State']) {
        const th = fresh
          .locator(`${hubsTable} thead th`, { hasText: new RegExp(`^\\s*${title}\\s*$`) })
          .first();
        const box = await th.boundingBox();
        assert.ok(box, `${title} header has no box`);
        // What is on top at the middle of the header cell is the cell itself (or its text).
        const onTop = await fresh.evaluate(
          ([x, y, t]) => {
            const doc = (
              globalThis as unknown as {
                document: {
                  elementFromPoint(
                    x: number,
                    y: number,
                  ): { closest(s: string): { textContent: string | null } | null } | null;
                };
              }
            ).document;
            return (
              (doc.elementFromPoint(x as number, y as number)?.closest('th')?.textContent ?? '').trim() === t
            );
          },
          [box.x + box.width / 2, box.y + box.height / 2, title] as const,
        );
        assert.ok(onTop, `the ${title} column is covered at first load`);
      }
    } finally {
      await fresh.close();
    }
  });

  it('History: keeps 15 minutes of every series (no cap on the points that would cut it shorter)', () => {
    const chart = FLOW.find(
      (x) => x.type === 'ui-chart' && x.name === 'load and capacity history',
    ) as unknown as {
      removeOlder: number;
      removeOlderUnit: string;
      removeOlderPoints: string;
    };
    assert.equal(Number(chart.removeOlder) * Number(chart.removeOlderUnit), 15 * 60);
    assert.equal(chart.removeOlderPoints, '');
  });

  it('History: the load and capacity chart is drawn', async () => {
    const chart = widget('ui-chart', 'load and capacity history');
    await open('/history', chart);
    await page.waitForSelector(`${chart} canvas`, { timeout: 15000 });
    await sleep(1000);
    await shot('history');
  });
});
