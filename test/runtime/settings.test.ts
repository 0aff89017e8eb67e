import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { resolveSecrets, sha256, tokenMatches, SECRETS_FILE } from '../../runtime/secrets';
import { apiAuthMiddleware, buildSettings } from '../../settings';
import {
  decryptCredentials,
  encryptCredentials,
  splitMqttUrl,
  provisionMqttCredentials,
} from '../../runtime/flow-credentials';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-settings-'));
}

describe('runtime: secrets and settings', () => {
  it('generates a password and a token once, keeps only their hashes, and reuses them', () => {
    const dir = tmpDir();
    const a = resolveSecrets({}, dir);
    assert.ok(a.generated.adminPassword && a.generated.apiToken);
    assert.ok(bcrypt.compareSync(a.generated.adminPassword, a.adminPasswordHash));
    assert.equal(a.apiTokenHash, sha256(a.generated.apiToken));
    const file = fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8');
    assert.ok(!file.includes(a.generated.adminPassword) && !file.includes(a.generated.apiToken));
    assert.equal(fs.statSync(path.join(dir, SECRETS_FILE)).mode & 0o777, 0o600);
    const b = resolveSecrets({}, dir);
    assert.deepEqual(b.generated, {});
    assert.equal(b.credentialSecret, a.credentialSecret);
    assert.equal(b.apiTokenHash, a.apiTokenHash);
    fs.rmSync(dir, { recursive: true });
  });

  it('takes everything from the environment when given, and checks it', () => {
    const dir = tmpDir();
    const hash = bcrypt.hashSync('a long password', 4);
    const s = resolveSecrets(
      {
        WPT_ADMIN_USER: 'ops',
        WPT_ADMIN_PASSWORD_HASH: hash,
        WPT_API_TOKEN: 'x'.repeat(20),
        WPT_CREDENTIAL_SECRET: 'k',
      },
      dir,
    );
    assert.equal(s.adminUser, 'ops');
    assert.equal(s.adminPasswordHash, hash);
    assert.equal(s.credentialSecret, 'k');
    assert.deepEqual(s.generated, {});
    assert.throws(
      () => resolveSecrets({ WPT_API_TOKEN: 'short' }, dir),
      /WPT_API_TOKEN: must be at least 16/,
    );
    assert.throws(() => resolveSecrets({ WPT_ADMIN_PASSWORD: 'short' }, dir), /WPT_ADMIN_PASSWORD/);
    assert.throws(() => resolveSecrets({ WPT_ADMIN_PASSWORD_HASH: 'plain' }, dir), /bcrypt/);
    fs.rmSync(dir, { recursive: true });
  });

  it('compares tokens by hash', () => {
    assert.ok(tokenMatches('abc', sha256('abc')));
    assert.ok(!tokenMatches('abd', sha256('abc')));
    assert.ok(!tokenMatches(undefined, sha256('abc')));
  });

  it('guards /api but /api/health, and leaves other routes alone', () => {
    const mw = apiAuthMiddleware(sha256('good-token-good-token'));
    const run = (url: string, headers: Record<string, string> = {}) => {
      let nextCalled = false;
      const res = {
        statusCode: 200,
        headers: {} as Record<string, string>,
        body: '',
        setHeader(k: string, v: string) {
          this.headers[k] = v;
        },
        end(b: string) {
          this.body = b;
        },
      };
      mw({ url, method: 'GET', headers } as never, res as never, () => (nextCalled = true));
      return { nextCalled, res };
    };
    assert.ok(run('/api/health').nextCalled);
    assert.ok(run('/dashboard/').nextCalled);
    const denied = run('/api/hubs');
    assert.equal(denied.nextCalled, false);
    assert.equal(denied.res.statusCode, 401);
    assert.equal(JSON.parse(denied.res.body).status, 401);
    assert.ok(run('/api/hubs?x=1', { authorization: 'Bearer good-token-good-token' }).nextCalled);
    assert.ok(run('/api/hubs', { 'x-api-key': 'good-token-good-token' }).nextCalled);
    assert.equal(run('/api/health/../hubs').nextCalled, false);
  });

  it('builds Node-RED settings with a login and no open editor', () => {
    const dir = tmpDir();
    const secrets = resolveSecrets({ WPT_API_TOKEN: 't'.repeat(16) }, dir);
    const s = buildSettings({ env: { PORT: '1999' }, userDir: dir, packageRoot: '/pkg', secrets });
    const auth = s.adminAuth as { type: string; users: Array<{ username: string; password: string }> };
    assert.equal(auth.type, 'credentials');
    assert.equal(auth.users[0]?.password, secrets.adminPasswordHash);
    assert.equal(s.uiPort, 1999);
    assert.equal(s.credentialSecret, secrets.credentialSecret);
    assert.deepEqual(s.nodesDir, ['/pkg']);
    fs.rmSync(dir, { recursive: true });
  });

  it('moves MQTT user info out of the URL and into encrypted credentials', () => {
    assert.deepEqual(splitMqttUrl('mqtt://wpt:p%40ss@broker:1884'), {
      url: 'mqtt://broker:1884',
      username: 'wpt',
      password: 'p@ss',
    });
    assert.deepEqual(splitMqttUrl('mqtt://broker:1883'), { url: 'mqtt://broker:1883' });
    const creds = { abc: { user: 'u', password: 'p' } };
    assert.deepEqual(decryptCredentials('secret', encryptCredentials('secret', creds)), creds);

    const dir = tmpDir();
    const flowFile = path.join(dir, 'flows.json');
    fs.writeFileSync(
      flowFile,
      JSON.stringify([
        { id: 'b1', type: 'mqtt-broker', broker: '${MQTT_URL}' },
        { id: 'b2', type: 'mqtt-broker', broker: 'mqtt://other' },
      ]),
    );
    assert.equal(provisionMqttCredentials(dir, flowFile, 'secret', 'wpt', 'pw'), 1);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'flows_cred.json'), 'utf8'));
    assert.ok(!JSON.stringify(stored).includes('pw'));
    assert.deepEqual(decryptCredentials('secret', stored), { b1: { user: 'wpt', password: 'pw' } });
    fs.rmSync(dir, { recursive: true });
  });
});
