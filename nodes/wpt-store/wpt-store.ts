// wpt-store: writes the twin's change lists (hubs, nodes, vehicles, charging sessions, DLM
// events of hubs, the audit log) from wpt-twin to PostgreSQL through a bounded, batched,
// retrying write queue, and our own DLM events (msg.dlm, from wpt-dlm-allocator) ahead of their
// publication: each leaves on the output, for `mqtt out`, once its row is stored — or at once
// when PostgreSQL is away or slower than the wait bound (the row is then retried), so the DLM
// never waits for its database. Never decodes MQTT.
import { Client } from 'pg';
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { configNode, num } from '../lib/node-red';
import type { PostgresNode } from '../lib/config-nodes';
import { nodeStatus, compact } from '../lib/status';
import {
  createRepository,
  WriteAhead,
  WriteQueue,
  type Queryable,
  type WriteItem,
  type WriteQueueStats,
} from '../../adapters/postgres';
import { changesToWrites, dlmCommandToWrite } from '../../adapters/postgres/twin-mapping';
import { isTwinChangeList } from '../../core/twin';
import type { DlmCommand } from '../../core/dlm';

/** Is this a DLM command message of wpt-dlm-allocator (msg.dlm + the notification)? */
function isDlmCommandMsg(msg: NodeMessageInFlow): msg is NodeMessageInFlow & { dlm: DlmCommand } {
  const d = msg.dlm as Partial<DlmCommand> | undefined;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.hubId === 'string' &&
    typeof d.nodeId === 'string' &&
    typeof d.newLimitKw === 'number'
  );
}

/** How long close waits for messages already on their way before the final flush (ms). */
const CLOSE_SETTLE_MS = 30;

export = function register(RED: NodeAPI): void {
  function WptStoreNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const pg = configNode<PostgresNode>(RED, def.postgres);
    if (!pg?.pool) {
      // Nothing is stored, but our DLM events still go out: the DLM never depends on storage.
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-store.status.no-db') });
      node.on('input', (msg, send, done) => {
        if (isDlmCommandMsg(msg)) send(msg);
        done(new Error(RED._('wpt-store.errors.no-db')));
      });
      return;
    }
    let lastStats: WriteQueueStats | undefined;
    const status = nodeStatus(
      node,
      () => {
        const s = lastStats ?? queue.stats();
        const lost = s.dropped + s.rejected;
        return s.connected
          ? {
              fill: lost ? 'yellow' : 'green',
              shape: 'dot',
              text: RED._('wpt-store.status.ok', {
                written: compact(s.written),
                lost: lost ? ` · ✗ ${compact(lost)}` : '',
              }),
            }
          : {
              fill: 'red',
              shape: 'ring',
              text: RED._('wpt-store.status.down', { queued: compact(s.queued) }),
            };
      },
      250,
    );
    // Writes go through the pool until close. Node-RED closes wpt-postgres (which ends the pool)
    // at the same time as this node, so from close on every write — the final flush, a retry
    // already scheduled, a change list still on its way — uses a connection of its own (the
    // pool's settings), opened at the first write that needs it.
    const pool = pg.pool;
    let own: Client | null = null;
    let opening: Promise<Client> | null = null;
    const ownClient = (): Promise<Client> =>
      (opening ??= (async () => {
        const c = new Client(pool.options);
        c.on('error', () => {}); // a lost connection fails the write, which close() retries
        try {
          await c.connect();
        } catch (err) {
          opening = null; // the next retry opens a new one
          throw err;
        }
        own = c;
        return c;
      })());
    // One query at a time on that connection (the write-ahead and the queue may both write).
    let onOwn: Promise<unknown> = Promise.resolve();
    const viaOwn = (text: string, values?: unknown[]) => {
      const q = onOwn.then(() => ownClient()).then((c) => c.query(text, values));
      onOwn = q.catch(() => {});
      return q;
    };
    const via: Queryable = {
      query: ((text: string, values?: unknown[]) =>
        closing ? viaOwn(text, values) : pool.query(text, values)) as Queryable['query'],
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
        status.refresh();
      },
      onReject: (item, err) =>
        node.warn(RED._('wpt-store.log.rejected', { table: item.table, error: err.message })),
    });
    const repo = createRepository(via);
    const ahead = new WriteAhead<NodeMessageInFlow>({
      insert: (rows) => repo.insertDlmEvents(rows),
      fallback: (items) => queue.enqueueAll(items),
      up: () => migrated && queue.stats().connected,
      release: (msgs) => {
        if (!closing) node.send([msgs]);
      },
      maxWaitMs: Math.max(0, num(def.maxWaitMs, 250)),
    });
    let migrated = false;
    let closing = false;
    // Rows that arrive before the migrations ran wait in the queue; flush once they did.
    pg.ready.then(
      () => {
        migrated = true;
        return queue.flush().catch(() => {});
      },
      () => {},
    );

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      let writes: WriteItem[];
      if (isTwinChangeList(msg.payload)) {
        writes = changesToWrites(msg.payload);
      } else if (isDlmCommandMsg(msg)) {
        const p = msg.payload as { policy?: unknown; owner_epoch?: unknown } | null;
        const policy = typeof p?.policy === 'string' ? p.policy : null;
        ahead.submit(dlmCommandToWrite(msg.dlm, policy, p?.owner_epoch), msg);
        status.refresh();
        return done();
      } else {
        return done(new Error(RED._('wpt-store.errors.input')));
      }
      for (const w of writes) queue.enqueue(w);
      status.refresh();
      done();
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      closing = true;
      // Change lists already sent (wpt-twin flushes its last turn on close) land first: Node-RED
      // delivers messages on a later tick.
      new Promise((r) => setTimeout(r, CLOSE_SETTLE_MS))
        .then(() => ahead.drain())
        .then(() => queue.close(5000))
        .then(({ remaining }) => {
          if (remaining) node.warn(RED._('wpt-store.log.unwritten', { remaining }));
        })
        .catch(() => {})
        .then(() => (own as Client | null)?.end().catch(() => {}))
        .then(() => done());
    });
  }
  RED.nodes.registerType('wpt-store', WptStoreNode);
};
