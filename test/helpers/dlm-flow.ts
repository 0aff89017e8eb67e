// The DLM path of the shipped flows, for Node-RED under node-red-node-test-helper against a
// real broker: mqtt in → wpt-decode → wpt-twin → wpt-dlm-allocator → mqtt out (dlm/events),
// and a status node telling the allocator about the broker connection. Node ids: broker 'b1',
// fleet 'f1', decode 'dec', twin 'twin', allocator 'dlm', mqtt out 'out', status 'st'.

/** The node modules a dlmFlow() needs, for nr.load(). */
export const DLM_FLOW_NODES: unknown[] = [
  require('@node-red/nodes/core/network/10-mqtt.js'),
  require('@node-red/nodes/core/common/25-status.js'),
  require('../../nodes/wpt-fleet/wpt-fleet'),
  require('../../nodes/wpt-decode/wpt-decode'),
  require('../../nodes/wpt-twin/wpt-twin'),
  require('../../nodes/wpt-dlm-allocator/wpt-dlm-allocator'),
];

export interface DlmFlowOptions {
  /** URL of the MQTT broker. */
  brokerUrl: string;
  /** The hub id in the subscribed topics, or '+' for every hub. */
  hub: string;
  /** QoS of the hub subscription (info, status, telemetry, requests); default 1. */
  streamQos?: '0' | '1';
  /** Extra properties of the wpt-fleet config node. */
  fleet?: Record<string, unknown>;
  /** Extra properties of the wpt-dlm-allocator (policy is soc-priority unless given). */
  allocator?: Record<string, unknown>;
  /** Id of a helper node given the twin's refusals (none: the output is not wired). */
  rejects?: string;
  /** Id of a helper node given the allocator's alarms. */
  alarms?: string;
  /** Id of a helper node also given the twin's change lists. */
  changes?: string;
}

/** A flow of the DLM path (see the file header for its node ids). */
export function dlmFlow(o: DlmFlowOptions): unknown[] {
  const mqttIn = (id: string, topic: string, qos: string) => ({
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
    wires: [['dec']],
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
    mqttIn('i1', `iot/hubs/${o.hub}/#`, o.streamQos ?? '1'),
    mqttIn('i2', 'iot/vehicles/+/telemetry', '0'),
    { id: 'dec', type: 'wpt-decode', fleet: 'f1', wires: [['twin'], []] },
    {
      id: 'twin',
      type: 'wpt-twin',
      fleet: 'f1',
      wires: [['dlm', ...(o.changes ? [o.changes] : [])], [], o.rejects ? [o.rejects] : []],
    },
    { id: 'st', type: 'status', scope: ['out'], wires: [['dlm']] },
    {
      id: 'dlm',
      type: 'wpt-dlm-allocator',
      fleet: 'f1',
      policy: 'soc-priority',
      ...o.allocator,
      wires: [['out'], o.alarms ? [o.alarms] : []],
    },
    { id: 'out', type: 'mqtt out', topic: '', qos: '1', retain: 'false', broker: 'b1' },
    ...(o.rejects ? [{ id: o.rejects, type: 'helper' }] : []),
    ...(o.alarms ? [{ id: o.alarms, type: 'helper' }] : []),
    ...(o.changes ? [{ id: o.changes, type: 'helper' }] : []),
  ];
}
