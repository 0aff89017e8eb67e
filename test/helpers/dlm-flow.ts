// The DLM path of the shipped flows, for Node-RED under node-red-node-test-helper against a
// real broker: mqtt in → wpt-hub-registry / wpt-soc-tracker / wpt-validate →
// wpt-dlm-allocator → mqtt out (dlm/events). Node ids: broker 'b1', fleet 'f1', registry
// 'reg', SoC tracker 'soc', validate 'val', allocator 'dlm', mqtt out 'out'.

/** The node modules a dlmFlow() needs, for nr.load(). */
export const DLM_FLOW_NODES: unknown[] = [
  require('@node-red/nodes/core/network/10-mqtt.js'),
  require('../../nodes/wpt-fleet/wpt-fleet'),
  require('../../nodes/wpt-hub-registry/wpt-hub-registry'),
  require('../../nodes/wpt-soc-tracker/wpt-soc-tracker'),
  require('../../nodes/wpt-validate/wpt-validate'),
  require('../../nodes/wpt-dlm-allocator/wpt-dlm-allocator'),
];

export interface DlmFlowOptions {
  /** URL of the MQTT broker. */
  brokerUrl: string;
  /** The hub id in the subscribed topics, or '+' for every hub. */
  hub: string;
  /** QoS of the status and node telemetry subscriptions; info and requests are always QoS 1. */
  streamQos?: '0' | '1';
  /** Extra properties of the wpt-fleet config node. */
  fleet?: Record<string, unknown>;
  /** Extra properties of the wpt-dlm-allocator (policy is soc-priority unless given). */
  allocator?: Record<string, unknown>;
  /** Id of a helper node given the allocator's rejects (none: the output is not wired). */
  rejects?: string;
}

/** A flow of the DLM path (see the file header for its node ids). */
export function dlmFlow(o: DlmFlowOptions): unknown[] {
  const prefix = `iot/hubs/${o.hub}`;
  const stream = o.streamQos ?? '1';
  const mqttIn = (id: string, topic: string, to: string, qos: string) => ({
    id,
    type: 'mqtt in',
    topic,
    qos,
    datatype: 'buffer',
    broker: 'b1',
    nl: false,
    rap: true,
    rh: 0,
    inputs: 0,
    wires: [[to]],
  });
  return [
    {
      id: 'b1',
      type: 'mqtt-broker',
      name: 'broker',
      broker: o.brokerUrl,
      clientid: '',
      autoConnect: true,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
    },
    { id: 'f1', type: 'wpt-fleet', name: 'fleet', ...o.fleet },
    mqttIn('i1', `${prefix}/info`, 'reg', '1'),
    mqttIn('i2', `${prefix}/status`, 'reg', stream),
    mqttIn('i3', `${prefix}/nodes/+/info`, 'reg', '1'),
    mqttIn('i4', `${prefix}/nodes/+/status`, 'reg', stream),
    mqttIn('i5', `${prefix}/nodes/+/telemetry`, 'soc', stream),
    mqttIn('i6', 'iot/vehicles/+/telemetry', 'soc', stream),
    mqttIn('i7', `${prefix}/requests`, 'val', '1'),
    { id: 'reg', type: 'wpt-hub-registry', fleet: 'f1', wires: [[], []] },
    { id: 'soc', type: 'wpt-soc-tracker', fleet: 'f1', wires: [[], []] },
    { id: 'val', type: 'wpt-validate', fleet: 'f1', wires: [['dlm'], []] },
    {
      id: 'dlm',
      type: 'wpt-dlm-allocator',
      fleet: 'f1',
      policy: 'soc-priority',
      ...o.allocator,
      wires: [['out'], o.rejects ? [o.rejects] : []],
    },
    { id: 'out', type: 'mqtt out', topic: '', qos: '1', retain: 'false', broker: 'b1' },
    ...(o.rejects ? [{ id: o.rejects, type: 'helper' }] : []),
  ];
}
