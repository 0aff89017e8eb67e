// The launcher's cluster mode check (runtime/cluster.ts): off by default with nothing else
// read; on, it refuses the embedded broker and the embedded PostgreSQL and bad lease timing,
// each in one clear line, and hands the flows their WPT_CLUSTER* values.
import { strict as assert } from 'node:assert';
import { clusterSetup } from '../../runtime/cluster';
import { CLUSTER_BROKER_NOTE } from '../../core/cluster';

const services = { MQTT_URL: 'mqtt://broker:1883', DATABASE_URL: 'postgres://db/wpt' };

describe('runtime cluster mode setup', () => {
  it('is off by default (the flows get WPT_CLUSTER=0)', () => {
    const s = clusterSetup({});
    assert.equal(s.enabled, false);
    assert.equal(s.flowEnv.WPT_CLUSTER, '0');
    assert.equal(clusterSetup({ WPT_CLUSTER: '0', WPT_INSTANCE_ID: 'x' }).enabled, false);
  });

  it('on: requires MQTT_URL, DATABASE_URL and an instance id, in one line each', () => {
    assert.throws(
      () => clusterSetup({ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'a', DATABASE_URL: 'postgres://db' }),
      (e: Error) => e.message.includes('MQTT_URL is required') && e.message.includes(CLUSTER_BROKER_NOTE),
    );
    assert.throws(
      () => clusterSetup({ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'a', MQTT_URL: 'mqtt://b' }),
      /DATABASE_URL is required/,
    );
    assert.throws(() => clusterSetup({ WPT_CLUSTER: '1', ...services }), /WPT_INSTANCE_ID: required/);
    assert.throws(() => clusterSetup({ WPT_CLUSTER: 'yes', ...services }), /WPT_CLUSTER: must be 1/);
  });

  it('on: checks the lease timing together and passes it to the flows', () => {
    const s = clusterSetup({
      WPT_CLUSTER: '1',
      WPT_INSTANCE_ID: 'node-a',
      ...services,
      WPT_CLUSTER_RENEW_MS: '300',
      WPT_CLUSTER_LEASE_MS: '2000',
      WPT_CLUSTER_MARGIN_MS: '600',
      WPT_CLUSTER_PUBLISH_LATENCY_MS: '500',
    });
    assert.ok(s.enabled);
    assert.equal(s.flowEnv.WPT_INSTANCE_ID, 'node-a');
    assert.equal(s.flowEnv.WPT_CLUSTER_LEASE_MS, '2000');
    assert.match(s.note, /cluster mode: instance node-a .*lease 2000 ms/);
    assert.ok(s.note.includes(CLUSTER_BROKER_NOTE));
    assert.throws(
      () =>
        clusterSetup({ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'a', ...services, WPT_CLUSTER_MARGIN_MS: '10' }),
      /marginMs: must be at least/,
    );
    assert.throws(
      () => clusterSetup({ WPT_CLUSTER: '1', WPT_INSTANCE_ID: 'a', ...services, WPT_CLUSTER_LEASE_MS: '2s' }),
      /WPT_CLUSTER_LEASE_MS: an integer/,
    );
  });
});
