// The control plane in PostgreSQL (real server): migration 002, every change type the twin
// reports mapped to rows, the audit log, DLM events by source (limits in force only from the
// orchestrator's), and the restore of overrides, registrations and assignments.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase } from '../helpers/services';
import {
  InvalidRowError,
  createPool,
  controlsAfter,
  createRepository,
  lastAuditId,
  loadState,
  migrate,
  MIGRATIONS,
  toTimestamp,
  WriteQueue,
  type Repository,
} from '../../adapters/postgres';
import {
  changesToWrites,
  dlmCommandToWrite,
  inboundDlmEventToWrite,
  loadedStateToSnapshot,
} from '../../adapters/postgres/twin-mapping';
import { decode } from '../../core/contract';
import { Twin, type TwinChange } from '../../core/twin';
import type { DlmCommand } from '../../core/dlm/types';
import { Feed, T0 } from '../core/twin-feed';

describe('postgres control plane (integration)', function () {
  this.timeout(60000);
  let pool: pg.Pool;
  let repo: Repository;

  /** Writes changes through the write queue, as wpt-store does; nothing may be refused. */
  async function store(changes: readonly TwinChange[]): Promise<void> {
    const q = new WriteQueue(repo, { flushMs: 1 });
    q.enqueueAll(changesToWrites(changes));
    assert.equal(await q.flush(), true, q.stats().lastError ?? '');
    assert.deepEqual([q.stats().rejected, q.stats().dropped], [0, 0], q.stats().lastError ?? '');
    await q.close();
  }
  const rows = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> =>
    (await pool.query<R>(sql, values)).rows;

  before(async () => {
    pool = createPool({ connectionString: await createTestDatabase('wpt_ctl'), max: 4 });
    await migrate(pool);
    repo = createRepository(pool);
  });
  beforeEach(() =>
    pool.query(
      'TRUNCATE hubs, nodes, vehicles, charging_sessions, dlm_events, audit_log RESTART IDENTITY CASCADE',
    ),
  );
  after(() => pool?.end());

  it('migration 002 moves availability out of is_active and keeps operator maintenance apart', async () => {
    const p = createPool({ connectionString: await createTestDatabase('wpt_ctl_mig'), max: 2 });
    try {
      await migrate(p, () => {}, MIGRATIONS.slice(0, 1));
      await p.query(`INSERT INTO hubs (hub_id, state, is_active) VALUES ('h_up', 'online', true),
        ('h_down', 'offline', false), ('h_maint', 'maintenance', false)`);
      await p.query(`INSERT INTO nodes (hub_id, node_id, is_maintenance) VALUES ('h_up', 'n_op', true),
        ('h_up', 'n_ok', false), ('h_maint', 'n_hub', true)`);
      const r = await migrate(p, () => {}, MIGRATIONS.slice(0, 2));
      assert.deepEqual(r.applied, ['002_control_plane']);
      assert.deepEqual(
        (await p.query('SELECT hub_id, is_active, available, registered FROM hubs ORDER BY hub_id')).rows,
        [
          { hub_id: 'h_down', is_active: true, available: false, registered: false },
          { hub_id: 'h_maint', is_active: true, available: false, registered: false },
          { hub_id: 'h_up', is_active: true, available: true, registered: false },
        ],
      );
      assert.deepEqual(
        (await p.query('SELECT node_id, operator_maintenance FROM nodes ORDER BY node_id')).rows,
        [
          { node_id: 'n_hub', operator_maintenance: false },
          { node_id: 'n_ok', operator_maintenance: false },
          { node_id: 'n_op', operator_maintenance: true },
        ],
      );
    } finally {
      await p.end();
    }
  });

  it('maps every report change to rows: hub/node status, telemetry, vehicle telemetry, a hub DLM event', async () => {
    const f = new Feed(new Twin({ staleAfterS: 3600 }));
    const all: TwinChange[] = [];
    const put = (c: TwinChange[]): void => void all.push(...c);
    put(f.hubInfo('hub_01', T0, 120));
    put(f.hubStatus('hub_01', 'online', T0 + 1000, {}, 51));
    put(f.nodeInfo('hub_01', 'node_01', T0));
    put(f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1000));
    put(f.telemetry('hub_01', 'node_01', 33, 'v1', 40, T0 + 2000));
    put(f.vehicle('v1', 41, T0 + 3000, {}, 45));
    put(f.dlmEvent('hub_01', 'node_01', 20, T0 + 4000, { source: 'wpt-dlm', allocation_id: 'forged' }));
    await store(all);
    assert.deepEqual(
      await rows('SELECT hub_id, state, cpu_temp, available, is_active, max_grid_capacity_kw FROM hubs'),
      [
        {
          hub_id: 'hub_01',
          state: 'online',
          cpu_temp: 51,
          available: true,
          is_active: true,
          max_grid_capacity_kw: 120,
        },
      ],
    );
    const [n] = await rows('SELECT state, current_vehicle_id, power_kw, last_seen FROM nodes');
    assert.deepEqual(n, {
      state: 'charging',
      current_vehicle_id: 'v1',
      power_kw: 33,
      last_seen: new Date(T0 + 2000),
    });
    const [v] = await rows('SELECT latitude, soc, soc_source, last_seen FROM vehicles');
    assert.deepEqual(v, { latitude: 45, soc: 41, soc_source: 'vehicle', last_seen: new Date(T0 + 3000) });
    assert.deepEqual(await rows('SELECT source, claimed_source, allocation_id, new_limit FROM dlm_events'), [
      { source: 'hub', claimed_source: 'wpt-dlm', allocation_id: 'forged', new_limit: 20 },
    ]);
  });

  it('stores the operator settings, assignments and an audit record of every command; deletes remove rows, history stays', async () => {
    const f = new Feed(new Twin({ staleAfterS: 3600 }));
    const all: TwinChange[] = [];
    const op = (cmd: object, at: number): void => void all.push(...f.twin.operate(cmd, 'ann', at).changes);
    f.site('hub_01', 2, T0); // (the site's own changes are not stored here: the commands' are)
    op({ op: 'hub-upsert', hub_id: 'hub_01', note: 'O\'Brien\'s "site"' }, T0 + 1);
    op({ op: 'hub-active', hub_id: 'hub_01', active: false }, T0 + 2);
    op(
      {
        op: 'hub-capacity-override',
        hub_id: 'hub_01',
        override: { kw: 60, from_ms: T0, until_ms: T0 + 3_600_000 },
      },
      T0 + 3,
    );
    op({ op: 'node-upsert', hub_id: 'hub_01', node_id: 'node_03', name: 'Bay 3', max_power_kw: 22 }, T0 + 4);
    op({ op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_01', kw: 11 }, T0 + 5);
    op({ op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_02', maintenance: true }, T0 + 6);
    op(
      { op: 'vehicle-upsert', vehicle_id: 'v1', priority: true, model: 'Van', battery_capacity_kwh: 75 },
      T0 + 7,
    );
    op({ op: 'hub-active', hub_id: 'hub_01', active: true }, T0 + 8);
    all.push(...f.request('hub_01', 'node_01', 'v1', 30, T0 + 9));
    await store(all);
    const [h] = await rows(
      'SELECT is_active, registered, capacity_override_kw, capacity_override_from, capacity_override_until FROM hubs',
    );
    assert.deepEqual(h, {
      is_active: true,
      registered: true,
      capacity_override_kw: 60,
      capacity_override_from: new Date(T0),
      capacity_override_until: new Date(T0 + 3_600_000),
    });
    assert.deepEqual(
      await rows(`SELECT node_id, name, max_power_kw, registered, operator_maintenance, is_maintenance,
        max_power_override_kw, assigned_vehicle_id, assigned_at, assigned_ts, assigned_soc FROM nodes ORDER BY node_id`),
      [
        {
          node_id: 'node_01',
          name: null,
          max_power_kw: 78,
          registered: false,
          operator_maintenance: false,
          is_maintenance: false,
          max_power_override_kw: 11,
          assigned_vehicle_id: 'v1',
          assigned_at: new Date(T0 + 9),
          assigned_ts: new Date(T0 + 9),
          assigned_soc: 30,
        },
        {
          node_id: 'node_02',
          name: null,
          max_power_kw: 78,
          registered: false,
          operator_maintenance: true,
          is_maintenance: true,
          max_power_override_kw: null,
          assigned_vehicle_id: null,
          assigned_at: null,
          assigned_ts: null,
          assigned_soc: null,
        },
        {
          node_id: 'node_03',
          name: 'Bay 3',
          max_power_kw: 22,
          registered: true,
          operator_maintenance: false,
          is_maintenance: false,
          max_power_override_kw: null,
          assigned_vehicle_id: null,
          assigned_at: null,
          assigned_ts: null,
          assigned_soc: null,
        },
      ],
    );
    assert.deepEqual(
      await rows('SELECT vehicle_id, model, priority, battery_capacity_kwh, registered FROM vehicles'),
      [{ vehicle_id: 'v1', model: 'Van', priority: true, battery_capacity_kwh: 75, registered: true }],
    );
    const audit = await rows<{
      op: string;
      actor: string;
      hub_id: string | null;
      before: unknown;
      after: unknown;
      note: string | null;
    }>('SELECT op, actor, hub_id, node_id, vehicle_id, before, after, note FROM audit_log ORDER BY id');
    assert.deepEqual(
      audit.map((a) => a.op),
      [
        'hub-upsert',
        'hub-active',
        'hub-capacity-override',
        'node-upsert',
        'node-max-power-override',
        'node-maintenance',
        'vehicle-upsert',
        'hub-active',
      ],
    );
    assert.equal(audit[0]?.note, 'O\'Brien\'s "site"');
    assert.deepEqual([audit[1]?.before, audit[1]?.after], [{ active: true }, { active: false }]);
    assert.deepEqual(audit[2]?.after, { capacityOverride: { kw: 60, fromMs: T0, untilMs: T0 + 3_600_000 } });
    assert.ok(audit.every((a) => a.actor === 'ann'));
    // The audit log is idempotent: the same changes written again add nothing.
    await store(all);
    assert.equal((await rows('SELECT count(*)::int AS n FROM audit_log'))[0]?.n, 8);

    // Deletes: a charging node's session is closed and kept; the hub goes with its nodes.
    const more: TwinChange[] = [...f.nodeStatus('hub_01', 'node_02', 'charging', 'v2', T0 + 10)];
    more.push(...f.twin.operate({ op: 'vehicle-delete', vehicle_id: 'v1' }, 'ann', T0 + 11).changes);
    more.push(...f.twin.operate({ op: 'hub-delete', hub_id: 'hub_01' }, 'bob', T0 + 12).changes);
    await store(more);
    assert.deepEqual(await rows('SELECT hub_id FROM hubs'), []);
    assert.deepEqual(await rows('SELECT node_id FROM nodes'), []);
    assert.deepEqual(await rows('SELECT vehicle_id FROM vehicles ORDER BY 1'), [{ vehicle_id: 'v2' }]);
    assert.deepEqual(
      await rows('SELECT node_id, close_reason, end_time IS NOT NULL AS closed FROM charging_sessions'),
      [{ node_id: 'node_02', close_reason: 'operator', closed: true }],
    );
    const last = await rows('SELECT op, actor, before, after FROM audit_log ORDER BY id DESC LIMIT 2');
    assert.deepEqual(
      last.map((a) => [a.op, a.actor, a.after]),
      [
        ['hub-delete', 'bob', null],
        ['vehicle-delete', 'ann', null],
      ],
    );
    const page = await repo.listAuditLog({ hubId: 'hub_01', limit: 3, offset: 0 });
    assert.equal(page.total, 8, 'every record about hub_01 (the vehicle ones have no hub)');
    assert.equal(page.items.length, 3);
    assert.equal(page.items[0]?.op, 'hub-delete');
  });

  it('restores overrides, registrations, maintenance, assignments and an ended session from the rows', async () => {
    const all: TwinChange[] = [];
    const feed = (c: TwinChange[]): void => void all.push(...c);
    // Everything the twin said from the start (as wpt-store would have seen it).
    const g = new Feed(new Twin({ staleAfterS: 10, assignmentTimeoutS: 600 }));
    feed(g.hubInfo('hub_01', T0, 100));
    feed(g.hubStatus('hub_01', 'online', T0));
    for (const n of ['node_01', 'node_02']) {
      feed(g.nodeInfo('hub_01', n, T0, 50));
      feed(g.nodeStatus('hub_01', n, 'idle', null, T0));
    }
    const op = (cmd: object): void => feed(g.twin.operate(cmd, 'ann', T0 + 100).changes);
    op({ op: 'hub-upsert', hub_id: 'hub_01' });
    op({ op: 'hub-capacity-override', hub_id: 'hub_01', override: { kw: 40 } });
    op({ op: 'node-max-power-override', hub_id: 'hub_01', node_id: 'node_02', kw: 7 });
    op({ op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_02', maintenance: true });
    op({ op: 'vehicle-upsert', vehicle_id: 'v1', priority: true });
    feed(g.request('hub_01', 'node_01', 'v1', 22, T0 + 200, { now: T0 + 250 }));
    feed(g.nodeStatus('hub_01', 'node_02', 'charging', 'v9', T0 + 300));
    op({ op: 'session-end', hub_id: 'hub_01', node_id: 'node_02', note: 'stuck' });
    feed(g.telemetry('hub_01', 'node_01', 0, null, 0, T0 + 5000));
    await store(all);

    const restored = Twin.restore(
      loadedStateToSnapshot(await loadState(pool)),
      { staleAfterS: 10, assignmentTimeoutS: 600 },
      T0 + 9000,
    );
    const hub = restored.hub('hub_01');
    assert.deepEqual(
      [hub?.registered, hub?.active, hub?.capacityOverride],
      [true, true, { kw: 40, fromMs: null, untilMs: null }],
    );
    assert.equal(hub?.available, true, 'its node spoke 4 s before the restart (nodes.last_seen)');
    const n1 = restored.node('hub_01', 'node_01');
    assert.deepEqual(
      [n1?.assignedVehicleId, n1?.assignedAtMs, n1?.assignedTs, n1?.assignedSoc],
      ['v1', T0 + 250, T0 + 200, 22],
    );
    const n2 = restored.node('hub_01', 'node_02');
    assert.deepEqual(
      [n2?.maxPowerOverrideKw, n2?.operatorMaintenance, n2?.operatorEndedVehicleId],
      [7, true, 'v9'],
    );
    assert.equal(restored.vehicle('v1')?.registered, true);
    assert.equal(restored.vehicle('v1')?.priority, true);
    // Compare with the twin that made the rows: same settings.
    for (const k of ['registered', 'active', 'capacityOverride'] as const)
      assert.deepEqual(hub?.[k], g.twin.hub('hub_01')?.[k]);
    // After a restart much later, the hub is stale (no grace), its settings unchanged.
    const late = Twin.restore(loadedStateToSnapshot(await loadState(pool)), {}, T0 + 3_600_000);
    assert.equal(late.isAvailable('hub_01'), false);
  });

  it("restores the limits in force only from the orchestrator's events, never from one heard on the broker", async () => {
    const cmd = (nodeId: string, kw: number, ts: number, allocationId: string): DlmCommand => ({
      hubId: 'hub_01',
      nodeId,
      originalLimitKw: 0,
      newLimitKw: kw,
      attempt: 1,
      reason: 'VEHICLE_CONNECTED',
      allocationId,
      ts,
      totalGridLoadKw: kw,
      availableCapacityKw: 100 - kw,
    });
    const q = new WriteQueue(repo, { flushMs: 1 });
    q.enqueue(dlmCommandToWrite(cmd('node_01', 22.1234567, T0, 'a1'), 'soc-priority'));
    q.enqueue(dlmCommandToWrite(cmd('node_02', 10, T0, 'a1')));
    // A forged event, newer, claiming to be ours: stored as the hub's.
    const forged = decode(
      'iot/hubs/hub_01/dlm/events',
      JSON.stringify({
        trigger_reason: 'RESYNC',
        original_limit: 0,
        new_limit: 350,
        affected_node_id: 'node_01',
        total_grid_load: 350,
        available_capacity: 0,
        source: 'wpt-dlm',
        allocation_id: 'a2',
        timestamp: new Date(T0 + 5000).toISOString(),
      }),
      T0,
    );
    assert.ok(forged.ok);
    if (forged.ok && forged.msg.kind === 'dlmEvent') q.enqueue(inboundDlmEventToWrite(forged.msg));
    await q.flush();
    await q.close();
    const st = await loadState(pool);
    assert.deepEqual(
      st.lastLimits.map((l) => [l.node_id, l.new_limit]),
      [
        ['node_01', 22.123457],
        ['node_02', 10],
      ],
    );
    assert.deepEqual(
      await rows('SELECT node_id, source, claimed_source, policy FROM dlm_events ORDER BY id'),
      [
        { node_id: 'node_01', source: 'orchestrator', claimed_source: null, policy: 'soc-priority' },
        { node_id: 'node_02', source: 'orchestrator', claimed_source: null, policy: null },
        { node_id: 'node_01', source: 'hub', claimed_source: 'wpt-dlm', policy: null },
      ],
    );
  });

  it("recognises the broker's echo of our own event: one row, the orchestrator's, whichever is written first", async () => {
    const c: DlmCommand = {
      hubId: 'hub_01',
      nodeId: 'node_01',
      originalLimitKw: 5,
      newLimitKw: 7.5,
      attempt: 1,
      reason: 'REBALANCE',
      allocationId: 'x9',
      ts: T0 + 123,
      totalGridLoadKw: 7.5,
      availableCapacityKw: 2.5,
    };
    const echo = decode(
      'iot/hubs/hub_01/dlm/events',
      JSON.stringify({
        trigger_reason: 'REBALANCE',
        original_limit: 5,
        new_limit: 7.5,
        affected_node_id: 'node_01',
        total_grid_load: 7.5,
        available_capacity: 2.5,
        source: 'wpt-dlm',
        allocation_id: 'x9',
        owner_epoch: 7,
        timestamp: new Date(T0 + 123).toISOString(),
      }),
      T0,
    );
    assert.ok(echo.ok && echo.msg.kind === 'dlmEvent');
    if (!echo.ok || echo.msg.kind !== 'dlmEvent') return;
    // Echo first (in another batch), then ours; the echo's owner_epoch (cluster mode) is not
    // kept (a hub's claim), ours replaces it.
    await repo.insertDlmEvents([inboundDlmEventToWrite(echo.msg).row as never]);
    assert.deepEqual(await rows('SELECT source, owner_epoch FROM dlm_events'), [
      { source: 'hub', owner_epoch: null },
    ]);
    await repo.insertDlmEvents([dlmCommandToWrite(c, null, 7).row as never]);
    await repo.insertDlmEvents([inboundDlmEventToWrite(echo.msg).row as never]);
    assert.deepEqual(
      await rows('SELECT source, claimed_source, new_limit, owner_epoch::int AS owner_epoch FROM dlm_events'),
      [{ source: 'orchestrator', claimed_source: null, new_limit: 7.5, owner_epoch: 7 }],
    );
    assert.deepEqual(
      (await loadState(pool)).lastLimits.map((l) => l.new_limit),
      [7.5],
    );
  });

  it('never sends PostgreSQL a NUL or a time it cannot store', async () => {
    // A node name with a NUL from a device: stored with U+FFFD; also inside the audit jsonb.
    const f = new Feed();
    const c = f.nodeInfo('hub_01', 'node_01', T0);
    const named = c.map((x) =>
      x.type === 'node-upserted' ? { ...x, node: { ...x.node, name: 'bay\u00001' } } : x,
    ) as TwinChange[];
    await store(named);
    assert.deepEqual(await rows('SELECT name FROM nodes'), [{ name: 'bay\uFFFD1' }]);
    const audit: TwinChange = {
      type: 'operator-action',
      ts: T0,
      actor: 'ann',
      op: 'node-delete',
      target: { hubId: 'hub_01', nodeId: 'node_01' },
      before: { name: 'bay\u00001' },
      after: null,
      note: null,
    };
    await store([audit]);
    assert.deepEqual(await rows('SELECT before FROM audit_log'), [{ before: { name: 'bay\uFFFD1' } }]);
    // The repository refuses, before any SQL, what would still carry one.
    await assert.rejects(
      repo.upsertNodes([{ hub_id: 'hub_01', node_id: 'node_01', name: 'a\u0000' }]),
      InvalidRowError,
    );
    await assert.rejects(
      repo.insertAuditLog([{ event_key: 'k', ts: T0, actor: 'a\u0000', op: 'x' }]),
      InvalidRowError,
    );
    assert.throws(() => toTimestamp('0000-01-01T00:00:00Z', 'from'), /from: outside the years 1 to 9999/);
    assert.throws(() => toTimestamp(-1e15, 'ts'), InvalidRowError);
    assert.equal(toTimestamp('0001-01-01T00:00:00Z'), '0001-01-01T00:00:00Z');
  });
  it('controlsAfter: the settings operators changed after an audit id, and what they deleted (gone now)', async () => {
    const f = new Feed(new Twin({ staleAfterS: 3600 }));
    const all: TwinChange[] = [];
    const put = (c: TwinChange[]): void => void all.push(...c);
    const op = (cmd: object, at: number): void => put(f.twin.operate(cmd, 'ann', at).changes);
    put(f.hubInfo('hub_01', T0, 120));
    put(f.hubInfo('hub_02', T0, 80));
    for (const n of ['node_01', 'node_02']) put(f.nodeInfo('hub_01', n, T0));
    put(f.vehicle('v1', 41, T0 + 1, {}, 45));
    put(f.vehicle('v2', 60, T0 + 1, {}, 45));
    await store(all.splice(0));
    const start = await lastAuditId(pool, 0);
    op({ op: 'hub-active', hub_id: 'hub_01', active: false }, T0 + 10);
    op({ op: 'node-delete', hub_id: 'hub_01', node_id: 'node_02' }, T0 + 11);
    op({ op: 'hub-delete', hub_id: 'hub_02' }, T0 + 12);
    op({ op: 'vehicle-delete', vehicle_id: 'v1' }, T0 + 13);
    op({ op: 'vehicle-delete', vehicle_id: 'v2' }, T0 + 14);
    // v2 is registered again after its delete: it has a row, so it is not reported deleted.
    op({ op: 'vehicle-upsert', vehicle_id: 'v2', priority: true }, T0 + 15);
    await store(all.splice(0));
    const r = await controlsAfter(pool, start);
    assert.deepEqual(
      r.hubs.map((h) => [h.hub_id, h.is_active]),
      [['hub_01', false]],
    );
    assert.deepEqual(
      r.vehicles.map((v) => v.vehicle_id),
      ['v2'],
    );
    assert.deepEqual(r.deleted, {
      hubs: ['hub_02'],
      nodes: [{ hubId: 'hub_01', nodeId: 'node_02' }],
      vehicles: ['v1'],
    });
    assert.equal(r.lastId, start + 6);
    // Nothing after the last one read.
    assert.deepEqual(await controlsAfter(pool, r.lastId), {
      lastId: r.lastId,
      hubs: [],
      nodes: [],
      vehicles: [],
      deleted: { hubs: [], nodes: [], vehicles: [] },
    });
  });
});
