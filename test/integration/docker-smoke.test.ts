// docker/smoke.sh (run by .ci/run) and its parts that can be checked without a Docker daemon:
// the skip switch, the compose override (it may only swap images and turn time series off),
// the stand-ins' entrypoint, and the smoke's MQTT client against a real broker: it sends
// contract-valid messages and waits for a DLM event for its own node only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { decode } from '../../core/contract';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../runtime/embedded-broker';
import { composeBin, composeConfig, yamlParser } from '../helpers/compose';

const root = path.join(__dirname, '../..');
const dockerDir = path.join(root, 'docker');
const smokeScript = path.join(dockerDir, 'smoke.sh');
const roundTrip = path.join(dockerDir, 'smoke', 'mqtt-roundtrip.js');

describe('docker smoke (docker/smoke.sh)', () => {
  it('is valid bash; WPT_SKIP_DOCKER=1 skips it outside CI and says why', () => {
    assert.equal(spawnSync('bash', ['-n', smokeScript]).status, 0);
    assert.equal(spawnSync('bash', ['-n', path.join(dockerDir, 'smoke', 'stand-ins.sh')]).status, 0);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', WPT_SKIP_DOCKER: '1' };
    const r = spawnSync('bash', [smokeScript], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /skipped: WPT_SKIP_DOCKER=1 is set \(/);
    assert.match(r.stdout, /^smoke: 0 passed, 0 failed, 1 skipped$/m);
    // nothing was started or installed: the script stops before its first step
    assert.doesNotMatch(r.stdout, /===/);
  });

  it('the stand-in entrypoint is valid sh', () => {
    assert.equal(spawnSync('sh', ['-n', path.join(dockerDir, 'smoke', 'postgres-entrypoint.sh')]).status, 0);
  });

  describe('compose override', () => {
    const overrideFile = path.join(dockerDir, 'smoke', 'compose.smoke.yaml');

    it('only swaps the images the smoke builds and turns time series off', function () {
      const yaml = yamlParser();
      if (!yaml) {
        console.log('      (js-yaml not reachable from node_modules: override check skipped)');
        this.skip();
      }
      type Services = Record<string, Record<string, unknown>>;
      const override = (yaml.load(fs.readFileSync(overrideFile, 'utf8')) as { services: Services }).services;
      const compose = (
        yaml.load(fs.readFileSync(path.join(dockerDir, 'compose.yaml'), 'utf8')) as { services: Services }
      ).services;
      assert.deepEqual(Object.keys(override).sort(), ['app', 'mosquitto', 'orchestrator-b', 'postgres']);
      const smoke = fs.readFileSync(smokeScript, 'utf8');
      const smokeVar = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(smoke)?.[1];
      assert.deepEqual(override.mosquitto, { image: smokeVar('MOSQUITTO_IMAGE') });
      assert.deepEqual(override.postgres, { image: smokeVar('POSTGRES_IMAGE') });
      assert.deepEqual(override.app, { image: smokeVar('IMAGE'), environment: { INFLUX_URL: '' } });
      // the cluster profile's second instance is run as app is
      assert.deepEqual(override['orchestrator-b'], override.app);
      // what the smoke leaves out is what it cannot run here, and only that
      const started =
        /compose up -d --no-build (mosquitto postgres)\n[\s\S]*compose up -d --no-build --no-deps app/.exec(
          smoke,
        );
      assert.ok(started, 'the smoke starts mosquitto, postgres, then the app without its other dependencies');
      assert.match(
        smoke,
        /^ {2}WPT_CLUSTER=1 compose --profile cluster up -d --no-build --no-deps app orchestrator-b$/m,
        'then both instances of the cluster profile, as docker/README.md says',
      );
      assert.deepEqual(
        Object.keys(compose)
          .filter((s) => !['mosquitto', 'postgres', 'app', 'orchestrator-b'].includes(s))
          .sort(),
        ['grafana', 'influxdb'],
      );
    });

    it('publishes every host port of .env.example on loopback only, on a port the daemon picks', () => {
      const smoke = fs.readFileSync(smokeScript, 'utf8');
      const list = /-e 's\/\^\\\((\S+?)\\\)=\.\*\/\\1=127\.0\.0\.1:\/'/.exec(smoke)?.[1];
      assert.ok(list, "the smoke's sed for the ports");
      const env = fs.readFileSync(path.join(dockerDir, '.env.example'), 'utf8');
      const ports = [...env.matchAll(/^([A-Z_]*PORT[A-Z_]*)=/gm)].map((m) => m[1] as string).sort();
      assert.ok(ports.includes('WPT_PORT_B'));
      assert.deepEqual(list.split('\\|').sort(), ports);
    });

    it('docker-compose accepts compose.yaml with the override', function () {
      const bin = composeBin();
      if (!bin) {
        console.log('      (no docker-compose binary: override validation skipped)');
        this.skip();
      }
      // as the smoke runs it: without, then with the cluster profile (app + orchestrator-b)
      const files = [path.join(dockerDir, 'compose.yaml'), overrideFile];
      const envFile = path.join(dockerDir, '.env.example');
      const withoutProfile = composeConfig(bin, files, envFile);
      assert.equal(withoutProfile.services.app?.image, 'wpt-dlm:smoke');
      const cluster = composeConfig(bin, files, envFile, {
        profiles: ['cluster'],
        env: { WPT_CLUSTER: '1' },
      });
      for (const name of ['app', 'orchestrator-b']) {
        const s = cluster.services[name];
        assert.equal(s?.image, 'wpt-dlm:smoke', name);
        assert.equal(s?.environment?.INFLUX_URL, '', name);
        assert.equal(s?.environment?.WPT_CLUSTER, '1', name);
      }
    });
  });

  describe('MQTT round trip client', function () {
    this.timeout(30_000);
    let broker: EmbeddedBroker;
    let hub: MqttClient;
    const hubId = `smoke_t_${process.pid}`;
    const received: Array<{ topic: string; payload: string }> = [];

    before(async () => {
      broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1' });
      hub = await mqtt.connectAsync(broker.url, { clientId: `smoke-test-hub-${process.pid}` });
      await hub.subscribeAsync(`iot/hubs/${hubId}/#`, { qos: 1 });
      hub.on('message', (topic, p) => received.push({ topic, payload: p.toString() }));
    });
    after(async () => {
      await hub?.endAsync();
      await broker?.close();
    });

    function run(timeoutS: number): Promise<{ code: number | null; out: string }> {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [roundTrip, broker.url, hubId, String(timeoutS)], {
          env: { ...process.env, MQTT_USERNAME: 'smoke', MQTT_PASSWORD: 'pw' },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    }

    it('fails when no DLM event comes', async () => {
      const r = await run(1);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`no DLM event for ${hubId}/pad_1 within 1 s`));
    });

    it('sends a hub, a node and a request that the contract accepts, and waits for an event for its node', async () => {
      received.length = 0;
      const event = (node: string, newLimit: number) =>
        JSON.stringify({
          trigger_reason: 'VEHICLE_CONNECTED',
          original_limit: 0,
          new_limit: newLimit,
          affected_node_id: node,
          total_grid_load: newLimit,
          available_capacity: 100 - newLimit,
          timestamp: new Date().toISOString(),
        });
      // Answers the first request as a DLM would, after two events the client must ignore.
      const answer = (topic: string) => {
        if (topic !== `iot/hubs/${hubId}/requests`) return;
        hub.removeListener('message', answer);
        void (async () => {
          const t = `iot/hubs/${hubId}/dlm/events`;
          await hub.publishAsync(t, event('pad_2', 50), { qos: 1 });
          await hub.publishAsync(t, event('pad_1', 0), { qos: 1 });
          await hub.publishAsync(t, event('pad_1', 42), { qos: 1 });
        })();
      };
      hub.on('message', answer);
      const r = await run(20);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /"affected_node_id":"pad_1"/);
      assert.match(r.out, /"new_limit":42/);

      const sent = received.filter((m) => !m.topic.endsWith('/dlm/events'));
      assert.deepEqual(sent.map((m) => m.topic.slice(`iot/hubs/${hubId}/`.length)).slice(0, 5), [
        'info',
        'status',
        'nodes/pad_1/info',
        'nodes/pad_1/status',
        'requests',
      ]);
      for (const m of sent) {
        const d = decode(m.topic, JSON.parse(m.payload), Date.now());
        assert.ok(d.ok, `${m.topic}: ${JSON.stringify(d)}`);
      }
    });
  });
});
