// The HTTP side of the real runtime as an attacker and a careless client see it: no spelling of
// a path gets past the token, bodies are refused as JSON with the reason, tokens are told apart,
// the credentials file stays private after a deploy, and /api/health says "starting" at once.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startRuntime, makeUserDir, ROOT, type RuntimeHandle, CLI } from '../helpers/runtime';
import { spawn } from 'node:child_process';
import { freePort } from '../../runtime/free-port';
import { canonicalPath } from '../../runtime/http-guard';
import { createTestDatabase } from '../helpers/services';

interface Reply {
  status: number;
  body: string;
  type: string;
}

/** A request with the path sent exactly as written (fetch would normalise it). */
function send(
  base: string,
  method: string,
  rawPath: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    // Content-Length always with a body: Node's client sends a DELETE body without it (nor
    // chunked), which a server must read as the start of the next request.
    const length = opts.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(opts.body)) };
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: rawPath,
        headers: { ...length, ...(opts.headers ?? {}) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }),
        );
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** The `http in` routes of the shipped API flow, with sample values for their parameters. */
function shippedRoutes(): Array<{ method: string; path: string }> {
  const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'api.json'), 'utf8')) as Array<{
    type: string;
    method?: string;
    url?: string;
  }>;
  return flow
    .filter((n) => n.type === 'http in')
    .map((n) => ({
      method: n.method!.toUpperCase(),
      path: n.url!.replace(/:(\w+)/g, (_m, p: string) => `${p}_x`),
    }));
}

