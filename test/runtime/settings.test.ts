import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSecrets } from '../../runtime/secrets';
import { buildSettings } from '../../runtime/settings';
import {
  decryptCredentials,
  encryptCredentials,
  splitMqttUrl,
  provisionMqttCredentials,
} from '../../runtime/flow-credentials';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-settings-'));
}

describe('runtime: settings', () => {
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
    // A password long enough that it cannot appear by chance in the base64 ciphertext
    // (a two-letter one did, about once in 40 runs).
    const password = 'correct-horse-battery-staple';
    assert.equal(provisionMqttCredentials(dir, flowFile, 'secret', 'wpt', password), 1);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'flows_cred.json'), 'utf8'));
    assert.ok(!JSON.stringify(stored).includes(password), 'the password is stored in clear');
    assert.deepEqual(decryptCredentials('secret', stored), { b1: { user: 'wpt', password } });
    fs.rmSync(dir, { recursive: true });
  });
});
