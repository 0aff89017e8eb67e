// A first start that locks nobody out: generated logins are kept and shown only by a start that
// succeeded; `npm run reset-login` makes new ones without touching the database; losing the
// login file costs the login only, losing the secrets file is said in one line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startRuntime, makeUserDir, ROOT, type RuntimeHandle } from '../helpers/runtime';
import { freePort } from '../../runtime/free-port';
import { createTestDatabase } from '../helpers/services';

const GENERATED: Record<string, string | undefined> = {
  WPT_API_TOKEN: undefined,
  WPT_ADMIN_PASSWORD: undefined,
};

function shown(out: string): { password?: string; token?: string } {
  return {
    password: /Editor login \(shown once\): \S+ \/ (\S+)/.exec(out)?.[1],
    token: /API token \(shown once\): (\S+)/.exec(out)?.[1],
  };
}

async function status(rt: RuntimeHandle, token: string | undefined): Promise<number> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return (await fetch(`${rt.url}/api/ingest`, { headers })).status;
}

async function editorLogin(rt: RuntimeHandle, password: string): Promise<number> {
  const r = await fetch(`${rt.url}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_id: 'node-red-editor',
      grant_type: 'password',
      scope: '*',
      username: 'operator',
      password,
    }),
  });
  return r.status;
}

async function postgresOk(rt: RuntimeHandle): Promise<boolean> {
  const h = (await (await fetch(`${rt.url}/api/health`)).json()) as {
    dependencies: { postgres: { state: string } };
  };
  return h.dependencies.postgres.state === 'ok';
}

describe('e2e: first start, lost and reset logins', function () {
  this.timeout(300000);
  const userDir = makeUserDir();
  // One installation: the same user dir and, with DATABASE_URL, the same database every start
  // (services are not inherited: the database is given here; MQTT is always the embedded broker).
  before(async () => {
    if (process.env.DATABASE_URL) GENERATED.DATABASE_URL = await createTestDatabase('wpt_e2e');
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it('a start that fails keeps no login; the next one shows it; later ones do not', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      await assert.rejects(
        startRuntime({
          userDir,
          inheritServices: false,
          env: { ...GENERATED, WPT_MQTT_PORT: String(port) },
          timeoutMs: 60000,
        }),
        (err: Error) => {
          assert.match(err.message, /already in use/);
          assert.doesNotMatch(err.message, /shown once/);
          return true;
        },
      );
    } finally {
      blocker.close();
    }
    assert.equal(
      fs.existsSync(path.join(userDir, '.wpt-login.json')),
      false,
      'no login kept by a failed start',
    );

    const first = await startRuntime({ userDir, inheritServices: false, env: GENERATED });
    const { password, token } = shown(first.output());
    assert.ok(password && token, first.output());
    assert.equal(await status(first, token), 200);
    assert.equal(await editorLogin(first, password), 200);
    assert.equal(await first.stop(), 0);

    const again = await startRuntime({ userDir, inheritServices: false, env: GENERATED });
    assert.doesNotMatch(again.output(), /shown once/);
    assert.equal(await status(again, token), 200);
    assert.equal(await again.stop(), 0);
  });

  it('npm run reset-login makes a new password and token and leaves the database alone', async () => {
    const secretsBefore = fs.readFileSync(path.join(userDir, '.wpt-secrets.json'), 'utf8');
    const oldLogin = fs.readFileSync(path.join(userDir, '.wpt-login.json'), 'utf8');
    const npm = (process.env.PATH ?? '')
      .split(':')
      .map((d) => path.join(d, 'npm'))
      .find((f) => fs.existsSync(f));
    assert.ok(npm, 'npm on the PATH');
    const r = spawnSync(npm, ['run', '--silent', 'reset-login'], {
      cwd: ROOT,
      env: {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        HOME: process.env.HOME,
        WPT_USER_DIR: userDir,
        WPT_ADMIN_USER: 'operator',
      },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const password = /Editor login: operator \/ (\S+)/.exec(r.stdout)?.[1];
    const token = /API token:\s+(\S+)/.exec(r.stdout)?.[1];
    assert.ok(password && token, r.stdout);
    assert.equal(fs.readFileSync(path.join(userDir, '.wpt-secrets.json'), 'utf8'), secretsBefore);
    assert.notEqual(fs.readFileSync(path.join(userDir, '.wpt-login.json'), 'utf8'), oldLogin);

    const rt = await startRuntime({ userDir, inheritServices: false, env: GENERATED });
    try {
      assert.doesNotMatch(rt.output(), /shown once/);
      assert.equal(await status(rt, token), 200);
      assert.equal(await status(rt, 'the-old-token-is-gone-0123'), 401);
      assert.equal(await editorLogin(rt, password), 200);
      assert.ok(await postgresOk(rt), 'the database still opens');
    } finally {
      assert.equal(await rt.stop(), 0);
    }
  });

  it('a deleted login file costs the login only; a deleted secrets file is said in one line', async function () {
    fs.rmSync(path.join(userDir, '.wpt-login.json'));
    const rt = await startRuntime({ userDir, inheritServices: false, env: GENERATED });
    try {
      const { token } = shown(rt.output());
      assert.ok(token, rt.output());
      assert.equal(await status(rt, token), 200);
      assert.ok(await postgresOk(rt), 'the database still opens');
    } finally {
      assert.equal(await rt.stop(), 0);
    }
    if (process.env.DATABASE_URL) {
      console.log('      (DATABASE_URL is set: no embedded database to lose the password of)');
      return;
    }
    const secrets = path.join(userDir, '.wpt-secrets.json');
    const kept = fs.readFileSync(secrets);
    fs.rmSync(secrets);
    await assert.rejects(
      startRuntime({ userDir, inheritServices: false, env: GENERATED, timeoutMs: 30000 }),
      (err: Error) => {
        const lines = err.message.split('\n').filter((l) => l.includes('[wpt]'));
        assert.ok(
          lines.some((l) => l.includes('.wpt-secrets.json') && /restore/.test(l)),
          err.message,
        );
        assert.doesNotMatch(err.message, /password authentication failed/);
        return true;
      },
    );
    assert.equal(fs.existsSync(secrets), false, 'no new password was made for the old database');
    fs.writeFileSync(secrets, kept, { mode: 0o600 });
    const back = await startRuntime({ userDir, inheritServices: false, env: GENERATED });
    assert.ok(await postgresOk(back));
    assert.equal(await back.stop(), 0);
  });
});
