// wpt-store: writes twin changes (hubs, nodes, vehicles, charging sessions) and DLM events to
// PostgreSQL through a bounded, batched, retrying write queue. Never blocks the flow.
import { Client } from 'pg';
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import type { PostgresNode } from '../lib/config-nodes';
import {
  createRepository,
  WriteQueue,
  type Queryable,
  type WriteItem,
  type WriteQueueStats,
} from '../../adapters/postgres';
import { changesToWrites, dlmEventToWrite } from '../../adapters/postgres/twin-mapping';
import { isTwinChangeList } from '../../core/twin';
import { inboundOf } from '../lib/messages';
import { num } from '../lib/red';

export = function register(RED: NodeAPI): void {
  function WptStoreNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const pg = RED.nodes.getNode(String(def.postgres ?? '')) as PostgresNode | null;
    if (!pg?.pool) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-store.status.no-db') });
      node.on('input', (_m: NodeMessage, _s, done) => done(new Error(RED._('wpt-store.errors.no-db'))));
      return;
    }
    let lastStats: WriteQueueStats | undefined;
    let statusTimer: ReturnType<typeof setTimeout> | undefined;
    const showStatus = () => {
      statusTimer = undefined;
      const s = lastStats ?? queue.stats();
      node.status(
        s.connected
          ? {
              fill: s.dropped || s.rejected ? 'yellow' : 'green',
              shape: 'dot',
              text: RED._('wpt-store.status.ok', { ...s }),
            }
          : { fill: 'red', shape: 'ring', text: RED._('wpt-store.status.down', { ...s }) },
      );
    };
    // Writes go through the pool, except the final flush at close: Node-RED closes wpt-postgres
    // (which ends the pool) at the same time as this node, so that flush uses a connection of
    // its own (same settings as the pool's clients).
    const pool = pg.pool;
    let db: Queryable = pool;
    const via: Queryable = {
      query: ((text: string, values?: unknown[]) => db.query(text, values)) as Queryable['query'],
    };
    const queue = new WriteQueue(createRepository(via), {
      flushMs: num(def.flushMs, 50),
      batchSize: num(def.batchSize, 500),
      maxQueued: num(def.maxQueued, 100000),
      onStatus: (s) => {
        if (lastStats?.connected !== s.connected) {
          if (!s.connected) node.warn(RED._('wpt-store.log.down', { error: s.lastError ?? '' }));
          else if (lastStats) node.log(RED._('wpt-store.log.up'));
        }
        lastStats = s;
        statusTimer ??= setTimeout(showStatus, 250);
      },
      onReject: (item, err) =>
        node.warn(RED._('wpt-store.log.rejected', { table: item.table, error: err.message })),
    });
    // Rows that arrive before the migrations ran wait in the queue; flush once they did.
    pg.ready.then(
      () => queue.flush().catch(() => {}),
      () => {},
    );

    node.on('input', (msg: NodeMessage, _send, done) => {
      let writes: WriteItem[];
      if (isTwinChangeList(msg.payload)) {
        writes = changesToWrites(msg.payload);
      } else {
        const r = inboundOf(msg, Date.now());
        if (!r.ok) return done(new Error(r.errors.map((e) => e.message).join('; ')));
        const m = r.msg;
        if (m.kind !== 'dlmEvent') {
          return done(new Error(RED._('wpt-store.errors.kind', { kind: m.kind })));
        }
        writes = [dlmEventToWrite(m)];
      }
      for (const w of writes) queue.enqueue(w);
      statusTimer ??= setTimeout(showStatus, 250);
      done();
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      if (statusTimer) clearTimeout(statusTimer);
      const own = queue.stats().queued > 0 ? new Client(pool.options) : null;
      own?.on('error', () => {}); // a lost connection fails the write, which close() reports
      (own ? own.connect() : Promise.reject(new Error('nothing to write')))
        .then(
          () => {
            db = own ?? pool;
          },
          () => {}, // nothing queued, or the database is away: close() retries until its deadline
        )
        .then(() => queue.close(5000))
        .then(({ remaining }) => {
          if (remaining) node.warn(RED._('wpt-store.log.unwritten', { remaining }));
        })
        .catch(() => {})
        .then(() => own?.end().catch(() => {}))
        .then(() => done());
    });
  }
  RED.nodes.registerType('wpt-store', WptStoreNode);
};
