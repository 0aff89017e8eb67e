// PostgreSQL adapter against a real server: migrations, repository upserts and reads.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase } from '../helpers/services';
import {
  checkHealth,
  createPool,
  createRepository,
  migrate,
  MIGRATIONS,
  type Repository,
  type SessionUpsert,
  type DlmEventInsert,
} from '../../adapters/postgres';
import { dlmCommandToWrite, inboundDlmEventToWrite } from '../../adapters/postgres/twin-mapping';
import { decode } from '../../core/contract';
import type { DlmCommand } from '../../core/dlm';

const T0 = Date.parse('2026-11-26T07:00:00Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

function strip<T extends object>(rows: T[]): Omit<T, 'updated_at' | 'created_at'>[] {
  return rows.map((r) => {
    const {
      updated_at: _u,
      created_at: _c,
      ...rest
    } = r as T & { updated_at?: unknown; created_at?: unknown };
    return rest;
  });
}

describe('postgres adapter (integration)', function () {
  this.timeout(60000);
  let url: string;
  let pool: pg.Pool;
  let repo: Repository;

  before(async function () {
    url = await createTestDatabase('wpt_pg');
    pool = createPool({ connectionString: url, max: 4 });
    repo = createRepository(pool);
  });

  after(async () => {
    await pool?.end();
  });

  describe('pool', () => {
    it('reports health of a reachable server and of an unreachable one', async () => {
      const ok = await checkHealth(pool, 5000);
      assert.equal(ok.ok, true);
      assert.equal(typeof ok.latencyMs, 'number');
      const bad = createPool({
        connectionString: 'postgres://x:y@127.0.0.1:1/none',
        connectionTimeoutMillis: 500,
      });
      try {
        const r = await checkHealth(bad, 3000);
        assert.equal(r.ok, false);
        assert.ok(r.error && r.error.length > 0);
      } finally {
        await bad.end();
      }
    });

    it('applies statement_timeout to every connection', async () => {
      const p = createPool({ connectionString: url, statementTimeoutMillis: 200, max: 1 });
      try {
        await assert.rejects(p.query('SELECT pg_sleep(2)'), /statement timeout/);
        const r = await p.query<{ statement_timeout: string }>('SHOW statement_timeout');
        assert.equal(r.rows[0]?.statement_timeout, '200ms');
      } finally {
        await p.end();
      }
    });

    it('survives a server-side kill of an idle connection (pool error event handled)', async () => {
      const errors: Error[] = [];
      const p = createPool({ connectionString: url, max: 1, onError: (e) => errors.push(e) });
      try {
        const pid = (await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        await pool.query('SELECT pg_terminate_backend($1)', [pid]);
        for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(errors.length >= 1, 'the idle client error reached onError');
        assert.equal((await p.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
      } finally {
        await p.end();
      }
    });
  });

  describe('migrations', () => {
    it('applies once, then is a no-op', async () => {
      const first = await migrate(pool);
      assert.deepEqual(
        first.applied,
        MIGRATIONS.map((m) => m.id),
      );
      assert.equal(first.current, MIGRATIONS[MIGRATIONS.length - 1]?.id);
      const second = await migrate(pool);
      assert.deepEqual(second, { applied: [], current: first.current });
      const tables = await pool.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      assert.deepEqual(
        tables.rows.map((r) => r.t),
        [
          'audit_log',
          'charging_sessions',
          'cluster_instances',
          'dlm_events',
          'hub_leases',
          'hubs',
          'nodes',
          'schema_migrations',
          'vehicles',
        ],
      );
      const col = await pool.query<{ data_type: string; is_nullable: string }>(
        `SELECT data_type, is_nullable FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = 'dlm_events' AND column_name = 'owner_epoch'`,
      );
      assert.deepEqual(
        col.rows,
        [{ data_type: 'bigint', is_nullable: 'YES' }],
        '005_owner_epoch on a fresh database',
      );
    });

    it('applies 005_owner_epoch on a database already at 004: the rows there get NULL; idempotent', async () => {
      const url2 = await createTestDatabase('wpt_pg_m005');
      const p2 = createPool({ connectionString: url2, max: 2 });
      try {
        const upTo004 = MIGRATIONS.filter((m) => m.id <= '004_cluster');
        assert.equal((await migrate(p2, () => {}, upTo004)).current, '004_cluster');
        await p2.query(
          `INSERT INTO dlm_events (event_key, hub_id, node_id, trigger_reason, new_limit, ts)
           VALUES ('before-005', 'H', 'N', 'REBALANCE', 3, now())`,
        );
        const r = await migrate(p2);
        assert.deepEqual(r, { applied: ['005_owner_epoch'], current: '005_owner_epoch' });
        const rows = await p2.query(`SELECT event_key, owner_epoch FROM dlm_events`);
        assert.deepEqual(rows.rows, [{ event_key: 'before-005', owner_epoch: null }]);
        // Idempotent like the others: its statement runs again without error.
        const m005 = MIGRATIONS.find((m) => m.id === '005_owner_epoch');
        assert.ok(m005);
        await p2.query(m005.sql);
        assert.deepEqual((await migrate(p2)).applied, []);
      } finally {
        await p2.end();
      }
    });

    it('is safe when two instances migrate one fresh database at the same time', async () => {
      const url2 = await createTestDatabase('wpt_pg_mig');
      const a = createPool({ connectionString: url2, max: 2 });
      const b = createPool({ connectionString: url2, max: 2 });
      try {
        const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
        const all = [...ra.applied, ...rb.applied].sort();
        assert.deepEqual(all, MIGRATIONS.map((m) => m.id).sort(), 'each migration applied exactly once');
        assert.equal(ra.current, rb.current);
        const n = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        assert.equal(n.rows[0]?.n, MIGRATIONS.length);
        // The advisory lock was released: a third run does not block.
        assert.deepEqual((await migrate(b)).applied, []);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    });

    it('rolls back a failing migration and leaves no version behind', async () => {
      const logs: string[] = [];
      await assert.rejects(
        migrate(pool, (l) => logs.push(l), [
          ...MIGRATIONS,
          { id: '999_broken', sql: 'CREATE TABLE half_done (x int); SELECT * FROM no_such_table' },
        ]),
        /999_broken/,
      );
      const t = await pool.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`);
      assert.equal(t.rowCount, 0);
      const v = await pool.query(`SELECT 1 FROM schema_migrations WHERE id = '999_broken'`);
      assert.equal(v.rowCount, 0);
      assert.ok(logs.some((l) => l.includes('999_broken')));
    });
  });

  describe('hubs, nodes, vehicles', () => {
    before(() => migrate(pool));

    it('upserts a batch idempotently (same batch twice gives the same rows)', async () => {
      const hubs = [
        {
          hub_id: 'H-A',
          latitude: 48.1,
          longitude: 11.5,
          altitude: 520,
          max_grid_capacity_kw: 100,
          ip_address: '10.0.0.1',
          firmware_version: '1.2.3',
          state: 'online',
          cpu_temp: 45.5,
          last_seen: at(0),
        },
        {
          hub_id: 'H-B',
          latitude: -33.9,
          longitude: 151.2,
          max_grid_capacity_kw: 50,
          state: 'online',
          last_seen: at(0),
        },
      ];
      const nodes = [
        { hub_id: 'H-A', node_id: 'N1', name: 'Pad 1', max_power_kw: 22, state: 'idle', last_seen: at(0) },
        {
          hub_id: 'H-A',
          node_id: 'N2',
          max_power_kw: 11,
          state: 'charging',
          current_vehicle_id: 'V1',
          power_kw: 10.5,
          power_limit_kw: 11,
          last_seen: at(0),
        },
        { hub_id: 'H-B', node_id: 'N1', max_power_kw: 50, state: 'idle', last_seen: at(0) },
      ];
      await repo.upsertHubs(hubs);
      await repo.upsertNodes(nodes);
      const h1 = await repo.listHubs();
      const n1 = await repo.listNodes();
      await repo.upsertHubs(hubs);
      await repo.upsertNodes(nodes);
      assert.deepEqual(strip(await repo.listHubs()), strip(h1));
      assert.deepEqual(strip(await repo.listNodes()), strip(n1));
      assert.equal(h1.length, 2);
      assert.equal(n1.length, 3);
      const ha = h1.find((h) => h.hub_id === 'H-A');
      assert.equal(ha?.is_active, true, 'new hubs default to active');
      assert.equal(ha?.cpu_temp, 45.5);
      assert.equal(ha?.last_seen?.toISOString(), at(0));
      const n2 = n1.find((n) => n.node_id === 'N2');
      assert.equal(n2?.current_vehicle_id, 'V1');
      assert.equal(n2?.error_code, 0);
      assert.equal(n2?.is_maintenance, false);
    });

    it('keeps absent fields, clears null ones, and ignores stale rows', async () => {
      await repo.upsertHubs([{ hub_id: 'H-A', state: 'maintenance', cpu_temp: null, last_seen: at(10) }]);
      let h = (await repo.listHubs()).find((x) => x.hub_id === 'H-A');
      assert.equal(h?.state, 'maintenance');
      assert.equal(h?.cpu_temp, null);
      assert.equal(h?.latitude, 48.1, 'absent field kept');
      assert.equal(h?.firmware_version, '1.2.3');
      // An older row (redelivery) changes nothing.
      await repo.upsertHubs([{ hub_id: 'H-A', state: 'online', cpu_temp: 30, last_seen: at(5) }]);
      h = (await repo.listHubs()).find((x) => x.hub_id === 'H-A');
      assert.equal(h?.state, 'maintenance');
      assert.equal(h?.last_seen?.toISOString(), at(10));
      // Node: vehicle leaves (null clears), power kept when absent.
      await repo.upsertNodes([
        { hub_id: 'H-A', node_id: 'N2', state: 'idle', current_vehicle_id: null, last_seen: at(10) },
      ]);
      const n = (await repo.listNodes('H-A')).find((x) => x.node_id === 'N2');
      assert.equal(n?.current_vehicle_id, null);
      assert.equal(n?.state, 'idle');
      assert.equal(n?.power_limit_kw, 11);
    });

    it('creates the hub when a node arrives first', async () => {
      await repo.upsertNodes([{ hub_id: 'H-NEW', node_id: 'N9', max_power_kw: 7 }]);
      const h = (await repo.listHubs()).find((x) => x.hub_id === 'H-NEW');
      assert.ok(h);
      assert.equal(h.latitude, null);
      assert.deepEqual(
        (await repo.listNodes('H-NEW')).map((x) => x.node_id),
        ['N9'],
      );
    });

    it('dedupes one key within a batch: last write wins, partial rows merged', async () => {
      await repo.upsertHubs([
        { hub_id: 'H-D', state: 'online', cpu_temp: 40, last_seen: at(1) },
        { hub_id: 'H-D', latitude: 1.5 },
        { hub_id: 'H-D', state: 'offline', last_seen: at(2) },
      ]);
      const h = (await repo.listHubs()).find((x) => x.hub_id === 'H-D');
      assert.equal(h?.state, 'offline');
      assert.equal(h?.cpu_temp, 40);
      assert.equal(h?.latitude, 1.5);
      assert.equal(h?.last_seen?.toISOString(), at(2));
    });

    it('auto-registers vehicles from telemetry and never overwrites the profile', async () => {
      await repo.upsertVehicles([
        {
          vehicle_id: 'V1',
          soc: 42,
          soc_source: 'reported',
          soc_class: 'normal',
          latitude: 48,
          longitude: 11,
          last_seen: at(0),
        },
      ]);
      let v = await repo.getVehicle('V1');
      assert.equal(v?.soc, 42);
      assert.equal(v?.priority, false);
      assert.equal(v?.model, null);
      const p = await repo.upsertVehicleProfile({
        vehicle_id: 'V1',
        model: 'Model 3',
        manufacturer: 'Tesla',
        driver: 'Ana',
        battery_capacity_kwh: 75,
        priority: true,
      });
      assert.equal(p.model, 'Model 3');
      assert.equal(p.soc, 42, 'profile edit keeps telemetry');
      await repo.upsertVehicles([{ vehicle_id: 'V1', soc: 40, last_seen: at(5) }]);
      v = await repo.getVehicle('V1');
      assert.equal(v?.soc, 40);
      assert.equal(v?.latitude, 48);
      assert.equal(v?.model, 'Model 3');
      assert.equal(v?.driver, 'Ana');
      assert.equal(v?.battery_capacity_kwh, 75);
      assert.equal(v?.priority, true);
      // A partial profile edit keeps the other profile fields; null clears one.
      await repo.upsertVehicleProfile({ vehicle_id: 'V1', driver: null });
      v = await repo.getVehicle('V1');
      assert.equal(v?.driver, null);
      assert.equal(v?.model, 'Model 3');
      assert.equal(v?.priority, true);
      // Registering a profile first creates the vehicle.
      const p2 = await repo.upsertVehicleProfile({ vehicle_id: 'V2', model: 'ID.3' });
      assert.equal(p2.priority, false);
      assert.equal(p2.soc, null);
      assert.equal(await repo.getVehicle('nope'), null);
      assert.deepEqual(
        (await repo.listVehicles()).map((x) => x.vehicle_id),
        ['V1', 'V2'],
      );
    });

    it('rejects an id longer than 50 characters', async () => {
      await assert.rejects(
        repo.upsertHubs([{ hub_id: 'x'.repeat(51) }]),
        (e: { code?: string }) => e.code === '22001',
      );
    });
  });

  describe('charging sessions', () => {
    before(() => migrate(pool));
    const open = (
      id: string,
      hub: string,
      node: string,
      s: number,
      extra: Partial<SessionUpsert> = {},
    ): SessionUpsert => ({
      session_id: id,
      hub_id: hub,
      node_id: node,
      vehicle_id: 'V1',
      start_time: at(s),
      energy_kwh: 0,
      start_soc: 30,
      last_sample_at: at(s),
      ...extra,
    });

    it('is harmless to write the same session rows twice', async () => {
      const rows = [
        open('S1', 'H-A', 'N1', 0),
        open('S1', 'H-A', 'N1', 0, { energy_kwh: 1, last_sample_at: at(60) }),
      ];
      await repo.upsertSessions(rows);
      await repo.upsertSessions(rows);
      const s = await repo.getSession('S1');
      assert.equal(s?.energy_kwh, 1);
      assert.equal(s?.end_time, null);
      assert.equal((await repo.listSessions({ hubId: 'H-A', nodeId: 'N1', limit: 10, offset: 0 })).total, 1);
    });

    it('allows one open session per node, and the same node id in another hub', async () => {
      await assert.rejects(
        repo.upsertSessions([open('S2', 'H-A', 'N1', 10)]),
        (e: { code?: string; constraint?: string }) => {
          return e.code === '23505' && e.constraint === 'charging_sessions_one_open_per_node';
        },
      );
      await repo.upsertSessions([open('S3', 'H-B', 'N1', 10)]);
      const active = await repo.listSessions({ active: true, limit: 10, offset: 0 });
      assert.deepEqual(active.items.map((s) => s.session_id).sort(), ['S1', 'S3']);
    });

    it('closes a session and opens the next on the same node in one batch', async () => {
      await repo.upsertSessions([
        open('S4', 'H-A', 'N1', 200),
        {
          ...open('S1', 'H-A', 'N1', 0),
          end_time: at(120),
          energy_kwh: 2,
          average_power_kw: 60,
          peak_power_kw: 61,
          end_soc: 33,
          close_reason: 'idle',
          last_sample_at: at(120),
        },
      ]);
      const s1 = await repo.getSession('S1');
      assert.equal(s1?.end_time?.toISOString(), at(120));
      assert.equal(s1?.close_reason, 'idle');
      assert.equal(s1?.start_soc, 30);
      assert.equal((await repo.getSession('S4'))?.end_time, null);
    });

    it('never reopens a closed session nor moves energy backwards', async () => {
      // Late duplicate of an earlier open update.
      await repo.upsertSessions([open('S1', 'H-A', 'N1', 0, { energy_kwh: 1, last_sample_at: at(60) })]);
      let s1 = await repo.getSession('S1');
      assert.equal(s1?.end_time?.toISOString(), at(120));
      assert.equal(s1?.energy_kwh, 2);
      // A stale open row while open: energy stays.
      await repo.upsertSessions([open('S4', 'H-A', 'N1', 200, { energy_kwh: 5, last_sample_at: at(300) })]);
      await repo.upsertSessions([open('S4', 'H-A', 'N1', 200, { energy_kwh: 3, last_sample_at: at(250) })]);
      assert.equal((await repo.getSession('S4'))?.energy_kwh, 5);
      // Duplicate close is idempotent.
      await repo.upsertSessions([
        { ...open('S1', 'H-A', 'N1', 0), end_time: at(120), energy_kwh: 2, last_sample_at: at(120) },
      ]);
      s1 = await repo.getSession('S1');
      assert.equal(s1?.energy_kwh, 2);
      assert.equal(s1?.close_reason, 'idle');
      // Late open duplicate and close in one batch: still closed.
      await repo.upsertSessions([
        { ...open('S5', 'H-C', 'N1', 0), end_time: at(50), energy_kwh: 1 },
        open('S5', 'H-C', 'N1', 0),
      ]);
      assert.equal((await repo.getSession('S5'))?.end_time?.toISOString(), at(50));
    });
  });

  describe('DLM events, loadState, lists', () => {
    let db: string;
    let p: pg.Pool;
    let r: Repository;
    before(async () => {
      db = await createTestDatabase('wpt_pg_ev');
      p = createPool({ connectionString: db, max: 4 });
      await migrate(p);
      r = createRepository(p);
    });
    after(() => p.end());

    const ev = (
      key: string,
      hub: string,
      node: string,
      s: number,
      limit: number,
      source = 'orchestrator',
    ): DlmEventInsert => ({
      event_key: key,
      hub_id: hub,
      node_id: node,
      trigger_reason: 'REBALANCE',
      original_limit: 11,
      new_limit: limit,
      total_grid_load: 40,
      available_capacity: 10,
      source,
      allocation_id: `A-${s}`,
      policy: 'equal',
      ts: at(s),
    });

    it('is idempotent by event_key and finds the last orchestrator limit per node', async () => {
      const batch = [
        ev('e1', 'H1', 'N1', 0, 10),
        ev('e2', 'H1', 'N1', 10, 7),
        ev('e3', 'H1', 'N2', 5, 3),
        ev('e4', 'H2', 'N1', 1, 22),
      ];
      assert.equal(await r.insertDlmEvents(batch), 4);
      assert.equal(await r.insertDlmEvents([...batch, ev('e1', 'H1', 'N1', 0, 10)]), 0);
      assert.equal(await r.insertDlmEvents([ev('h1', 'H1', 'N1', 20, 99, 'hub')]), 1);
      const all = await r.listDlmEvents({ limit: 100, offset: 0 });
      assert.equal(all.total, 5);
      assert.equal(all.items[0]?.event_key, 'h1');
      assert.equal(typeof all.items[0]?.id, 'number');
      const st = await r.loadState();
      assert.deepEqual(
        st.lastLimits.map((l) => [l.hub_id, l.node_id, l.new_limit, l.ts.toISOString()]),
        [
          ['H1', 'N1', 7, at(10)],
          ['H1', 'N2', 3, at(5)],
          ['H2', 'N1', 22, at(1)],
        ],
      );
    });

    it('filters and pages DLM events', async () => {
      const byNode = await r.listDlmEvents({ hubId: 'H1', nodeId: 'N1', limit: 100, offset: 0 });
      assert.deepEqual(
        byNode.items.map((e) => e.event_key),
        ['h1', 'e2', 'e1'],
      );
      const since = await r.listDlmEvents({ hubId: 'H1', since: at(5), limit: 100, offset: 0 });
      assert.deepEqual(
        since.items.map((e) => e.event_key),
        ['h1', 'e2', 'e3'],
      );
      const page = await r.listDlmEvents({ limit: 2, offset: 2 });
      assert.equal(page.total, 5);
      assert.deepEqual(
        page.items.map((e) => e.event_key),
        ['e3', 'e4'],
      );
      const src = await r.listDlmEvents({ source: 'hub', limit: 10, offset: 0 });
      assert.deepEqual(
        src.items.map((e) => e.event_key),
        ['h1'],
      );
    });

    it('filters and pages sessions', async () => {
      const mk = (
        id: string,
        hub: string,
        node: string,
        veh: string,
        s: number,
        e: number | null,
      ): SessionUpsert => ({
        session_id: id,
        hub_id: hub,
        node_id: node,
        vehicle_id: veh,
        start_time: at(s),
        end_time: e === null ? null : at(e),
        energy_kwh: 1,
      });
      await r.upsertSessions([
        mk('a', 'H1', 'N1', 'V1', 0, 100),
        mk('b', 'H1', 'N1', 'V2', 200, 300),
        mk('c', 'H1', 'N1', 'V1', 400, null),
        mk('d', 'H1', 'N2', 'V2', 150, null),
        mk('e', 'H2', 'N1', 'V1', 50, 60),
      ]);
      const ids = (p2: { items: { session_id: string }[] }): string[] => p2.items.map((s) => s.session_id);
      assert.deepEqual(ids(await r.listSessions({ limit: 100, offset: 0 })), ['c', 'b', 'd', 'e', 'a']);
      assert.deepEqual(ids(await r.listSessions({ hubId: 'H1', nodeId: 'N1', limit: 100, offset: 0 })), [
        'c',
        'b',
        'a',
      ]);
      assert.deepEqual(ids(await r.listSessions({ nodeId: 'N1', limit: 100, offset: 0 })), [
        'c',
        'b',
        'e',
        'a',
      ]);
      assert.deepEqual(ids(await r.listSessions({ vehicleId: 'V2', limit: 100, offset: 0 })), ['b', 'd']);
      assert.deepEqual(ids(await r.listSessions({ active: true, limit: 100, offset: 0 })), ['c', 'd']);
      assert.deepEqual(ids(await r.listSessions({ active: false, limit: 100, offset: 0 })), ['b', 'e', 'a']);
      // Overlapping [from, to)
      assert.deepEqual(ids(await r.listSessions({ from: at(90), to: at(250), limit: 100, offset: 0 })), [
        'b',
        'd',
        'a',
      ]);
      const page = await r.listSessions({ limit: 2, offset: 1 });
      assert.deepEqual(ids(page), ['b', 'd']);
      assert.equal(page.total, 5);
      const beyond = await r.listSessions({ limit: 2, offset: 10 });
      assert.deepEqual(ids(beyond), []);
      assert.equal(beyond.total, 5);
    });

    it('loads the whole state back (round trip)', async () => {
      await r.upsertHubs([
        {
          hub_id: 'H1',
          latitude: 1,
          longitude: 2,
          max_grid_capacity_kw: 100,
          state: 'online',
          last_seen: at(1),
        },
      ]);
      await r.upsertNodes([
        {
          hub_id: 'H1',
          node_id: 'N1',
          max_power_kw: 22,
          state: 'charging',
          current_vehicle_id: 'V1',
          power_kw: 20,
          power_limit_kw: 22,
          last_seen: at(1),
        },
      ]);
      await r.upsertVehicles([
        { vehicle_id: 'V1', soc: 55.5, soc_source: 'estimated', soc_class: 'normal', last_seen: at(1) },
      ]);
      const st = await r.loadState();
      assert.deepEqual(
        st.hubs.map((h) => [h.hub_id, h.latitude, h.longitude, h.max_grid_capacity_kw, h.state, h.is_active]),
        [['H1', 1, 2, 100, 'online', true]],
      );
      assert.deepEqual(
        st.nodes.map((n) => [
          n.hub_id,
          n.node_id,
          n.max_power_kw,
          n.state,
          n.current_vehicle_id,
          n.power_kw,
          n.power_limit_kw,
        ]),
        [['H1', 'N1', 22, 'charging', 'V1', 20, 22]],
      );
      assert.deepEqual(
        st.vehicles.map((v) => [v.vehicle_id, v.soc, v.soc_source, v.soc_class]),
        [['V1', 55.5, 'estimated', 'normal']],
      );
      assert.deepEqual(
        st.openSessions.map((s) => s.session_id),
        ['c', 'd'],
      );
      assert.ok(st.openSessions.every((s) => s.start_time instanceof Date && s.end_time === null));
    });
  });

  describe('DLM events: owner_epoch (cluster mode)', () => {
    let p: pg.Pool;
    let r: Repository;
    before(async () => {
      p = createPool({ connectionString: await createTestDatabase('wpt_pg_epoch'), max: 2 });
      await migrate(p);
      r = createRepository(p);
    });
    after(() => p.end());

    const cmd = (nodeId: string, i: number): DlmCommand => ({
      hubId: 'HE',
      nodeId,
      originalLimitKw: 0,
      newLimitKw: 5 + i,
      attempt: 1,
      reason: 'REBALANCE',
      allocationId: `HE:${i}`,
      ts: T0 + i,
      totalGridLoadKw: 5 + i,
      availableCapacityKw: 1,
    });
    const epochs = async (hub: string): Promise<Array<[string, number | null]>> =>
      (await r.listDlmEvents({ hubId: hub, limit: 100, offset: 0 })).items
        .map((e): [string, number | null] => [e.allocation_id ?? '', e.owner_epoch])
        .sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }));

    it("stores the payload's owner_epoch (7 read back as 7), NULL without it; a junk value is NULL and the rest of the batch is stored", async () => {
      const junk: unknown[] = ['x', -1, 1.5, 2 ** 53, Number.NaN, '7', null];
      const batch = [
        dlmCommandToWrite(cmd('N1', 0), 'equal', 7),
        dlmCommandToWrite(cmd('N1', 1), 'equal'),
        ...junk.map((v, k) => dlmCommandToWrite(cmd('N2', 2 + k), 'equal', v)),
      ].map((w) => w.row as DlmEventInsert);
      assert.equal(await r.insertDlmEvents(batch), 2 + junk.length);
      // The same junk in rows built by hand (a caller's cast): NULL, never an error for the batch.
      const raw = (i: number, v: unknown): DlmEventInsert => ({
        ...(dlmCommandToWrite(cmd('N3', i)).row as DlmEventInsert),
        owner_epoch: v as number,
      });
      assert.equal(
        await r.insertDlmEvents([raw(20, 0), raw(21, 'x'), raw(22, -1), raw(23, 1.5), raw(24, 12)]),
        5,
      );
      assert.deepEqual(await epochs('HE'), [
        ['HE:0', 7],
        ['HE:1', null],
        ['HE:2', null],
        ['HE:3', null],
        ['HE:4', null],
        ['HE:5', null],
        ['HE:6', null],
        ['HE:7', null],
        ['HE:8', null],
        ['HE:20', 0],
        ['HE:21', null],
        ['HE:22', null],
        ['HE:23', null],
        ['HE:24', 12],
      ]);
      const big = await p.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM dlm_events WHERE owner_epoch IS NOT NULL`,
      );
      assert.equal(big.rows[0]?.n, 3);
    });

    it("stores a hub's event with NULL, whatever owner_epoch it carries (junk included), with the rest of its batch", async () => {
      const hubEvent = (i: number, ownerEpoch: unknown) => {
        const d = decode(
          'iot/hubs/HH/dlm/events',
          JSON.stringify({
            trigger_reason: 'REBALANCE',
            original_limit: 0,
            new_limit: 3,
            affected_node_id: 'N1',
            total_grid_load: 3,
            available_capacity: 0,
            allocation_id: `HH:${i}`,
            owner_epoch: ownerEpoch,
            timestamp: new Date(T0 + i * 1000).toISOString(),
          }),
          T0,
        );
        assert.ok(d.ok && d.msg.kind === 'dlmEvent', `decoded with owner_epoch ${String(ownerEpoch)}`);
        return inboundDlmEventToWrite(d.msg).row as DlmEventInsert;
      };
      const rows = [hubEvent(1, 7), hubEvent(2, 'x'), hubEvent(3, -1), hubEvent(4, 1.5)];
      assert.equal(await r.insertDlmEvents(rows), 4);
      assert.deepEqual(await epochs('HH'), [
        ['HH:1', null],
        ['HH:2', null],
        ['HH:3', null],
        ['HH:4', null],
      ]);
    });
  });

  describe('hostile strings', () => {
    before(() => migrate(pool));
    const hostile = [
      'O\'Brien "quoted"',
      "x'; DROP TABLE hubs; --",
      "Robert'); DELETE FROM vehicles WHERE ('1'='1",
      'ünïcødé 充電 🚗⚡',
      '\\ backslash $1 %s ${x}',
      'z'.repeat(50),
      '🚗'.repeat(50),
    ];

    it('stores and reads them back exactly, in every text column', async () => {
      for (const [i, s] of hostile.entries()) {
        await repo.upsertHubs([{ hub_id: s, firmware_version: s, ip_address: s, state: s }]);
        await repo.upsertNodes([{ hub_id: s, node_id: s, name: s, current_vehicle_id: s, state: s }]);
        await repo.upsertVehicles([{ vehicle_id: s, soc_source: s, soc_class: s }]);
        await repo.upsertVehicleProfile({ vehicle_id: s, model: s, manufacturer: s, driver: s });
        await repo.upsertSessions([
          {
            session_id: `${s}#${i}`,
            hub_id: s,
            node_id: s,
            vehicle_id: s,
            start_time: at(i),
            close_reason: s,
          },
        ]);
        await repo.insertDlmEvents([
          {
            event_key: `${s}#${i}`,
            hub_id: s,
            node_id: s,
            trigger_reason: s,
            new_limit: 1,
            source: s,
            allocation_id: s,
            policy: s,
            ts: at(i),
          },
        ]);
      }
      const hubs = await repo.listHubs();
      const vehicles = await repo.listVehicles();
      for (const [i, s] of hostile.entries()) {
        const h = hubs.find((x) => x.hub_id === s);
        assert.deepEqual([h?.firmware_version, h?.ip_address, h?.state], [s, s, s]);
        const n = (await repo.listNodes(s))[0];
        assert.deepEqual([n?.node_id, n?.name, n?.current_vehicle_id, n?.state], [s, s, s, s]);
        const v = vehicles.find((x) => x.vehicle_id === s);
        assert.deepEqual(
          [v?.soc_source, v?.soc_class, v?.model, v?.manufacturer, v?.driver],
          [s, s, s, s, s],
        );
        const ss = await repo.listSessions({ hubId: s, nodeId: s, vehicleId: s, limit: 10, offset: 0 });
        assert.deepEqual(
          ss.items.map((x) => [x.session_id, x.close_reason]),
          [[`${s}#${i}`, s]],
        );
        const es = await repo.listDlmEvents({ hubId: s, nodeId: s, source: s, limit: 10, offset: 0 });
        assert.deepEqual(
          es.items.map((x) => [x.event_key, x.trigger_reason, x.allocation_id, x.policy]),
          [[`${s}#${i}`, s, s, s]],
        );
      }
      const count = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM hubs');
      assert.ok((count.rows[0]?.n ?? 0) >= hostile.length, 'no table was dropped');
    });
  });
});
