import assert from 'node:assert/strict';
import { nr } from '../helpers/node-red';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { until } from '../helpers/wait';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const influxNode = require('../../nodes/wpt-influxdb/wpt-influxdb');
const queryNode = require('../../nodes/wpt-query/wpt-query');
const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');

function answer(
  id: string,
  out: string,
  msg: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const p = new Promise<Record<string, unknown>>((resolve) => nr.getNode(out).on('input', resolve));
  nr.getNode(id).receive(msg);
  return p;
}

describe('node: wpt-query health', function () {
  this.timeout(30000);
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('is 200 with MQTT and PostgreSQL up, and says InfluxDB is off when it has no URL', async () => {
    const db = await createTestDatabase();
    const broker = await mqttUrl();
    await nr.load(
      [fleetNode, postgresNode, influxNode, queryNode, mqttNodes],
      [
        {
          id: 'b',
          type: 'mqtt-broker',
          broker,
          autoConnect: true,
          protocolVersion: 4,
          keepalive: 10,
          cleansession: true,
        },
        {
          id: 'sub',
          type: 'mqtt in',
          topic: 'wpt/none',
          qos: '0',
          broker: 'b',
          datatype: 'utf8',
          wires: [[]],
        },
        { id: 'p', type: 'wpt-postgres', url: db },
        { id: 'i', type: 'wpt-influxdb', url: '' },
        {
          id: 'q',
          type: 'wpt-query',
          op: 'health',
          broker: 'b',
          postgres: 'p',
          influxdb: 'i',
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
      ],
    );
    const b = nr.getNode('b') as unknown as { connected: boolean };
    await until(() => b.connected);
    const msg = await answer('q', 'out');
    assert.equal(msg.statusCode, 200);
    const p = msg.payload as {
      status: string;
      dependencies: Record<string, { state: string; latency_ms?: number }>;
    };
    assert.equal(p.dependencies.mqtt?.state, 'ok');
    assert.equal(p.dependencies.postgres?.state, 'ok');
    assert.equal(typeof p.dependencies.postgres?.latency_ms, 'number', 'snake_case, as the rest of the API');
    assert.equal(p.dependencies.influxdb?.state, 'off');
    assert.equal(p.status, 'ok');
  });

  it('is 503 when PostgreSQL cannot be reached, naming it', async () => {
    await nr.load(
      [fleetNode, postgresNode, influxNode, queryNode],
      [
        // Port 1 on loopback: nothing listens there.
        { id: 'p', type: 'wpt-postgres', url: 'postgres://nobody@127.0.0.1:1/none' },
        { id: 'q', type: 'wpt-query', op: 'health', postgres: 'p', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
    );
    const msg = await answer('q', 'out');
    assert.equal(msg.statusCode, 503);
    const p = msg.payload as {
      status: string;
      dependencies: Record<string, { state: string; error?: string }>;
    };
    assert.equal(p.status, 'down');
    assert.equal(p.dependencies.postgres?.state, 'down');
    assert.ok(p.dependencies.postgres?.error);
    assert.equal(p.dependencies.mqtt?.state, 'off');
  });

  it('reports InfluxDB down as degraded, not as a failure', async () => {
    const db = await createTestDatabase();
    const broker = await mqttUrl();
    await nr.load(
      [fleetNode, postgresNode, influxNode, queryNode, mqttNodes],
      [
        {
          id: 'b',
          type: 'mqtt-broker',
          broker,
          autoConnect: true,
          protocolVersion: 4,
          keepalive: 10,
          cleansession: true,
        },
        {
          id: 'sub',
          type: 'mqtt in',
          topic: 'wpt/none',
          qos: '0',
          broker: 'b',
          datatype: 'utf8',
          wires: [[]],
        },
        { id: 'p', type: 'wpt-postgres', url: db },
        { id: 'i', type: 'wpt-influxdb', url: 'http://127.0.0.1:1' },
        {
          id: 'q',
          type: 'wpt-query',
          op: 'health',
          broker: 'b',
          postgres: 'p',
          influxdb: 'i',
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
      ],
    );
    const b = nr.getNode('b') as unknown as { connected: boolean };
    await until(() => b.connected);
    const msg = await answer('q', 'out');
    assert.equal(msg.statusCode, 200);
    const p = msg.payload as { status: string; dependencies: Record<string, { state: string }> };
    assert.equal(p.status, 'degraded');
    assert.equal(p.dependencies.influxdb?.state, 'down');
  });
});
