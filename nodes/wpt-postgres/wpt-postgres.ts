// wpt-postgres: config node owning one PostgreSQL pool. Runs the migrations at start and
// ends the pool on redeploy/shutdown. The URL may be `${DATABASE_URL}` (the default), so
// no secret is kept in the flow; a password typed in the editor is a credential.
import type { NodeAPI, Props } from '../lib/node-red';
import type { PostgresNode } from '../lib/config-nodes';
import { fromEnvRef, num, registerNode } from '../lib/node-red';
import { createPool, migrate, checkHealth } from '../../adapters/postgres';

export = function register(RED: NodeAPI): void {
  function WptPostgresNode(this: PostgresNode, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const url = fromEnvRef(typeof def.url === 'string' ? def.url : '');
    const creds = node.credentials ?? {};
    node.configError = null;
    node.pool = null;
    if (url) {
      node.pool = createPool({ connectionString: url, max: num(def.max, 10), applicationName: 'wpt-dlm' });
    } else if (typeof def.host === 'string' && def.host) {
      node.pool = createPool({
        host: def.host,
        port: num(def.port, 5432),
        database: typeof def.database === 'string' && def.database ? def.database : 'wpt',
        user: creds.user || undefined,
        password: creds.password || undefined,
        ssl: def.ssl === true,
        max: num(def.max, 10),
        applicationName: 'wpt-dlm',
      });
    } else {
      node.configError = RED._('wpt-postgres.errors.no-url');
    }
    const pool = node.pool;
    node.ready = pool
      ? migrate(pool, (l: string) => node.log(l)).then((r) => {
          if (r.applied.length) node.log(RED._('wpt-postgres.log.migrated', { list: r.applied.join(', ') }));
        })
      : Promise.reject(new Error(node.configError ?? 'no database'));
    node.ready.catch((err: Error) =>
      node.error(RED._('wpt-postgres.errors.migrate', { message: err.message })),
    );
    node.health = async (timeoutMs = 2000) => {
      if (!pool) return { ok: false, error: node.configError ?? 'not configured' };
      return checkHealth(pool, timeoutMs);
    };
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!pool) return done();
      pool
        .end()
        .catch(() => {})
        .then(() => done());
    });
  }
  registerNode(RED, 'wpt-postgres', WptPostgresNode, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