/** Ways of spelling a path that a lenient router (case-insensitive Express, decoding proxies) may accept. */
function mutations(p: string): string[] {
  const segs = p.split('/').slice(1);
  const swap = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  const enc = (s: string) => [...s].map((c) => '%' + c.charCodeAt(0).toString(16)).join('');
  const out = new Set<string>([
    p,
    p.toUpperCase(),
    swap(p),
    '/' + segs.map((s) => s[0]!.toUpperCase() + s.slice(1)).join('/'),
    p.replace('/api/', '/%61pi/'),
    p.replace('/api/', '/%41PI/'),
    p.replace(/[a-z]/, (c) => '%' + c.charCodeAt(0).toString(16)),
    '/' + segs.map(enc).join('/'),
    p.replace('/api/', '/api%2F'),
    p.replace('/api/', '/api%2f'),
    p.replace('/api/', '/api%252F'),
    p.replace(/\//g, '//'),
    '/' + p,
    p.replace('/api/', '/api//'),
    p + '/',
    p + '//',
    p + '.',
    p + '/.',
    p + '%2e',
    p + '%2F',
    p + '..',
    p.replace('/api/', '/api/./'),
    p.replace('/api/', '/api/health/../'),
    p.replace('/api/', '/api/health/..%2F'),
    p.replace('/api/', '/api/health%2F..%2F'),
    p.replace('/api/', '/api/x/%2e%2e/'),
    p.replace('/api/', '/api\\'),
    p + ';x',
    p + '%3Fx',
    p + '%00',
    p + '?token=x',
    p.replace(/[a-z]$/, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
  ]);
  return [...out];
}

describe('e2e: HTTP security of the runtime', function () {
  this.timeout(180000);
  let rt: RuntimeHandle;

  before(async () => {
    rt = await startRuntime();
  });
  after(async () => {
    if (rt) await rt.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  it('answers 401 to every spelling of every protected route of the shipped flows, without a token', async () => {
    const routes = shippedRoutes();
    assert.ok(routes.length >= 10, JSON.stringify(routes));
    const leaks: string[] = [];
    let sent = 0;
    for (const r of routes) {
      const isHealth = r.path === '/api/health';
      for (const m of mutations(r.path)) {
        for (const headers of [{}, { Authorization: 'Bearer not-the-token-0123' }] as Array<
          Record<string, string>
        >) {
          const body =
            r.method === 'GET' ? undefined : JSON.stringify({ vehicle_id: 'evil', priority: true });
          const reply = await send(rt.url, r.method, m, {
            headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
            ...(body ? { body } : {}),
          });
          sent++;
          if (isHealth) {
            // Public only when it is /api/health, however spelled; then 200 or 404, never data.
            const expectPublic = canonicalPath(m.split('?')[0]!) === '/api/health';
            if (expectPublic ? reply.status === 401 : reply.status !== 401) {
              leaks.push(`${r.method} ${m}: ${reply.status} (public: ${expectPublic})`);
            }
          } else if (reply.status !== 401 || !/application\/json/.test(reply.type)) {
            leaks.push(`${r.method} ${m}: ${reply.status} ${reply.body.slice(0, 80)}`);
          }
        }
      }
    }
    assert.deepEqual(leaks, [], `${leaks.length} of ${sent} requests`);
  });

  it('tells a missing token from a wrong one', async () => {
    const missing = JSON.parse((await send(rt.url, 'GET', '/api/hubs')).body) as { message: string };
    const wrong = JSON.parse(
      (
        await send(rt.url, 'GET', '/api/hubs', {
          headers: { Authorization: 'Bearer wrong-token-wrong-token' },
        })
      ).body,
    ) as { message: string };
    assert.match(missing.message, /token required/);
    assert.match(wrong.message, /not accepted/);
    assert.notEqual(missing.message, wrong.message);
  });

  it('refuses bodies as JSON: 413 when too large, 415 naming a Content-Type that is not JSON', async () => {
    const auth = { Authorization: `Bearer ${rt.apiToken}` };
    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    for (const type of ['application/x-www-form-urlencoded', 'application/json', 'text/plain']) {
      const r = await send(rt.url, 'POST', '/api/vehicles', {
        headers: { ...auth, 'Content-Type': type },
        body: big,
      });
      assert.equal(r.status, 413, `${type}: ${r.body.slice(0, 200)}`);
      assert.match(r.type, /application\/json/);
      assert.match((JSON.parse(r.body) as { message: string }).message, /too large/);
    }
    for (const type of [
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await send(rt.url, 'POST', '/api/recommendations', {
        headers: { ...auth, 'Content-Type': type },
        body: 'latitude=44.6&longitude=10.9&battery_level=30',
      });
      assert.equal(r.status, 415, `${type}: ${r.body}`);
      const msg = (JSON.parse(r.body) as { message: string }).message;
      assert.ok(msg.includes(type.split(';')[0]!), msg);
      assert.doesNotMatch(msg, /latitude/);
    }
    const none = await send(rt.url, 'POST', '/api/vehicles', { headers: auth, body: '{"vehicle_id":"x"}' });
    assert.equal(none.status, 415);
    assert.match((JSON.parse(none.body) as { message: string }).message, /no Content-Type/);
    // Without the token, nothing of the body is read: 401.
    const anon = await send(rt.url, 'POST', '/api/vehicles', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: big,
    });
    assert.equal(anon.status, 401);
  });

  it('keeps flows_cred.json readable by its owner only, also after a deploy that changes credentials', async () => {
    const credFile = path.join(rt.userDir, 'flows_cred.json');
    assert.equal(fs.statSync(credFile).mode & 0o777, 0o600);
    const login = await fetch(`${rt.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: rt.adminUser,
        password: rt.adminPassword,
      }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const headers = { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' };
    const current = (await (
      await fetch(`${rt.url}/flows`, { headers: { ...headers, 'Node-RED-API-Version': 'v2' } })
    ).json()) as {
      rev: string;
      flows: Array<Record<string, unknown>>;
    };
    const before = fs.statSync(credFile).mtimeMs;
    const flows = current.flows.map((n) =>
      n.type === 'mqtt-broker' ? { ...n, credentials: { user: 'someone', password: 'changed-pw-1' } } : n,
    );
    const deploy = await fetch(`${rt.url}/flows`, {
      method: 'POST',
      headers: { ...headers, 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify({ rev: current.rev, flows }),
    });
    assert.equal(deploy.status, 200, await deploy.text());
    const deadline = Date.now() + 10000;
    while (fs.statSync(credFile).mtimeMs === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(fs.statSync(credFile).mtimeMs, before, 'the deploy rewrote the credentials');
    assert.equal((fs.statSync(credFile).mode & 0o777).toString(8), '600');
  });
});

describe('e2e: /api/health while the runtime starts', function () {
  this.timeout(120000);

  it('answers 503 {"status":"starting"} from the moment the port listens until the flows run, then 200', async () => {
    const userDir = makeUserDir();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      WPT_HTTP_HOST: '127.0.0.1',
      WPT_USER_DIR: userDir,
      WPT_MQTT_PORT: String(await freePort()),
      WPT_API_TOKEN: 'test-token-0123456789abcdef',
      WPT_ADMIN_PASSWORD: 'correct horse battery',
      // Its own database, never the shared server's default one.
      ...(process.env.DATABASE_URL ? { DATABASE_URL: await createTestDatabase('wpt_e2e') } : {}),
    };
    const proc = spawn(process.execPath, [CLI], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const seen: string[] = [];
    try {
      const deadline = Date.now() + 90000;
      for (;;) {
        assert.ok(Date.now() < deadline, `not healthy in time: ${seen.join(' ')}\n${out}`);
        assert.equal(proc.exitCode, null, out);
        let r: Reply | null = null;
        try {
          r = await send(`http://127.0.0.1:${port}`, 'GET', '/api/health');
        } catch {
          /* not listening yet */
        }
        if (r) {
          const tag =
            r.status === 503 && JSON.parse(r.body).status === 'starting' ? 'starting' : String(r.status);
          if (seen.at(-1) !== tag) seen.push(tag);
          if (r.status === 200) break;
        }
        await new Promise((res) => setTimeout(res, 10));
      }
      // Nothing but "starting" before the first 200 (a 503 "down" may follow while a dependency connects).
      assert.equal(seen[0], 'starting', seen.join(' '));
      assert.ok(!seen.includes('404'), seen.join(' '));
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});
