// WriteQueue against a real PostgreSQL with a real outage: a TCP proxy between the pool and
// the server is cut (existing connections killed, new ones refused) and restored.
import assert from 'node:assert/strict';
import net from 'node:net';
import type pg from 'pg';
import { createTestDatabase } from '../helpers/services';
import { sleep, until } from '../helpers/wait';
import {
  createPool,
  createRepository,
  migrate,
  WriteQueue,
  type WriteQueueStats,
} from '../../adapters/postgres';

class CuttableProxy {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  up = true;
  port = 0;
  constructor(private target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }
  restore(): void {
    this.up = true;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

const at = (s: number): string => new Date(Date.parse('2026-11-26T08:00:00Z') + s * 1000).toISOString();

describe('WriteQueue against PostgreSQL with an outage (integration)', function () {
  this.timeout(60000);
  let direct: pg.Pool;
  let proxied: pg.Pool;
  let proxy: CuttableProxy;
  const poolErrors: Error[] = [];

  beforeEach(async () => {
    const url = await createTestDatabase('wpt_wq');
    direct = createPool({ connectionString: url, max: 2 });
    await migrate(direct);
    const u = new URL(url);
    proxy = new CuttableProxy({ host: u.hostname, port: Number(u.port || 5432) });
    await proxy.listen();
    u.host = `127.0.0.1:${proxy.port}`;
    proxied = createPool({
      connectionString: u.toString(),
      max: 2,
      connectionTimeoutMillis: 1000,
      onError: (e) => poolErrors.push(e),
    });
  });

  afterEach(async () => {
    await proxied.end().catch(() => {});
    await proxy.close();
    await direct.end();
  });

  it('loses nothing inside the bound; last write wins; telemetry dropped exactly past the bound, sessions never', async () => {
    const statuses: boolean[] = [];
    const q = new WriteQueue(createRepository(proxied), {
      flushMs: 20,
      batchSize: 50,
      maxQueued: 300,
      retryMinMs: 20,
      retryMaxMs: 200,
      onStatus: (s: WriteQueueStats) => statuses.push(s.connected),
    });
    // Warm up: a connection exists when the outage starts.
    q.enqueue({ table: 'hubs', row: { hub_id: 'H0', state: 'online', last_seen: at(0) } });
    await until(() => q.stats().written === 1, 5000);

    proxy.cut();
    // Phase 1: 100 open sessions (one per node) and 20 DLM events while the database is away.
    for (let i = 0; i < 100; i++) {
      q.enqueue({
        table: 'sessions',
        row: {
          session_id: `S${i}`,
          hub_id: 'H0',
          node_id: `N${i}`,
          vehicle_id: `V${i}`,
          start_time: at(i),
          energy_kwh: 0.5,
          last_sample_at: at(i),
        },
      });
    }
    for (let i = 0; i < 20; i++) {
      q.enqueue({
        table: 'dlmEvents',
        row: {
          event_key: `E${i}`,
          hub_id: 'H0',
          node_id: `N${i}`,
          trigger_reason: 'REBALANCE',
          new_limit: i,
          ts: at(i),
        },
      });
    }
    await until(() => q.stats().retries >= 3, 10000);
    assert.equal(q.stats().connected, false);
    assert.equal(q.stats().written, 1);

    // Phase 2: 250 vehicles' telemetry: 370 distinct rows against a bound of 300.
    for (let i = 0; i < 250; i++) {
      q.enqueue({
        table: 'vehicles',
        row: { vehicle_id: `V${String(i).padStart(3, '0')}`, soc: i, last_seen: at(i) },
      });
    }
    // A batch may be in flight (its rows count once it fails and returns): settle first.
    await sleep(300);
    assert.equal(q.stats().dropped, 70);
    // Newer data for kept keys while still away: coalesced, nothing more dropped.
    for (let i = 240; i < 250; i++) {
      q.enqueue({
        table: 'vehicles',
        row: { vehicle_id: `V${String(i).padStart(3, '0')}`, soc: i + 1000, last_seen: at(i + 1) },
      });
    }
    q.enqueue({
      table: 'sessions',
      row: {
        session_id: 'S0',
        hub_id: 'H0',
        node_id: 'N0',
        start_time: at(0),
        end_time: at(500),
        energy_kwh: 5,
        close_reason: 'idle',
        last_sample_at: at(500),
      },
    });
    q.enqueue({
      table: 'sessions',
      row: {
        session_id: 'S0',
        hub_id: 'H0',
        node_id: 'N0',
        start_time: at(0),
        energy_kwh: 3,
        last_sample_at: at(300),
      },
    });
    q.enqueue({
      table: 'sessions',
      row: {
        session_id: 'S1',
        hub_id: 'H0',
        node_id: 'N1',
        start_time: at(1),
        energy_kwh: 2,
        last_sample_at: at(400),
      },
    });
    q.enqueue({
      table: 'dlmEvents',
      row: {
        event_key: 'E0',
        hub_id: 'H0',
        node_id: 'N0',
        trigger_reason: 'DUPLICATE',
        new_limit: 99,
        ts: at(0),
      },
    });
    await sleep(300); // more failed retries with the full queue
    assert.equal(q.stats().dropped, 70);
    assert.equal(q.stats().queued, 300);

    proxy.restore();
    await until(() => q.stats().queued === 0, 20000);
    const st = q.stats();
    assert.deepEqual([st.written, st.dropped, st.rejected, st.connected], [301, 70, 0, true]);
    assert.deepEqual(statuses.slice(-2), [false, true]);

    const sessions = await direct.query<{ session_id: string; energy_kwh: number; end_time: Date | null }>(
      'SELECT session_id, energy_kwh, end_time FROM charging_sessions',
    );
    assert.equal(sessions.rowCount, 100);
    const s0 = sessions.rows.find((s) => s.session_id === 'S0');
    assert.equal(s0?.end_time?.toISOString(), at(500));
    assert.equal(s0?.energy_kwh, 5);
    assert.equal(sessions.rows.find((s) => s.session_id === 'S1')?.energy_kwh, 2);
    const events = await direct.query<{ event_key: string; trigger_reason: string }>(
      'SELECT event_key, trigger_reason FROM dlm_events',
    );
    assert.equal(events.rowCount, 20);
    assert.equal(events.rows.find((e) => e.event_key === 'E0')?.trigger_reason, 'REBALANCE');
    const vehicles = await direct.query<{ vehicle_id: string; soc: number }>(
      `SELECT vehicle_id, soc FROM vehicles WHERE vehicle_id LIKE 'V___' ORDER BY vehicle_id`,
    );
    // The 70 oldest telemetry rows were dropped; every other row arrived with its latest value.
    const expected = Array.from({ length: 180 }, (_, k) => {
      const i = k + 70;
      return { vehicle_id: `V${String(i).padStart(3, '0')}`, soc: i >= 240 ? i + 1000 : i };
    });
    assert.deepEqual(vehicles.rows, expected);
    assert.deepEqual(await q.close(2000), { remaining: 0 });
  });

  it('writes every row of an outage within the bound, hubs and nodes included, in order', async () => {
    const q = new WriteQueue(createRepository(proxied), {
      flushMs: 10,
      batchSize: 7,
      retryMinMs: 20,
      retryMaxMs: 100,
    });
    proxy.cut();
    for (let h = 0; h < 5; h++) {
      q.enqueue({ table: 'hubs', row: { hub_id: `H${h}`, state: 'online', cpu_temp: h, last_seen: at(h) } });
      for (let n = 0; n < 4; n++) {
        q.enqueue({
          table: 'nodes',
          row: {
            hub_id: `H${h}`,
            node_id: `N${n}`,
            state: 'charging',
            current_vehicle_id: `V${h}${n}`,
            power_kw: n,
            last_seen: at(h),
          },
        });
      }
    }
    await sleep(200);
    // Node N0 of each hub: the vehicle leaves while the database is still away.
    for (let h = 0; h < 5; h++) {
      q.enqueue({
        table: 'nodes',
        row: {
          hub_id: `H${h}`,
          node_id: 'N0',
          state: 'idle',
          current_vehicle_id: null,
          power_kw: 0,
          last_seen: at(h + 10),
        },
      });
    }
    // Sessions: close then open the next one on one node while away (order matters).
    q.enqueue({
      table: 'sessions',
      row: { session_id: 'A', hub_id: 'H1', node_id: 'N1', start_time: at(0), energy_kwh: 1 },
    });
    await sleep(100);
    q.enqueue({
      table: 'sessions',
      row: {
        session_id: 'A',
        hub_id: 'H1',
        node_id: 'N1',
        start_time: at(0),
        end_time: at(5),
        energy_kwh: 2,
      },
    });
    q.enqueue({
      table: 'sessions',
      row: { session_id: 'B', hub_id: 'H1', node_id: 'N1', start_time: at(6), energy_kwh: 0 },
    });
    proxy.restore();
    await until(() => q.stats().queued === 0, 20000);
    assert.deepEqual([q.stats().written, q.stats().dropped, q.stats().rejected], [27, 0, 0]);
    const nodes = await direct.query<{
      hub_id: string;
      node_id: string;
      state: string;
      current_vehicle_id: string | null;
    }>('SELECT hub_id, node_id, state, current_vehicle_id FROM nodes ORDER BY hub_id, node_id');
    assert.equal(nodes.rowCount, 20);
    for (const n of nodes.rows) {
      const h = n.hub_id.slice(1);
      if (n.node_id === 'N0') assert.deepEqual([n.state, n.current_vehicle_id], ['idle', null]);
      else assert.deepEqual([n.state, n.current_vehicle_id], ['charging', `V${h}${n.node_id.slice(1)}`]);
    }
    const hubs = await direct.query<{ hub_id: string; cpu_temp: number }>(
      'SELECT hub_id, cpu_temp FROM hubs ORDER BY hub_id',
    );
    assert.deepEqual(
      hubs.rows.map((h) => [h.hub_id, h.cpu_temp]),
      [0, 1, 2, 3, 4].map((h) => [`H${h}`, h]),
    );
    const s = await direct.query<{ session_id: string; end_time: Date | null }>(
      'SELECT session_id, end_time FROM charging_sessions ORDER BY 1',
    );
    assert.deepEqual(
      s.rows.map((r) => [r.session_id, r.end_time?.toISOString() ?? null]),
      [
        ['A', at(5)],
        ['B', null],
      ],
    );
    await q.close(1000);
  });
});
