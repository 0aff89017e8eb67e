// The operator control plane over REST, through the real runtime: every command route answers
// the entity after it (or 204), a 400 naming the field the caller sent, a 404 for an unknown id,
// a 409 where the state forbids, and writes one audit row (who, when, what, before/after) that
// GET /api/audit lists newest first. Also the QR code of a node and the audit log's pages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import QRCode from 'qrcode';
import pg from 'pg';
import { startRuntime, type RuntimeHandle } from '../helpers/runtime';
import { readPng } from '../helpers/original-api';
import { startEchoHub, type EchoHub } from '../helpers/echo-hub';
import { poll, until } from '../helpers/wait';

type Json = Record<string, unknown>;

describe('e2e: REST operator control (commands, QR code, audit log)', function () {
  this.timeout(180000);
  let rt: RuntimeHandle;
  let echo: EchoHub;
  const tag = `c${process.pid}`;
  const hub = `hub_${tag}`; // reported by MQTT, with a charging node
  const made = `made_${tag}`; // created by REST
  const vehicle = `veh_${tag}`;
  const ACTOR = 'e2e tester';

  async function api(
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json }> {
    const r = await fetch(`${rt.url}${p}`, {
      method,
      headers: {
        Authorization: `Bearer ${rt.apiToken}`,
        'X-WPT-Actor': ACTOR,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (r.status === 204) return { status: 204, body: {} };
    try {
      return { status: r.status, body: JSON.parse(text) as Json };
    } catch {
      throw new Error(`${method} ${p}: ${r.status} not JSON: ${text.slice(0, 200)}`);
    }
  }

  /** A 400 that names `field` first in one of its lines. */
  function assertBad(r: { status: number; body: Json }, field: string, what: string): void {
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    const errs = (r.body.errors ?? []) as string[];
    assert.ok(
      errs.some((e) => e.startsWith(`${field}:`)),
      `${what}: no error names ${field}: ${JSON.stringify(errs)}`,
    );
  }

  function assertNotFound(r: { status: number; body: Json }, id: string, what: string): void {
    assert.equal(r.status, 404, `${what}: ${JSON.stringify(r.body)}`);
    assert.match(String(r.body.message), new RegExp(id), what);
  }

  /** The newest audit rows for a filter, once the newest are `ops` (the store writes them a moment later). */
  async function audit(query: string, ops: string[]): Promise<Json[]> {
    let items: Json[] = [];
    await until(
      async () => {
        const r = await api('GET', `/api/audit?${query}`);
        items = (r.body.items as Json[]) ?? [];
        return JSON.stringify(items.slice(0, ops.length).map((x) => x.op)) === JSON.stringify(ops);
      },
      20000,
      `audit rows ${ops.join(', ')} for ${query}`,
      { every: 100, detail: () => items.map((x) => x.op) },
    );
    return items;
  }

  /** Waits for the newest stored DLM event of a node to pass `ok`; returns it. */
  async function latestEvent(hubId: string, nodeId: string, ok: (e: Json) => boolean, what: string) {
    let items: Json[] = [];
    await until(
      async () => {
        const r = await api('GET', `/api/dlm/events?hub_id=${hubId}&node_id=${nodeId}&limit=5`);
        items = (r.body.items as Json[]) ?? [];
        return items[0] !== undefined && ok(items[0]);
      },
      20000,
      what,
      { every: 100, detail: () => items },
    );
    return items[0]!;
  }

  before(async () => {
    rt = await startRuntime();
    echo = await startEchoHub(rt.mqttUrl, hub, { capacityKw: 100, nodes: { n1: 50, n2: 50 } });
    await echo.charge('n1', vehicle, 40);
    await poll(
      () => api('GET', `/api/vehicles/${vehicle}`),
      (r) => r.status === 200 && (r.body.open_session as Json | null)?.node_id === 'n1',
      30000,
    );
  });

  after(async () => {
    await echo?.close();
    await rt?.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  it('hubs: PUT creates (201) and updates (200), DELETE removes (204); 400 per field, 404 unknown', async () => {
    const created = await api('PUT', `/api/hubs/${made}`, {
      max_grid_capacity_kw: 80,
      location: { latitude: 45, longitude: 9 },
      note: 'new site',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.hub_id, made);
    assert.equal(created.body.max_grid_capacity_kw, 80);
    assert.equal(created.body.active, true);
    const updated = await api('PUT', `/api/hubs/${made}`, { firmware_version: '2.0.0' });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.firmware_version, '2.0.0');
    assert.equal(updated.body.max_grid_capacity_kw, 80, 'an absent field keeps its value');

    assertBad(
      await api('PUT', `/api/hubs/${made}`, { max_grid_capacity_kw: -1 }),
      'max_grid_capacity_kw',
      'range',
    );
    assertBad(
      await api('PUT', `/api/hubs/${made}`, { location: { latitude: 91 } }),
      'location.latitude',
      'lat',
    );
    assertBad(await api('PUT', `/api/hubs/${made}`, { colour: 'red' }), 'colour', 'unknown field');
    assertBad(await api('PUT', `/api/hubs/${'x'.repeat(51)}`, {}), 'hub_id', 'long id');
    assertBad(await api('PUT', `/api/hubs/${made}`, {}, { 'X-WPT-Actor': '' }), 'X-WPT-Actor', 'empty actor');
    assertNotFound(await api('DELETE', `/api/hubs/nohub_${tag}`), `nohub_${tag}`, 'delete unknown hub');

    const rows = await audit(`hub_id=${made}`, ['hub-upsert', 'hub-upsert']);
    assert.deepEqual(
      rows.map((r) => r.op),
      ['hub-upsert', 'hub-upsert'],
    );
    assert.equal(rows[0]!.actor, `api:${ACTOR}`);
    assert.equal((rows[0]!.before as Json).firmware_version, null);
    assert.equal((rows[0]!.after as Json).firmware_version, '2.0.0');
    assert.equal(rows[1]!.before, null, 'the creation has no before');
    assert.equal(rows[1]!.note, 'new site');
    assert.ok(Date.parse(String(rows[0]!.timestamp)) >= Date.parse(String(rows[1]!.timestamp)));
  });

  it('hubs: deactivate/activate; a capacity override is set, checked field by field and cleared', async () => {
    const off = await api('POST', `/api/hubs/${hub}/deactivate`, { note: 'grid works' });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.active, false);
    // Inactive: every node's limit goes to 0 (the DLM event is stored).
    await latestEvent(hub, 'n1', (e) => e.new_limit === 0, 'limit 0 on n1 of the inactive hub');
    const on = await api('POST', `/api/hubs/${hub}/activate`);
    assert.equal(on.status, 200);
    assert.equal(on.body.active, true);
    assertNotFound(await api('POST', `/api/hubs/nohub_${tag}/activate`), `nohub_${tag}`, 'activate unknown');
    assertNotFound(
      await api('POST', `/api/hubs/nohub_${tag}/deactivate`),
      `nohub_${tag}`,
      'deactivate unknown',
    );
    assertBad(await api('POST', `/api/hubs/${hub}/activate`, { note: 7 }), 'note', 'note not text');

    const until = new Date(Date.now() + 3_600_000).toISOString();
    const cap = await api('PUT', `/api/hubs/${hub}/capacity-override`, { kw: 30, until });
    assert.equal(cap.status, 200, JSON.stringify(cap.body));
    const o = cap.body.capacity_override as Json;
    assert.equal(o.kw, 30);
    assert.equal(o.from, null);
    assert.equal(Date.parse(String(o.until)), Date.parse(until));
    assertBad(await api('PUT', `/api/hubs/${hub}/capacity-override`, { kw: 'lots' }), 'kw', 'kw type');
    assertBad(await api('PUT', `/api/hubs/${hub}/capacity-override`, {}), 'kw', 'kw missing');
    assertBad(
      await api('PUT', `/api/hubs/${hub}/capacity-override`, { kw: 10, until: 'soon' }),
      'until',
      'until',
    );
    assertBad(
      await api('PUT', `/api/hubs/${hub}/capacity-override`, { kw: 10, from: until, until: until }),
      'until',
      'until not after from',
    );
    assertNotFound(
      await api('PUT', `/api/hubs/nohub_${tag}/capacity-override`, { kw: 5 }),
      'nohub',
      'cap 404',
    );
    const cleared = await api('DELETE', `/api/hubs/${hub}/capacity-override`, { note: 'grid ok' });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.capacity_override, null);
    assertNotFound(await api('DELETE', `/api/hubs/nohub_${tag}/capacity-override`), 'nohub', 'clear 404');

    const rows = await audit(`hub_id=${hub}&limit=4`, [
      'hub-capacity-override',
      'hub-capacity-override',
      'hub-active',
      'hub-active',
    ]);
    assert.deepEqual(
      rows.map((r) => r.op),
      ['hub-capacity-override', 'hub-capacity-override', 'hub-active', 'hub-active'],
    );
    assert.deepEqual(rows[0]!.after, { capacity_override: null });
    assert.equal(rows[0]!.note, 'grid ok', 'a DELETE may carry a note');
    assert.equal(((rows[0]!.before as Json).capacity_override as Json).kw, 30);
    assert.deepEqual(rows[3]!.before, { active: true });
    assert.deepEqual(rows[3]!.after, { active: false });
    assert.equal(rows[3]!.note, 'grid works');
  });

  it('nodes: PUT upsert, maintenance, max-power override and its clear, DELETE; 400, 404', async () => {
    const n = await api('PUT', `/api/nodes/${made}/pad`, { name: 'Pad A', max_power_kw: 22 });
    assert.equal(n.status, 201, JSON.stringify(n.body));
    assert.equal(n.body.name, 'Pad A');
    assertBad(await api('PUT', `/api/nodes/${made}/pad`, { max_power_kw: 999 }), 'max_power_kw', 'range');
    assertNotFound(
      await api('PUT', `/api/nodes/nohub_${tag}/pad`, {}),
      `nohub_${tag}`,
      'upsert, unknown hub',
    );

    const m = await api('PUT', `/api/nodes/${made}/pad/maintenance`, { maintenance: true });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    assert.equal(m.body.maintenance, true);
    assert.equal(m.body.operator_maintenance, true);
    assertBad(
      await api('PUT', `/api/nodes/${made}/pad/maintenance`, { maintenance: 'yes' }),
      'maintenance',
      'm',
    );
    assertBad(await api('PUT', `/api/nodes/${made}/pad/maintenance`, {}), 'maintenance', 'missing');
    assertNotFound(
      await api('PUT', `/api/nodes/${made}/nopad/maintenance`, { maintenance: true }),
      'nopad',
      'maintenance of an unknown node',
    );

    const o = await api('PUT', `/api/nodes/${made}/pad/max-power-override`, { kw: 11 });
    assert.equal(o.status, 200);
    assert.equal(o.body.max_power_override_kw, 11);
    assertBad(
      await api('PUT', `/api/nodes/${made}/pad/max-power-override`, { kw: 400 }),
      'kw',
      'override range',
    );
    assertNotFound(
      await api('PUT', `/api/nodes/${made}/nopad/max-power-override`, { kw: 1 }),
      'nopad',
      'override 404',
    );
    const c = await api('DELETE', `/api/nodes/${made}/pad/max-power-override`);
    assert.equal(c.status, 200);
    assert.equal(c.body.max_power_override_kw, null);
    assertNotFound(await api('DELETE', `/api/nodes/${made}/nopad/max-power-override`), 'nopad', 'clear 404');

    const rows = await audit(`hub_id=${made}&node_id=pad`, [
      'node-max-power-override',
      'node-max-power-override',
      'node-maintenance',
      'node-upsert',
    ]);
    assert.deepEqual(
      rows.map((r) => r.op),
      ['node-max-power-override', 'node-max-power-override', 'node-maintenance', 'node-upsert'],
    );
    assert.deepEqual(rows[2]!.after, { operator_maintenance: true });

    assert.equal((await api('DELETE', `/api/nodes/${made}/pad`)).status, 204);
    assertNotFound(await api('DELETE', `/api/nodes/${made}/pad`), 'pad', 'delete twice');
    const del = await audit(`hub_id=${made}&node_id=pad&limit=1`, ['node-delete']);
    assert.equal(del[0]!.op, 'node-delete');
    assert.equal(del[0]!.after, null);
  });

  it('maintenance of a charging node: its limit goes to 0 with reason maintenance', async () => {
    const m = await api('PUT', `/api/nodes/${hub}/n1/maintenance`, { maintenance: true });
    assert.equal(m.status, 200);
    await latestEvent(
      hub,
      'n1',
      (e) => e.new_limit === 0 && /maintenance/i.test(String(e.trigger_reason)),
      'limit 0 for maintenance on n1',
    );
    assert.equal((await api('PUT', `/api/nodes/${hub}/n1/maintenance`, { maintenance: false })).status, 200);
  });

  it('vehicles: PUT upsert and priority, DELETE; 409 while it charges; 400, 404', async () => {
    const other = `other_${tag}`;
    const v = await api('PUT', `/api/vehicles/${other}`, { battery_capacity_kwh: 50, driver: 'Ada' });
    assert.equal(v.status, 201, JSON.stringify(v.body));
    const p = await api('PUT', `/api/vehicles/${other}`, { priority: true });
    assert.equal(p.status, 200);
    assert.equal(p.body.priority, true);
    assert.equal(p.body.soc_class, 'critical');
    assertBad(await api('PUT', `/api/vehicles/${other}`, { priority: 'yes' }), 'priority', 'priority type');
    assertBad(
      await api('PUT', `/api/vehicles/${other}`, { battery_capacity_kwh: 0 }),
      'battery_capacity_kwh',
      'capacity',
    );
    const busy = await api('DELETE', `/api/vehicles/${vehicle}`);
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.match(String(busy.body.message), /session/);
    assert.equal((await api('DELETE', `/api/vehicles/${other}`)).status, 204);
    assertNotFound(await api('DELETE', `/api/vehicles/${other}`), other, 'delete twice');

    const rows = await audit(`vehicle_id=${other}`, ['vehicle-delete', 'vehicle-upsert', 'vehicle-upsert']);
    assert.deepEqual(
      rows.map((r) => r.op),
      ['vehicle-delete', 'vehicle-upsert', 'vehicle-upsert'],
    );
    assert.equal((rows[1]!.before as Json).priority, false);
    assert.equal((rows[1]!.after as Json).priority, true);
  });

  it('sessions: POST …/session/end closes the open session (operator); 404 when none is open', async () => {
    const r = await api('POST', `/api/nodes/${hub}/n1/session/end`, { note: 'stuck vehicle' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.vehicle_id, vehicle);
    assert.equal(r.body.active, false);
    assertNotFound(await api('POST', `/api/nodes/${hub}/n1/session/end`), 'no open session', 'nothing open');
    assertNotFound(await api('POST', `/api/nodes/${hub}/n9/session/end`), 'n9', 'unknown node');
    const rows = await audit(`hub_id=${hub}&node_id=n1&limit=1`, ['session-end']);
    assert.equal(rows[0]!.op, 'session-end');
    assert.equal(rows[0]!.vehicle_id, vehicle);
    assert.equal(rows[0]!.note, 'stuck vehicle');
    assert.equal((rows[0]!.after as Json).close_reason, 'operator');
    // PostgreSQL holds it too, with the session closed by the operator.
    const db = new pg.Client({ connectionString: rt.databaseUrl });
    await db.connect();
    try {
      const s = await db.query<{ close_reason: string }>(
        'SELECT close_reason FROM charging_sessions WHERE session_id = $1',
        [r.body.session_id],
      );
      assert.equal(s.rows[0]?.close_reason, 'operator');
      const a = await db.query<{ actor: string }>(
        "SELECT actor FROM audit_log WHERE op = 'session-end' AND node_id = 'n1' AND hub_id = $1",
        [hub],
      );
      assert.deepEqual(
        a.rows.map((x) => x.actor),
        [`api:${ACTOR}`],
      );
    } finally {
      await db.end();
    }
  });

  it('hubs: DELETE removes a hub with its nodes (204), then 404', async () => {
    assert.equal((await api('PUT', `/api/nodes/${made}/pad2`, {})).status, 201);
    assert.equal((await api('DELETE', `/api/hubs/${made}`)).status, 204);
    assert.equal((await api('GET', `/api/hubs/${made}`)).status, 404);
    assertNotFound(await api('DELETE', `/api/hubs/${made}`), made, 'delete twice');
    const rows = await audit(`hub_id=${made}&limit=1`, ['hub-delete']);
    assert.equal(rows[0]!.op, 'hub-delete');
    assert.equal(rows[0]!.after, null);
  });

  it('GET /api/audit: newest first, in pages, filtered; 400 names the parameter', async () => {
    const all = await api('GET', '/api/audit?limit=1000');
    assert.equal(all.status, 200);
    const items = all.body.items as Json[];
    assert.ok(items.length >= 15, `${items.length} rows`);
    assert.equal(all.body.total, items.length);
    for (let i = 1; i < items.length; i++)
      assert.ok(Date.parse(String(items[i - 1]!.timestamp)) >= Date.parse(String(items[i]!.timestamp)));
    const page = await api('GET', '/api/audit?limit=2&offset=1');
    assert.deepEqual(
      (page.body.items as Json[]).map((r) => r.id),
      items.slice(1, 3).map((r) => r.id),
    );
    assert.equal(page.body.limit, 2);
    assert.equal(page.body.offset, 1);
    const mine = await api('GET', `/api/audit?actor=${encodeURIComponent(`api:${ACTOR}`)}&limit=1000`);
    assert.equal(mine.body.total, items.length, 'every write of this test was by its caller');
    assert.equal((await api('GET', '/api/audit?actor=nobody')).body.total, 0);
    assertBad(await api('GET', '/api/audit?limit=0'), 'limit', 'limit');
    assertBad(await api('GET', '/api/audit?since=yesterday'), 'since', 'since');
    assertBad(await api('GET', '/api/audit?hub=x'), 'hub', 'unknown parameter');
    const anon = await fetch(`${rt.url}/api/audit`);
    assert.equal(anon.status, 401);
  });

  it("GET /api/nodes/{hub_id}/{node_id}/qr.png: a PNG of this server's charge URL for the node", async () => {
    const r = await fetch(`${rt.url}/api/nodes/${hub}/n2/qr.png?size=4`, {
      headers: { Authorization: `Bearer ${rt.apiToken}` },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    const png = readPng(Buffer.from(await r.arrayBuffer()));
    const expected = QRCode.create(`${rt.url}/api/nodes/${hub}/n2/charge`, { errorCorrectionLevel: 'M' });
    const n = expected.modules.size;
    assert.equal(png.width, (n + 8) * 4);
    for (let row = 0; row < n; row++)
      for (let col = 0; col < n; col++)
        assert.equal(png.dark((col + 4) * 4 + 2, (row + 4) * 4 + 2), expected.modules.get(row, col) === 1);
    const other = await fetch(
      `${rt.url}/api/nodes/${hub}/n2/qr.png?size=2&base_url=https://dlm.example.org`,
      {
        headers: { Authorization: `Bearer ${rt.apiToken}` },
      },
    );
    const png2 = readPng(Buffer.from(await other.arrayBuffer()));
    const exp2 = QRCode.create(`https://dlm.example.org/api/nodes/${hub}/n2/charge`, {
      errorCorrectionLevel: 'M',
    });
    assert.equal(png2.width, (exp2.modules.size + 8) * 2);
    assertNotFound(await api('GET', `/api/nodes/${hub}/n9/qr.png`), 'n9', 'unknown node');
    assertNotFound(await api('GET', `/api/nodes/nohub_${tag}/n1/qr.png`), `nohub_${tag}`, 'unknown hub');
    assertBad(await api('GET', `/api/nodes/${hub}/n2/qr.png?size=0`), 'size', 'size');
    assertBad(await api('GET', `/api/nodes/${hub}/n2/qr.png?base_url=ftp://x`), 'base_url', 'base_url');
  });
});
