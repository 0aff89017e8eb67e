// The original system's API (ORIGINAL-API.md) through the real runtime with WPT_COMPAT_PORT,
// part 1: the service routes, CORS, 404/405, hubs and nodes over HTTP — status codes, field
// names and types (floats printed as floats, nulls present), the error shapes, the paging
// rules, and the audit log of the writes. Part 2: original-api-live.test.ts.
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import { poll } from '../helpers/wait';
import {
  ORIGINAL_ISO as ISO,
  shape,
  startOriginalApiRuntime,
  type OriginalApiRuntime,
  type Obj,
} from '../helpers/original-api';
import { ROUTES } from '../../nodes/lib/original-api';

describe('e2e: the original API (WPT_COMPAT_PORT): service, CORS, errors, hubs, nodes', function () {
  this.timeout(180_000);
  let o: OriginalApiRuntime;
  let db: Client;
  let call: OriginalApiRuntime['call'];

  before(async () => {
    o = await startOriginalApiRuntime('wpt-original-e2e');
    ({ db, call } = o);
  });
  after(() => o?.stop());

  it('GET /, /health, /openapi.json, /docs and /redoc', async () => {
    const root = await call('GET', '/');
    assert.equal(root.status, 200);
    assert.deepEqual(Object.keys(root.json as Obj), [
      'name',
      'version',
      'description',
      'docs',
      'redoc',
      'openapi',
    ]);
    assert.equal((root.json as Obj).docs, '/docs');
    const h = await call('GET', '/health');
    assert.equal(h.status, 200);
    const hj = h.json as Obj;
    assert.deepEqual(
      { ...hj, timestamp: typeof hj.timestamp },
      {
        status: 'healthy',
        timestamp: 'string',
        version: '0.1.0',
        service: 'WPT-DLM API',
        dependencies: { database: 'healthy' },
      },
    );
    assert.match(String(hj.timestamp), ISO);
    const doc = (await call('GET', '/openapi.json')).json as { openapi: string; paths: Obj };
    assert.equal(doc.openapi, '3.1.0');
    for (const r of ROUTES.filter((x) => !['/openapi.json', '/docs', '/redoc'].includes(x.path)))
      assert.ok(
        (doc.paths[r.path] as Obj | undefined)?.[r.method.toLowerCase()],
        `${r.method} ${r.path} documented`,
      );
    for (const p of ['/docs', '/redoc']) {
      const page = await call('GET', p);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.text, /\/openapi\.json/);
    }
  });

  it('CORS: any preflight is 200 OK echoing the Origin; answers carry ACAO * with credentials', async () => {
    for (const p of ['/hubs', '/nowhere/at/all']) {
      const r = await call('OPTIONS', p, undefined, {
        Origin: 'http://localhost:3000',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'content-type',
      });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'OK');
      assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:3000');
      assert.equal(r.headers.get('vary'), 'Origin');
      assert.equal(
        r.headers.get('access-control-allow-methods'),
        'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT',
      );
      assert.equal(r.headers.get('access-control-allow-headers'), 'content-type');
      assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(r.headers.get('access-control-max-age'), '600');
    }
    const g = await call('GET', '/hubs', undefined, { Origin: 'http://localhost:3000' });
    assert.equal(g.headers.get('access-control-allow-origin'), '*');
    assert.equal(g.headers.get('access-control-allow-credentials'), 'true');
    const c = await call('GET', '/hubs', undefined, { Origin: 'http://localhost:3000', Cookie: 'a=b' });
    assert.equal(c.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.equal(c.headers.get('vary'), 'Origin');
  });

  it('404 and 405 as FastAPI: {"detail": "Not Found"} / {"detail": "Method Not Allowed"}', async () => {
    const nf = await call('GET', '/api/hubs');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { detail: 'Not Found' });
    for (const [m, p] of [
      ['POST', '/sessions'],
      ['PATCH', '/sessions/1'],
      ['PUT', '/hubs/oa_hub_a'],
    ] as const) {
      const r = await call(m, p, {});
      assert.equal(r.status, 405, `${m} ${p}`);
      assert.deepEqual(r.json, { detail: 'Method Not Allowed' });
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
    }
    const slash = await call('GET', '/hubs/?limit=1');
    assert.equal(slash.status, 307);
    assert.equal(slash.headers.get('location'), '/hubs?limit=1');
  });

  it('hubs: the list (paged, active_only unpaged), one hub, and the errors', async () => {
    const r = await call('GET', '/hubs?skip=0&limit=100&active_only=false');
    assert.equal(r.status, 200);
    const list = r.json as { items: Obj[]; total: number; skip: number; limit: number };
    assert.deepEqual(Object.keys(list), ['items', 'total', 'skip', 'limit']);
    assert.equal(list.total, 2);
    const a = list.items.find((h) => h.hub_id === 'oa_hub_a')!;
    assert.deepEqual(shape(a), [
      ['lat', 'number'],
      ['lon', 'number'],
      ['alt', 'number'],
      ['max_grid_capacity_kw', 'number'],
      ['hub_id', 'string'],
      ['is_active', 'boolean'],
      ['last_seen', 'string'],
    ]);
    assert.equal(a.max_grid_capacity_kw, 50);
    assert.match(
      r.text,
      /"alt":50\.0,"max_grid_capacity_kw":50\.0,"hub_id":"oa_hub_a"/,
      'floats print as floats',
    );
    assert.match(String(a.last_seen), ISO);
    const page = (await call('GET', '/hubs?skip=1&limit=1')).json as Obj;
    assert.equal((page.items as unknown[]).length, 1);
    assert.deepEqual([page.total, page.skip, page.limit], [2, 1, 1]);
    const active = (await call('GET', '/hubs?active_only=true&skip=5&limit=1')).json as Obj;
    assert.equal((active.items as unknown[]).length, 2, 'a filter returns every match');
    assert.deepEqual([active.total, active.skip, active.limit], [2, 5, 1]);
    const one = await call('GET', '/hubs/oa_hub_b');
    assert.equal((one.json as Obj).lat, 45);
    assert.deepEqual((await call('GET', '/hubs/nope')).json, { detail: 'HubDbo with hub_id=nope not found' });
    const bad = await call('GET', '/hubs?limit=ten');
    assert.equal(bad.status, 422);
    const bj = bad.json as Obj;
    assert.deepEqual(Object.keys(bj), ['error', 'detail', 'code']);
    assert.equal(bj.error, 'Validation Error');
    assert.equal(bj.code, 'VALIDATION_ERROR');
    assert.match(String(bj.detail), /int_parsing.*'query', 'limit'/);
    const neg = await call('GET', '/hubs?limit=-1', undefined, { Origin: 'http://localhost:3000' });
    assert.equal(neg.status, 500, 'the original database refused a negative limit');
    assert.deepEqual(Object.keys(neg.json as Obj), ['error', 'detail', 'code']);
    assert.equal((neg.json as Obj).code, 'INTERNAL_ERROR');
    assert.equal(
      neg.headers.get('access-control-allow-origin'),
      null,
      'the catch-all 500 has no CORS headers',
    );
  });

  it('hubs: create, update, activate/deactivate, delete — each audited as original-api', async () => {
    const body = {
      hub_id: 'oa_new',
      lat: 44.7,
      lon: 10.8,
      alt: 12,
      max_grid_capacity_kw: 80,
      is_active: true,
      ip_address: '192.168.1.20',
      firmware_version: '2.1.0',
    };
    const c = await call('POST', '/hubs', body);
    assert.equal(c.status, 201);
    assert.deepEqual(c.json, {
      lat: 44.7,
      lon: 10.8,
      alt: 12,
      max_grid_capacity_kw: 80,
      hub_id: 'oa_new',
      is_active: true,
      last_seen: null,
    });
    assert.match(c.text, /"alt":12\.0,"max_grid_capacity_kw":80\.0/);
    const dup = await call('POST', '/hubs', body);
    assert.equal(dup.status, 500);
    assert.equal((dup.json as Obj).code, 'INTERNAL_ERROR');
    const inactive = await call('POST', '/hubs', { ...body, hub_id: 'oa_off', is_active: false, lat: null });
    assert.equal(inactive.status, 201);
    assert.deepEqual([(inactive.json as Obj).is_active, (inactive.json as Obj).lat], [false, null]);
    const zero = await call('POST', '/hubs', { ...body, hub_id: 'oa_zero', max_grid_capacity_kw: 0 });
    assert.equal(zero.status, 422);
    assert.match(String((zero.json as Obj).detail), /greater_than.*max_grid_capacity_kw/);
    const ip = await call('POST', '/hubs', { ...body, hub_id: 'oa_ip', ip_address: 'not-an-ip' });
    assert.equal(ip.status, 422, 'the twin takes IP addresses only');
    assert.match(String((ip.json as Obj).detail), /ip_address/);

    const p = await call('PATCH', '/hubs/oa_new', { max_grid_capacity_kw: 60, lat: 44.71 });
    assert.equal(p.status, 200);
    assert.deepEqual(
      [(p.json as Obj).max_grid_capacity_kw, (p.json as Obj).lat, (p.json as Obj).lon],
      [60, 44.71, 10.8],
    );
    assert.equal((await call('PATCH', '/hubs/oa_nope', { lat: 1 })).status, 404);
    assert.equal((await call('PATCH', '/hubs/oa_new', { ip_address: '' })).status, 422);
    const off = await call('POST', '/hubs/oa_new/deactivate');
    assert.deepEqual([off.status, (off.json as Obj).is_active], [200, false]);
    const on = await call('POST', '/hubs/oa_new/activate');
    assert.deepEqual([on.status, (on.json as Obj).is_active], [200, true]);
    assert.deepEqual((await call('POST', '/hubs/oa_nope/activate')).json, {
      detail: 'HubDbo with hub_id=oa_nope not found',
    });
    const del = await call('DELETE', '/hubs/oa_new');
    assert.deepEqual([del.status, del.text], [204, '']);
    assert.equal((await call('GET', '/hubs/oa_new')).status, 404);
    assert.deepEqual((await call('DELETE', '/hubs/oa_new')).json, { detail: 'Hub oa_new not found' });
    assert.equal((await call('DELETE', '/hubs/oa_off')).status, 204);

    const audit = await poll(
      () =>
        db.query<{ op: string; note: string }>(
          "SELECT op, note FROM audit_log WHERE actor = 'original-api' AND hub_id = 'oa_new' ORDER BY ts, id",
        ),
      (r) => r.rows.length >= 5,
    );
    assert.deepEqual(
      audit.rows.map((x) => x.op),
      ['hub-upsert', 'hub-upsert', 'hub-active', 'hub-active', 'hub-delete'],
    );
    assert.match(audit.rows[0]!.note, /^original API: POST \/hubs from 127\.0\.0\.1/);
  });

  it('nodes: list (hub_id filter unpaged), one node, a node id two hubs have (409), writes', async () => {
    const all = (await call('GET', '/nodes?limit=100')).json as { items: Obj[]; total: number };
    assert.equal(all.total, 5);
    assert.deepEqual(shape(all.items[0]), [
      ['max_power_kw', 'number'],
      ['node_id', 'string'],
      ['hub_id', 'string'],
      ['is_maintenance', 'boolean'],
    ]);
    const ofB = (await call('GET', '/nodes?limit=1&hub_id=oa_hub_b')).json as Obj;
    assert.deepEqual([(ofB.items as unknown[]).length, ofB.total], [2, 2]);
    const a1 = await call('GET', '/nodes/oa_a1');
    assert.deepEqual(a1.json, {
      max_power_kw: 22,
      node_id: 'oa_a1',
      hub_id: 'oa_hub_a',
      is_maintenance: false,
    });
    assert.match(a1.text, /"max_power_kw":22\.0/);
    const dup = await call('GET', '/nodes/oa_dup');
    assert.equal(dup.status, 409);
    assert.match(String((dup.json as Obj).detail), /oa_dup exists in several hubs \(oa_hub_a, oa_hub_b\)/);
    assert.deepEqual((await call('GET', '/nodes/oa_none')).json, {
      detail: 'NodeDbo with node_id=oa_none not found',
    });

    const c = await call('POST', '/nodes', {
      node_id: 'oa_b2',
      hub_id: 'oa_hub_b',
      max_power_kw: 11,
      is_maintenance: false,
    });
    assert.deepEqual(
      [c.status, c.json],
      [201, { max_power_kw: 11, node_id: 'oa_b2', hub_id: 'oa_hub_b', is_maintenance: false }],
    );
    assert.equal((await call('POST', '/nodes', { node_id: 'oa_b2', hub_id: 'oa_hub_b' })).status, 500);
    assert.equal(
      (await call('POST', '/nodes', { node_id: 'oa_a1', hub_id: 'oa_hub_b' })).status,
      500,
      'ids are global',
    );
    assert.deepEqual((await call('POST', '/nodes', { node_id: 'x', hub_id: 'oa_nohub' })).json, {
      detail: 'HubDbo with hub_id=oa_nohub not found',
    });
    assert.equal(
      (await call('POST', '/nodes', { node_id: 'x', hub_id: 'oa_hub_b', max_power_kw: 400 })).status,
      422,
    );
    const p = await call('PATCH', '/nodes/oa_b2', { max_power_kw: 7.5, is_maintenance: true });
    assert.deepEqual(p.json, {
      max_power_kw: 7.5,
      node_id: 'oa_b2',
      hub_id: 'oa_hub_b',
      is_maintenance: true,
    });
    const m = await call('POST', '/nodes/oa_b2/maintenance?maintenance=false');
    assert.equal((m.json as Obj).is_maintenance, false);
    const missing = await call('POST', '/nodes/oa_b2/maintenance');
    assert.equal(missing.status, 422);
    assert.match(String((missing.json as Obj).detail), /'missing'.*'query', 'maintenance'/);
    assert.equal((await call('POST', '/nodes/oa_dup/maintenance?maintenance=true')).status, 409);
    assert.equal((await call('DELETE', '/nodes/oa_b2')).status, 204);
    assert.deepEqual((await call('DELETE', '/nodes/oa_b2')).json, { detail: 'Node oa_b2 not found' });
  });
});
