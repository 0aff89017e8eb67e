import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import {
  LOGIN_FILE,
  SECRETS_FILE,
  resetLogin,
  resolveSecrets,
  sha256,
  tokenMatches,
} from '../../runtime/secrets';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-secrets-'));
}
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, string>;

describe('runtime: secrets', () => {
  it('keeps the generated login only after commit(), as hashes, apart from the database password', () => {
    const dir = tmpDir();
    const a = resolveSecrets({}, dir);
    assert.ok(a.generated.adminPassword && a.generated.apiToken);
    assert.ok(bcrypt.compareSync(a.generated.adminPassword, a.adminPasswordHash));
    assert.equal(a.apiTokenHash, sha256(a.generated.apiToken));
    // What the app needs is kept at once; the login waits for a good start.
    const kept = readJson(path.join(dir, SECRETS_FILE));
    assert.deepEqual(Object.keys(kept).sort(), ['credentialSecret', 'embeddedPostgresPassword']);
    assert.equal(fs.existsSync(path.join(dir, LOGIN_FILE)), false);
    // A start that failed: the next one generates (and would print) a new login.
    const b = resolveSecrets({}, dir);
    assert.ok(b.generated.adminPassword && b.generated.apiToken);
    assert.notEqual(b.generated.apiToken, a.generated.apiToken);
    assert.equal(b.embeddedPostgresPassword, a.embeddedPostgresPassword);
    b.commit();
    const login = fs.readFileSync(path.join(dir, LOGIN_FILE), 'utf8');
    assert.ok(!login.includes(b.generated.adminPassword!) && !login.includes(b.generated.apiToken!));
    for (const f of [SECRETS_FILE, LOGIN_FILE]) {
      assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    }
    const c = resolveSecrets({}, dir);
    assert.deepEqual(c.generated, {});
    assert.equal(c.apiTokenHash, b.apiTokenHash);
    assert.equal(c.adminPasswordHash, b.adminPasswordHash);
    assert.equal(c.credentialSecret, a.credentialSecret);
    fs.rmSync(dir, { recursive: true });
  });

  it('reset-login replaces the login and nothing else', () => {
    const dir = tmpDir();
    const first = resolveSecrets({}, dir);
    first.commit();
    const before = fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8');
    const { adminPassword, apiToken } = resetLogin(dir);
    assert.equal(fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8'), before);
    const after = resolveSecrets({}, dir);
    assert.deepEqual(after.generated, {});
    assert.ok(bcrypt.compareSync(adminPassword, after.adminPasswordHash));
    assert.ok(tokenMatches(apiToken, after.apiTokenHash));
    assert.ok(!tokenMatches(first.generated.apiToken, after.apiTokenHash));
    fs.rmSync(dir, { recursive: true });
  });

  it('moves the login out of an older secrets file, unchanged', () => {
    const dir = tmpDir();
    const hash = bcrypt.hashSync('old password', 4);
    fs.writeFileSync(
      path.join(dir, SECRETS_FILE),
      JSON.stringify({
        credentialSecret: 'k',
        embeddedPostgresPassword: 'db',
        adminPasswordHash: hash,
        apiTokenHash: sha256('old-token-old-token'),
      }),
    );
    const s = resolveSecrets({}, dir);
    assert.deepEqual(s.generated, {});
    assert.equal(s.adminPasswordHash, hash);
    assert.deepEqual(readJson(path.join(dir, SECRETS_FILE)), {
      credentialSecret: 'k',
      embeddedPostgresPassword: 'db',
    });
    assert.equal(readJson(path.join(dir, LOGIN_FILE)).apiTokenHash, sha256('old-token-old-token'));
    fs.rmSync(dir, { recursive: true });
  });

  it('says where the embedded database password went instead of making a new one', () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'postgres');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'PG_VERSION'), '17\n');
    assert.throws(
      () => resolveSecrets({}, dir, { embeddedDataDir: dataDir }),
      (e: Error) => e.message.includes(SECRETS_FILE) && e.message.includes('restore'),
    );
    assert.equal(fs.existsSync(path.join(dir, SECRETS_FILE)), false, 'nothing written');
    // With its own database (DATABASE_URL) the folder does not matter.
    assert.ok(resolveSecrets({}, dir).embeddedPostgresPassword);
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
});
