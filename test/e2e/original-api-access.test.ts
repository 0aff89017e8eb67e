// Who reaches the original API's listener, through the real runtime: with an allow-list of
// client networks it refuses every other address (403, HTTP and WebSocket) and admits a client
// that sends the token; without WPT_COMPAT_PORT nothing listens at all.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startRuntime, type RuntimeHandle } from '../helpers/runtime';
import { freePort } from '../../runtime/free-port';
import { until } from '../helpers/wait';

const TOKEN = 'compat-token-0123456789';

/** TCP ports a process listens on (its sockets in /proc/<pid>/fd, matched in /proc/net/tcp*). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local address, state 0A = LISTEN, inode
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

describe('e2e: who reaches the original API', function () {
  this.timeout(180_000);

  describe('with WPT_COMPAT_ALLOW=10.0.0.0/8 and a token', () => {
    let rt: RuntimeHandle;
    let port: number;
    before(async () => {
      port = await freePort();
      rt = await startRuntime({
        env: { WPT_COMPAT_PORT: String(port), WPT_COMPAT_ALLOW: '10.0.0.0/8', WPT_COMPAT_TOKEN: TOKEN },
      });
      await until(
        () => /original API listening on http:\/\/0\.0\.0\.0:/.test(rt.output()),
        30_000,
        'the listener',
      );
    });
    after(async () => {
      await rt?.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('listens on every address for the listed networks only, and says so', () => {
      assert.match(
        rt.output(),
        new RegExp(
          `listening on http://0\\.0\\.0\\.0:${port} for clients 10\\.0\\.0\\.0/8 and clients with the token`,
        ),
      );
    });

    it('refuses a client outside the list (403 with detail), preflights and WebSocket included', async () => {
      for (const [method, headers] of [
        ['GET', {}],
        ['OPTIONS', { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'GET' }],
      ] as const) {
        const r = await fetch(`http://127.0.0.1:${port}/hubs`, { method, headers });
        assert.equal(r.status, 403, method);
        assert.match(((await r.json()) as { detail: string }).detail, /127\.0\.0\.1 is not allowed/);
      }
      const ws = await new Promise<number>((resolve) => {
        const s = new WebSocket(`ws://127.0.0.1:${port}/ws/telemetry/v1`);
        s.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        s.once('open', () => resolve(101));
        s.once('error', () => resolve(-1));
      });
      assert.equal(ws, 403);
    });

    it('admits a client that sends the token; a wrong token is 401', async () => {
      const ok = await fetch(`http://127.0.0.1:${port}/health`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(ok.status, 200);
      const viaKey = await fetch(`http://127.0.0.1:${port}/hubs?token=${TOKEN}`);
      assert.equal(viaKey.status, 200);
      const wrong = await fetch(`http://127.0.0.1:${port}/hubs`, {
        headers: { 'X-API-Key': 'not-the-token-at-all' },
      });
      assert.equal(wrong.status, 401);
      assert.deepEqual(await wrong.json(), { detail: 'Token not accepted' });
      const ws = await new Promise<number>((resolve) => {
        const s = new WebSocket(`ws://127.0.0.1:${port}/ws/telemetry/v1?token=${TOKEN}`);
        s.once('open', () => {
          s.close();
          resolve(101);
        });
        s.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        s.once('error', () => resolve(-1));
      });
      assert.equal(ws, 101);
    });
  });

  describe('without WPT_COMPAT_PORT', () => {
    let rt: RuntimeHandle;
    before(async () => {
      rt = await startRuntime({ env: { WPT_COMPAT_PORT: undefined } });
      await until(() => /original API off/.test(rt.output()), 30_000, 'the node saying it is off');
    });
    after(async () => {
      await rt?.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('opens no listener: the runtime listens on its HTTP port and its broker only', () => {
      const expected = [rt.port];
      // The embedded broker runs in the process; an external one (MQTT_URL) does not.
      if (/embedded MQTT broker listening/.test(rt.output())) expected.push(Number(new URL(rt.mqttUrl).port));
      assert.deepEqual(
        listeningPorts(rt.proc.pid!),
        expected.sort((a, b) => a - b),
      );
      assert.doesNotMatch(rt.output(), /original API listening/);
    });
  });
});
