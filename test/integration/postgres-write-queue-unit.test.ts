// WriteQueue with a fake clock and a fake repository (no database): batching, coalescing,
// backoff, bound and drop order, rejects, close.
import assert from 'node:assert/strict';
import {
  WriteQueue,
  type RepositoryWriter,
  type TimerApi,
  type WriteQueueStats,
} from '../../adapters/postgres';

class FakeTimers implements TimerApi {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
  }
  /** Advances time, running due timers in order and letting promises settle in between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle();
    }
    this.t = end;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

type Call = { fn: keyof RepositoryWriter; rows: Record<string, unknown>[] };

function fakeWriter(): RepositoryWriter & {
  calls: Call[];
  down: boolean;
  refuse: (row: Record<string, unknown>) => boolean;
} {
  const w = {
    calls: [] as Call[],
    down: false,
    refuse: (_row: Record<string, unknown>) => false,
  } as RepositoryWriter & { calls: Call[]; down: boolean; refuse: (row: Record<string, unknown>) => boolean };
  const mk =
    (fn: keyof RepositoryWriter) =>
    async (rows: readonly object[]): Promise<number> => {
      const list = rows as Record<string, unknown>[];
      w.calls.push({ fn, rows: [...list] });
      if (w.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (list.some((r) => w.refuse(r)))
        throw Object.assign(new Error('duplicate key value'), { code: '23505' });
      return list.length;
    };
  for (const fn of [
    'upsertHubs',
    'upsertNodes',
    'upsertVehicles',
    'upsertVehicleProfiles',
    'upsertSessions',
    'insertDlmEvents',
    'upsertHubControls',
    'upsertNodeControls',
    'insertAuditLog',
    'deleteEntities',
  ] as const) {
    (w as unknown as Record<string, unknown>)[fn] = mk(fn);
  }
  return w;
}

const okCalls = (w: { calls: Call[] }, fn: keyof RepositoryWriter): Call[] =>
  w.calls.filter((c) => c.fn === fn);

describe('WriteQueue (fake clock)', () => {
  it('flushes after flushMs, in one statement per table, parents first', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 50 });
    q.enqueue({ table: 'sessions', row: { session_id: 's1', hub_id: 'H', node_id: 'N', start_time: 0 } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N', state: 'charging' } });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'online' } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N2' } });
    await clock.advance(49);
    assert.equal(w.calls.length, 0);
    await clock.advance(1);
    assert.deepEqual(
      w.calls.map((c) => [c.fn, c.rows.length]),
      [
        ['upsertHubs', 1],
        ['upsertNodes', 2],
        ['upsertSessions', 1],
      ],
    );
    assert.deepEqual(q.stats(), {
      queued: 0,
      written: 4,
      retries: 0,
      dropped: 0,
      rejected: 0,
      lastError: null,
      connected: true,
    });
  });

  it('flushes at once when batchSize rows wait, and splits larger queues into batches', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 50, batchSize: 3 });
    for (let i = 0; i < 7; i++) q.enqueue({ table: 'vehicles', row: { vehicle_id: `v${i}`, soc: i } });
    await clock.advance(0);
    assert.deepEqual(
      w.calls.map((c) => c.rows.map((r) => r.vehicle_id)),
      [
        ['v0', 'v1', 'v2'],
        ['v3', 'v4', 'v5'],
      ],
    );
    await clock.advance(50);
    assert.deepEqual(
      w.calls[2]?.rows.map((r) => r.vehicle_id),
      ['v6'],
    );
    assert.equal(q.stats().written, 7);
  });

  it('coalesces rows by key: latest wins, partial rows merged', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'online', cpu_temp: 40 } });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'offline' } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N', power_kw: 1 } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H2', node_id: 'N', power_kw: 2 } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N', power_kw: 3 } });
    q.enqueue({
      table: 'sessions',
      row: { session_id: 's', hub_id: 'H', node_id: 'N', start_time: 0, end_time: 10, energy_kwh: 5 },
    });
    q.enqueue({
      table: 'sessions',
      row: { session_id: 's', hub_id: 'H', node_id: 'N', start_time: 0, energy_kwh: 3 },
    });
    q.enqueue({
      table: 'dlmEvents',
      row: { event_key: 'e', hub_id: 'H', node_id: 'N', trigger_reason: 'A', new_limit: 1, ts: 0 },
    });
    q.enqueue({
      table: 'dlmEvents',
      row: { event_key: 'e', hub_id: 'H', node_id: 'N', trigger_reason: 'B', new_limit: 2, ts: 0 },
    });
    assert.equal(q.stats().queued, 5);
    await q.flush();
    assert.deepEqual(okCalls(w, 'upsertHubs')[0]?.rows, [{ hub_id: 'H', state: 'offline', cpu_temp: 40 }]);
    assert.deepEqual(
      okCalls(w, 'upsertNodes')[0]?.rows.map((r) => [r.hub_id, r.power_kw]),
      [
        ['H', 3],
        ['H2', 2],
      ],
    );
    const s = okCalls(w, 'upsertSessions')[0]?.rows[0];
    assert.equal(s?.end_time, 10, 'a late open duplicate does not reopen a queued close');
    assert.equal(s?.energy_kwh, 5);
    assert.equal(
      okCalls(w, 'insertDlmEvents')[0]?.rows[0]?.trigger_reason,
      'A',
      'insert-only: first event wins',
    );
  });

  it('keeps rows and retries with exponential backoff while the database is down', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const statuses: WriteQueueStats[] = [];
    const q = new WriteQueue(w, {
      timers: clock,
      flushMs: 50,
      jitter: 0,
      retryMinMs: 100,
      retryMaxMs: 1000,
      onStatus: (s) => statuses.push(s),
    });
    w.down = true;
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'online' } });
    await clock.advance(50);
    assert.equal(w.calls.length, 1);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [next] = clock.pending();
      assert.ok(next !== undefined);
      times.push(next);
      // Newer data for the same key while down: coalesced with the returned row.
      q.enqueue({ table: 'hubs', row: { hub_id: 'H', cpu_temp: i } });
      await clock.advance(next);
    }
    assert.deepEqual(times, [100, 200, 400, 800, 1000, 1000]);
    let st = q.stats();
    assert.equal(st.connected, false);
    assert.equal(st.retries, 7);
    assert.equal(st.queued, 1);
    assert.match(st.lastError ?? '', /ECONNREFUSED/);
    assert.deepEqual(
      statuses.map((s) => s.connected),
      [false],
    );
    w.down = false;
    await clock.advance(1000);
    st = q.stats();
    assert.equal(st.connected, true);
    assert.equal(st.queued, 0);
    assert.equal(st.written, 1);
    assert.deepEqual(w.calls.at(-1)?.rows, [{ hub_id: 'H', state: 'online', cpu_temp: 5 }]);
    assert.deepEqual(
      statuses.map((s) => s.connected),
      [false, true],
    );
    // Backoff restarts from the minimum after a success.
    w.down = true;
    q.enqueue({ table: 'hubs', row: { hub_id: 'H' } });
    await clock.advance(50);
    assert.deepEqual(clock.pending(), [100]);
  });

  it('applies jitter within ± the configured fraction', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    w.down = true;
    const q = new WriteQueue(w, { timers: clock, jitter: 0.5, retryMinMs: 1000, random: () => 0 });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H' } });
    await clock.advance(50);
    assert.deepEqual(clock.pending(), [500]);
    await q.close(0);
  });

  it('drops the oldest telemetry rows past the bound, never sessions, DLM events or durable rows', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const statuses: WriteQueueStats[] = [];
    const q = new WriteQueue(w, {
      timers: clock,
      maxQueued: 5,
      batchSize: 100,
      onStatus: (s) => statuses.push(s),
    });
    w.down = true;
    q.enqueue({ table: 'sessions', row: { session_id: 's1', hub_id: 'H', node_id: 'N', start_time: 0 } });
    q.enqueue({ table: 'vehicles', row: { vehicle_id: 'v1', soc: 1 } });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H1' }, priority: 'durable' });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'n1' } });
    q.enqueue({ table: 'vehicles', row: { vehicle_id: 'v2', soc: 2 } });
    q.enqueue({ table: 'vehicles', row: { vehicle_id: 'v1', soc: 11 } }); // v1 is now the newest
    assert.equal(q.stats().dropped, 0);
    q.enqueue({
      table: 'dlmEvents',
      row: { event_key: 'e1', hub_id: 'H', node_id: 'N', trigger_reason: 'R', new_limit: 1, ts: 0 },
    });
    assert.equal(q.stats().dropped, 1); // n1 (oldest telemetry)
    q.enqueue({
      table: 'sessions',
      row: { session_id: 's2', hub_id: 'H', node_id: 'N2', start_time: 0 },
      priority: 'telemetry',
    });
    assert.equal(q.stats().dropped, 2); // v2 (sessions are durable whatever the caller says)
    q.enqueue({ table: 'sessions', row: { session_id: 's3', hub_id: 'H', node_id: 'N3', start_time: 0 } });
    q.enqueue({ table: 'sessions', row: { session_id: 's4', hub_id: 'H', node_id: 'N4', start_time: 0 } });
    // Only durable rows left beyond the bound: kept, the queue grows past it.
    assert.deepEqual([q.stats().dropped, q.stats().queued], [3, 6]);
    await clock.advance(50);
    assert.equal(statuses.at(-1)?.dropped, 3, 'drops are reported in the status');
    w.down = false;
    await clock.advance(200); // first retry: 100 ms ± 20 % jitter;
    const ok = (fn: keyof RepositoryWriter): unknown[] =>
      okCalls(w, fn)
        .at(-1)
        ?.rows.map((r) => r.event_key ?? r.session_id ?? r.vehicle_id ?? r.hub_id) ?? [];
    assert.deepEqual(ok('upsertSessions'), ['s1', 's2', 's3', 's4']);
    assert.deepEqual(ok('upsertHubs'), ['H1']);
    assert.deepEqual(ok('insertDlmEvents'), ['e1']);
    assert.deepEqual(ok('upsertVehicles'), []);
    assert.deepEqual(ok('upsertNodes'), []);
    assert.equal(q.stats().queued, 0);
    assert.equal(q.stats().written, 6);
  });

  it('counts a failed in-flight batch back in as the oldest rows, then drops from it first', async () => {
    const clock = new FakeTimers();
    const held: Array<(err?: Error) => void> = [];
    const written: string[] = [];
    const writer = {
      upsertVehicles: (rows: readonly { vehicle_id: string }[]) =>
        new Promise<number>((resolve, reject) => {
          held.push((err) => {
            if (err) reject(err);
            else {
              written.push(...rows.map((r) => r.vehicle_id));
              resolve(rows.length);
            }
          });
        }),
    } as unknown as RepositoryWriter;
    const q = new WriteQueue(writer, { timers: clock, maxQueued: 3, batchSize: 2, jitter: 0 });
    for (const v of ['v1', 'v2', 'v3']) q.enqueue({ table: 'vehicles', row: { vehicle_id: v } });
    await clock.advance(0); // a full batch goes at once: v1, v2 in flight
    assert.equal(held.length, 1);
    for (const v of ['v4', 'v5']) q.enqueue({ table: 'vehicles', row: { vehicle_id: v } });
    assert.deepEqual([q.stats().queued, q.stats().dropped], [5, 0], 'rows in flight are not dropped for');
    held.shift()?.(Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' }));
    await clock.advance(0);
    assert.deepEqual(
      [q.stats().queued, q.stats().dropped],
      [3, 2],
      'v1 and v2 came back as the oldest and went first',
    );
    await clock.advance(100); // retry
    while (held.length) {
      held.shift()?.();
      await clock.advance(100);
    }
    assert.deepEqual(written, ['v3', 'v4', 'v5']);
    assert.equal(q.stats().written, 3);
  });

  it('rejects only the rows the database refuses for their content, without retrying them', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const rejected: unknown[] = [];
    const q = new WriteQueue(w, { timers: clock, onReject: (item) => rejected.push(item.row) });
    w.refuse = (r) => r.session_id === 'bad';
    for (const id of ['a', 'bad', 'c'])
      q.enqueue({ table: 'sessions', row: { session_id: id, hub_id: 'H', node_id: id, start_time: 0 } });
    q.enqueue({
      table: 'dlmEvents',
      row: { event_key: 'e', hub_id: 'H', node_id: 'N', trigger_reason: 'R', new_limit: 1, ts: 0 },
    });
    await clock.advance(50);
    const st = q.stats();
    assert.deepEqual([st.written, st.rejected, st.retries, st.queued], [3, 1, 0, 0]);
    assert.deepEqual(
      rejected.map((r) => (r as { session_id: string }).session_id),
      ['bad'],
    );
    assert.equal(okCalls(w, 'insertDlmEvents').length, 1);
  });

  it('close() writes what it can within the timeout, then ignores new rows', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 10_000 });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H' } });
    assert.deepEqual(await q.close(1000), { remaining: 0 });
    assert.equal(w.calls.length, 1);
    assert.equal(q.enqueue({ table: 'hubs', row: { hub_id: 'H2' } }), false);
    assert.deepEqual(clock.pending(), []);

    const w2 = fakeWriter();
    w2.down = true;
    const q2 = new WriteQueue(w2, { timers: clock, jitter: 0, retryMinMs: 100 });
    q2.enqueue({ table: 'sessions', row: { session_id: 's', hub_id: 'H', node_id: 'N', start_time: 0 } });
    const closing = q2.close(250);
    await clock.advance(300);
    assert.deepEqual(await closing, { remaining: 1 });
    assert.ok(w2.calls.length >= 2, 'retried during close');
    assert.deepEqual(clock.pending(), [], 'no timer left behind');
  });

  it('writes deletes first and discards the rows of the deleted entity still waiting', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 50 });
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'online' } });
    q.enqueue({ table: 'hubControl', row: { hub_id: 'H', is_active: false } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N', state: 'idle' } });
    q.enqueue({ table: 'nodeControl', row: { hub_id: 'H', node_id: 'N', registered: true } });
    q.enqueue({ table: 'nodes', row: { hub_id: 'H2', node_id: 'N', state: 'idle' } });
    q.enqueue({ table: 'vehicles', row: { vehicle_id: 'V', soc: 1 } });
    q.enqueue({ table: 'vehicleProfiles', row: { vehicle_id: 'V', model: 'x' } });
    q.enqueue({ table: 'sessions', row: { session_id: 's', hub_id: 'H', node_id: 'N', start_time: 0 } });
    q.enqueue({ table: 'deletes', row: { entity: 'hub', hub_id: 'H' } });
    q.enqueue({ table: 'deletes', row: { entity: 'vehicle', vehicle_id: 'V' } });
    // The hub comes back (its devices go on): created again after the delete.
    q.enqueue({ table: 'hubs', row: { hub_id: 'H', state: 'offline' } });
    assert.equal(q.stats().queued, 5, 'the hub’s and vehicle’s waiting rows discarded (not dropped)');
    await clock.advance(50);
    assert.deepEqual(
      w.calls.map((c) => [c.fn, c.rows]),
      [
        [
          'deleteEntities',
          [
            { entity: 'hub', hub_id: 'H' },
            { entity: 'vehicle', vehicle_id: 'V' },
          ],
        ],
        ['upsertHubs', [{ hub_id: 'H', state: 'offline' }]],
        ['upsertNodes', [{ hub_id: 'H2', node_id: 'N', state: 'idle' }]],
        ['upsertSessions', [{ session_id: 's', hub_id: 'H', node_id: 'N', start_time: 0 }]],
      ],
    );
    assert.deepEqual([q.stats().dropped, q.stats().written], [0, 5]);
  });

  it('does not put back a failed row whose entity was deleted while it was being written', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 50, jitter: 0, retryMinMs: 100 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const write = w.upsertNodes.bind(w);
    w.upsertNodes = async (rows) => {
      await gate;
      return write(rows);
    };
    q.enqueue({ table: 'nodes', row: { hub_id: 'H', node_id: 'N', name: 'old' } });
    await clock.advance(50); // the node row is being written …
    q.enqueue({ table: 'deletes', row: { entity: 'node', hub_id: 'H', node_id: 'N' } });
    w.down = true; // … and fails
    release();
    await clock.advance(0);
    w.down = false;
    await clock.advance(100);
    assert.deepEqual(
      w.calls.map((c) => c.fn),
      ['upsertNodes', 'deleteEntities'],
      'the failed node row is not written again after its delete',
    );
    assert.equal(q.stats().queued, 0);
  });

  it('never drops operator settings, audit records or deletes past the bound', async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    w.down = true;
    const q = new WriteQueue(w, { timers: clock, flushMs: 50, maxQueued: 3 });
    q.enqueue({ table: 'hubControl', row: { hub_id: 'H', is_active: false } });
    q.enqueue({ table: 'nodeControl', row: { hub_id: 'H', node_id: 'N', assigned_vehicle_id: 'V' } });
    q.enqueue({
      table: 'auditLog',
      row: { event_key: 'a', ts: 0, actor: 'ann', op: 'hub-active' },
    });
    q.enqueue({ table: 'deletes', row: { entity: 'vehicle', vehicle_id: 'V' } });
    for (let i = 0; i < 5; i++) q.enqueue({ table: 'hubs', row: { hub_id: `T${i}` } });
    const st = q.stats();
    assert.equal(st.dropped, 5);
    assert.equal(st.queued, 4);
  });

  it("keeps the orchestrator's DLM event over a hub's row of the same key, in whatever order", async () => {
    const clock = new FakeTimers();
    const w = fakeWriter();
    const q = new WriteQueue(w, { timers: clock, flushMs: 50 });
    const base = { hub_id: 'H', node_id: 'N', trigger_reason: 'R', new_limit: 1, ts: 0 };
    q.enqueue({
      table: 'dlmEvents',
      row: { ...base, event_key: 'k', source: 'hub', claimed_source: 'wpt-dlm' },
    });
    q.enqueue({ table: 'dlmEvents', row: { ...base, event_key: 'k', source: 'orchestrator' } });
    q.enqueue({ table: 'dlmEvents', row: { ...base, event_key: 'k', source: 'hub' } });
    await clock.advance(50);
    assert.deepEqual(
      okCalls(w, 'insertDlmEvents').flatMap((c) => c.rows.map((r) => r.source)),
      ['orchestrator'],
    );
  });
});
