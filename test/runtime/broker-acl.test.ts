// The broker's accounts and ACL in Mosquitto's formats: the shipped aclfile does what the README
// says, and one set of files means the same to the embedded broker and to a real Mosquitto
// (started here on a free port with those files).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAcl, aclAllows, AclFileError } from '../../runtime/mosquitto-acl';
import { hashPassword, parsePasswordFile, verifyPassword, withUser } from '../../runtime/mosquitto-passwd';
import { loadBrokerAuth, shippedAclFile } from '../../runtime/broker-auth';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../runtime/embedded-broker';
import {
  OBSERVER,
  PROBE_ACL,
  mosquittoBinary,
  prober,
  startMosquitto,
  type Probe,
} from '../helpers/mosquitto';

const ROOT = path.resolve(__dirname, '..', '..');

/** A `$6$` hash (Mosquitto 1.x): SHA-512 of password + salt. */
function sha512Hash(password: string): string {
  const salt = crypto.randomBytes(12);
  const hash = crypto.createHash('sha512').update(password).update(salt).digest();
  return `$6$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const ACCOUNTS = new Map<string, string>([
  [OBSERVER.username, OBSERVER.password],
  ['wpt-orchestrator', 'orchestrator-pw-1'],
  ['app', 'app-password-1'],
  ['hubs/hub_A', 'hub-a-password'],
  ['hubs/hub_B', 'hub-b-password'],
  ['vehicles/ev_1', 'vehicle-password'],
  ['alice', 'alice-password'],
  ['bob', 'bob-password-1'],
  ['w+ild', 'wild-password'],
]);

function passwordFileText(): string {
  let text = '# accounts for the broker tests\n';
  for (const [u, p] of ACCOUNTS) text = withUser(text, u, u === 'bob' ? sha512Hash(p) : hashPassword(p));
  return text;
}

/** The shipped rules: what a hub, a vehicle, the app and the orchestrator may do. */
const SHIPPED: Array<[Probe, boolean]> = [
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_A/info' }, true],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_A/status' }, true],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_A/nodes/pad_1/telemetry' }, true],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_B/info' }, false],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_B/nodes/pad_1/telemetry' }, false],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_A/dlm/events' }, false],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_B/dlm/events' }, false],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/hubs/hub_A/requests' }, false],
  [{ username: 'hubs/hub_A', access: 'write', topic: 'iot/vehicles/ev_1/telemetry' }, false],
  [{ username: 'hubs/hub_A', access: 'read', topic: 'iot/hubs/hub_A/dlm/events' }, true],
  [{ username: 'hubs/hub_A', access: 'read', topic: 'iot/hubs/hub_A/requests' }, true],
  [{ username: 'hubs/hub_A', access: 'read', topic: 'iot/hubs/hub_B/dlm/events' }, false],
  [{ username: 'hubs/hub_A', access: 'read', topic: 'iot/hubs/hub_B/info' }, false],
  [{ username: 'hubs/hub_A', access: 'read', topic: 'iot/vehicles/ev_1/telemetry' }, false],
  [{ username: 'hubs/hub_A', access: 'read', filter: '#', topic: 'iot/hubs/hub_B/info' }, false],
  [{ username: 'hubs/hub_A', access: 'read', filter: '#', topic: 'iot/hubs/hub_A/dlm/events' }, true],
  [{ username: 'vehicles/ev_1', access: 'write', topic: 'iot/vehicles/ev_1/telemetry' }, true],
  [{ username: 'vehicles/ev_1', access: 'write', topic: 'iot/vehicles/ev_2/telemetry' }, false],
  [{ username: 'vehicles/ev_1', access: 'write', topic: 'iot/hubs/hub_A/requests' }, false],
  [{ username: 'vehicles/ev_1', access: 'write', topic: 'iot/hubs/ev_1/info' }, false],
  [{ username: 'app', access: 'write', topic: 'iot/hubs/hub_A/requests' }, true],
  [{ username: 'app', access: 'write', topic: 'iot/hubs/hub_A/dlm/events' }, false],
  [{ username: 'app', access: 'write', topic: 'iot/hubs/hub_A/info' }, false],
  [{ username: 'app', access: 'read', topic: 'iot/hubs/hub_A/dlm/events' }, true],
  [{ username: 'app', access: 'read', topic: 'iot/hubs/hub_A/info' }, false],
  [{ username: 'wpt-orchestrator', access: 'write', topic: 'iot/hubs/hub_A/dlm/events' }, true],
  [{ username: 'wpt-orchestrator', access: 'write', topic: 'iot/hubs/hub_A/requests' }, true],
  [{ username: 'wpt-orchestrator', access: 'write', topic: 'iot/hubs/hub_A/info' }, false],
  [{ username: 'wpt-orchestrator', access: 'read', topic: 'iot/hubs/hub_A/nodes/pad_1/telemetry' }, true],
  [{ username: 'wpt-orchestrator', access: 'read', topic: 'iot/vehicles/ev_1/telemetry' }, true],
];

/** Mosquitto's corners: deny first, merged user sections, `topic read` alone, %c, + and # in names. */
const QUIRKS_ACL = `# quirks
topic read anon/#
user alice
topic read
topic readwrite a/#
topic deny a/secret
topic write b/+/c
topic write $x/#
user bob
topic   write    spaced topic/x
pattern write p/%u/%c
pattern deny p/bob/#
pattern readwrite q/%c
pattern write r/%u
user alice
topic write later/#
user w+ild
topic write w/#
`;
const QUIRKS: Array<[Probe, boolean]> = [
  [{ username: 'alice', access: 'write', topic: 'a/x' }, true],
  [{ username: 'alice', access: 'write', topic: 'a/secret' }, false],
  [{ username: 'alice', access: 'write', topic: 'read' }, true],
  [{ username: 'alice', access: 'write', topic: 'b/x/c' }, true],
  [{ username: 'alice', access: 'write', topic: 'b/x/y/c' }, false],
  [{ username: 'alice', access: 'write', topic: 'later/z' }, true],
  [{ username: 'alice', access: 'write', topic: '$x/y' }, true],
  [{ username: 'alice', access: 'write', topic: 'anon/z' }, false],
  [{ username: 'alice', access: 'write', topic: 'p/alice/cid-1', clientId: 'cid-1' }, true],
  [{ username: 'alice', access: 'write', topic: 'p/alice/cid-2', clientId: 'cid-1' }, false],
  [{ username: 'alice', access: 'write', topic: 'q/cid-3', clientId: 'cid-3' }, true],
  [{ username: 'alice', access: 'write', topic: 'r/alice', clientId: 'cid-4' }, true],
  [{ username: 'alice', access: 'write', topic: 'r/alice', clientId: 'c#4' }, false],
  [{ username: 'alice', access: 'write', topic: 'a/z', clientId: 'c#5' }, true],
  [{ username: 'alice', access: 'read', topic: 'a/x' }, true],
  [{ username: 'alice', access: 'read', topic: 'b/x/c' }, false],
  [{ username: 'bob', access: 'write', topic: 'spaced topic/x' }, true],
  [{ username: 'bob', access: 'write', topic: 'p/bob/cid-6', clientId: 'cid-6' }, false],
  [{ username: 'bob', access: 'read', topic: 'q/cid-7', clientId: 'cid-7' }, true],
  [{ username: 'w+ild', access: 'write', topic: 'w/x' }, true],
  [{ username: 'w+ild', access: 'write', topic: 'q/cid-8', clientId: 'cid-8' }, false],
];

/** Files Mosquitto refuses: the embedded broker refuses them too. */
const BAD_ACLS = [
  'topic writ a/b',
  'topic read a/#/b',
  'topic read a/b+',
  'usr alice',
  'user',
  '  # an indented comment is not a comment',
  '\ttopic read a',
  'topic',
  'pattern READ a/%u',
];

describe('runtime: broker accounts and ACL (Mosquitto formats)', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-acl-'));
    fs.chmodSync(dir, 0o755);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const files = (name: string, acl: string) => {
    const aclFile = path.join(dir, `${name}.acl`);
    const passwordFile = path.join(dir, `${name}.passwd`);
    fs.writeFileSync(aclFile, acl + PROBE_ACL);
    fs.writeFileSync(passwordFile, passwordFileText(), { mode: 0o644 });
    return { aclFile, passwordFile };
  };

  it('ships docker/mosquitto/aclfile, which parses without warnings', () => {
    assert.equal(path.resolve(shippedAclFile()), path.join(ROOT, 'docker', 'mosquitto', 'aclfile'));
    const acl = parseAcl(fs.readFileSync(shippedAclFile(), 'utf8'));
    assert.deepEqual(acl.warnings, []);
    const client = (username: string) => ({ username, clientId: 'x' });
    assert.ok(aclAllows(acl, client('hubs/h1'), 'iot/hubs/h1/info', 'write'));
    assert.ok(!aclAllows(acl, client('hubs/h1'), 'iot/hubs/h2/info', 'write'));
    assert.ok(!aclAllows(acl, { username: undefined, clientId: 'x' }, 'iot/hubs/h1/info', 'write'));
  });

  it('refuses the files Mosquitto refuses, and says where', async () => {
    for (const text of BAD_ACLS) {
      assert.throws(
        () => parseAcl(text, 'bad.acl'),
        (e: Error) => e instanceof AclFileError && /bad\.acl:1:/.test(e.message),
        text,
      );
    }
    if (!mosquittoBinary()) return console.log('      (mosquitto not installed: its side not checked)');
    for (const [i, text] of BAD_ACLS.entries()) {
      const f = files(`bad${i}`, text);
      await assert.rejects(startMosquitto(f), /refused the configuration/, text);
    }
  });

  it('reads mosquitto_passwd hashes ($7$) and SHA-512 ones ($6$), and writes what Mosquitto reads', async function () {
    const text = withUser(
      withUser('', 'seven', hashPassword('pw-seven-1', 101)),
      'six',
      sha512Hash('pw-six-1'),
    );
    const parsed = parsePasswordFile(text + 'no-colon-line\nbroken:$7$0$abc$def\n');
    assert.equal(parsed.users.size, 2);
    assert.equal(parsed.warnings.length, 1);
    assert.equal(await verifyPassword(parsed.users.get('seven')!, 'pw-seven-1'), true);
    assert.equal(await verifyPassword(parsed.users.get('seven')!, 'pw-seven-2'), false);
    assert.equal(await verifyPassword(parsed.users.get('six')!, 'pw-six-1'), true);
    const tool = spawnSync('sh', ['-c', 'command -v mosquitto_passwd'], { encoding: 'utf8' }).stdout.trim();
    if (!tool) return console.log('      (mosquitto_passwd not installed: its hashes not checked)');
    const file = path.join(dir, 'tool.passwd');
    fs.writeFileSync(file, '');
    assert.equal(spawnSync(tool, ['-b', file, 'hubs/hub_9', 'tool-made-pw']).status, 0);
    const made = parsePasswordFile(fs.readFileSync(file, 'utf8'));
    assert.match(fs.readFileSync(file, 'utf8'), /^hubs\/hub_9:\$7\$/);
    assert.equal(await verifyPassword(made.users.get('hubs/hub_9')!, 'tool-made-pw'), true);
    assert.equal(await verifyPassword(made.users.get('hubs/hub_9')!, 'tool-made-pX'), false);
  });

  for (const [name, acl, table] of [
    ['the shipped aclfile', null, SHIPPED],
    ['an ACL with Mosquitto corner cases', QUIRKS_ACL, QUIRKS],
  ] as const) {
    describe(`${name}: the embedded broker and Mosquitto decide alike`, () => {
      const results = new Map<string, boolean[]>();
      let f: { aclFile: string; passwordFile: string };
      before(() => {
        f = files(name.replace(/\W+/g, '-'), acl ?? fs.readFileSync(shippedAclFile(), 'utf8'));
      });

      it('embedded broker: logins and every probe as expected', async () => {
        const broker: EmbeddedBroker = await startEmbeddedBroker({
          port: 0,
          host: '127.0.0.1',
          auth: loadBrokerAuth(f),
        });
        const p = await prober(broker.url, ACCOUNTS);
        try {
          assert.equal(await p.connects('hubs/hub_A', 'hub-a-password'), true);
          assert.equal(await p.connects('hubs/hub_A', 'hub-b-password'), false, 'wrong password');
          assert.equal(await p.connects('nobody', 'hub-a-password'), false, 'unknown user');
          assert.equal(await p.connects(undefined, undefined), false, 'anonymous');
          assert.equal(await p.connects('bob', 'bob-password-1'), true, '$6$ hash');
          const got: boolean[] = [];
          for (const [probe] of table) got.push(await p.allowed(probe));
          results.set('embedded', got);
          assert.deepEqual(
            table.map(([probe], i) => [probe.username, probe.access, probe.topic, got[i]]),
            table.map(([probe, ok]) => [probe.username, probe.access, probe.topic, ok]),
          );
          assert.ok(broker.denied() > 0, 'denied publishes are counted');
        } finally {
          await p.close();
          await broker.close();
        }
      });

      it('Mosquitto: logins and every probe as expected', async function () {
        if (!mosquittoBinary()) {
          console.log('      (mosquitto not installed: the Mosquitto side is not checked)');
          return this.skip();
        }
        const m = await startMosquitto(f);
        const p = await prober(m.url, ACCOUNTS);
        try {
          assert.equal(await p.connects('hubs/hub_A', 'hub-a-password'), true, m.log());
          assert.equal(await p.connects('hubs/hub_A', 'hub-b-password'), false, 'wrong password');
          assert.equal(await p.connects('nobody', 'hub-a-password'), false, 'unknown user');
          assert.equal(await p.connects(undefined, undefined), false, 'anonymous');
          assert.equal(await p.connects('bob', 'bob-password-1'), true, '$6$ hash');
          const got: boolean[] = [];
          for (const [probe] of table) got.push(await p.allowed(probe));
          assert.deepEqual(
            table.map(([probe], i) => [probe.username, probe.access, probe.topic, got[i]]),
            table.map(([probe, ok]) => [probe.username, probe.access, probe.topic, ok]),
          );
          const embedded = results.get('embedded');
          if (embedded) assert.deepEqual(got, embedded);
        } finally {
          await p.close();
          await m.stop();
        }
      });
    });
  }
});
