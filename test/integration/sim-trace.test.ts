// Simulator traces recorded before sim/model.ts was split into modules: the same seeds and the
// same calls must still give byte-identical traffic, counters and snapshots. The hashes below
// were computed with the single-file model (commit "Simulator: recorded traces …"); a change
// of behaviour that is meant must update them, and say why in its commit.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { encodeDlmNotification } from '../../core/contract';
import { FleetModel, type FleetOptions } from '../../sim';

const T0 = Date.UTC(2026, 10, 26, 7, 0, 0);

function dlm(hubId: string, nodeId: string, newLimit: number, ts: number): [string, string] {
  return [
    `iot/hubs/${hubId}/dlm/events`,
    encodeDlmNotification({
      trigger_reason: 'REBALANCE',
      original_limit: 0,
      new_limit: newLimit,
      affected_node_id: nodeId,
      total_grid_load: 0,
      available_capacity: 0,
      ts,
    }),
  ];
}

interface Trace {
  lines: string[];
  messages: number;
}

/** A busy fleet: Poisson arrivals, noise, faults, capacity changes, offline/online, DLM events, guests. */
function busyTrace(seed: number): Trace {
  const opts: FleetOptions = {
    seed,
    hubs: 3,
    nodesPerHub: 3,
    vehicles: 12,
    speed: 90,
    arrivalsPerHour: 40,
    noiseKw: 5,
    nodeMaxPowerKw: [22, 150, 78],
    dwellAfterFullMs: 20_000,
    priorityShare: 0.3,
  };
  const m = new FleetModel(opts);
  const lines: string[] = [];
  let messages = 0;
  const out = (x: unknown): void => {
    lines.push(JSON.stringify(x));
  };
  for (let t = T0; t <= T0 + 400_000; t += 350) {
    const k = t - T0;
    if (k === 35_000) out(m.plugIn('hub_02', { nowMs: t }));
    if (k === 70_000) m.faultNode('hub_01', 'node_02', { nowMs: t, errorCode: 77 });
    if (k === 84_000) m.setIgnoreLimit('hub_03', 'node_01', true, { nowMs: t });
    if (k === 91_000) m.setCapacity('hub_02', 300, { nowMs: t });
    if (k === 105_000) m.clearFault('hub_01', 'node_02', { nowMs: t });
    if (k === 119_000) m.setHubOffline('hub_03', 'offline', { nowMs: t });
    if (k === 140_000) m.setHubOffline('hub_01', 'silent', { nowMs: t });
    if (k === 150_150) m.setHubOnline('hub_03', { nowMs: t });
    if (k === 175_000) m.setHubOnline('hub_01', { nowMs: t });
    if (k % 7_000 === 0) {
      const hub = `hub_0${1 + ((k / 7_000) % 3)}`;
      const node = `node_0${1 + ((k / 7_000) % 3)}`;
      out(m.apply(...dlm(hub, node, ((k / 7_000) * 3.7) % 80, t), t));
    }
    if (k === 210_000)
      out(
        m.apply(
          'iot/hubs/hub_02/requests',
          { vehicle_id: 'guest-1', node_id: 'node_03', soc_percent: 35 },
          t,
        ),
      );
    if (k === 210_000) out(m.apply('iot/hubs/hub_02/dlm/events', '{"new_limit": 5}', t));
    const msgs = m.step(t);
    messages += msgs.length;
    for (const msg of msgs) out(msg);
    if (k % 35_000 === 0) out({ sum: m.hubs().map((h) => [m.sumOfLimits(h.id), m.peakSumOfLimits(h.id)]) });
  }
  out(pick(m.counters(), KEYS.counters));
  out(m.hubs().map((h) => pick(h, KEYS.hub)));
  out(m.hubs().map((h) => m.nodes(h.id).map((n) => pick(n, KEYS.node))));
  out(m.vehicles().map((v) => pick(v, KEYS.vehicle)));
  out(m.retainedTopics());
  return { lines, messages };
}

/** A quiet fleet driven by hand: plug-ins, full, dwell, departures, taper, a guest. */
function quietTrace(): Trace {
  const m = new FleetModel({
    seed: 3,
    hubs: [{ id: 'north', nodes: [{ maxPowerKw: 50 }, { id: 'p2', maxPowerKw: 120, name: 'Pad 2' }] }],
    vehicles: 4,
    arrivalsPerHour: 0,
    initialSoc: [20, 40],
    batteryKwh: [40, 75],
    targetSoc: [85, 95],
    dwellAfterFullMs: 30_000,
    vehicleTelemetryPeriodMs: 3_000,
  });
  const lines: string[] = [];
  let messages = 0;
  for (let t = T0; t <= T0 + 5_400_000; t += 5_000) {
    const k = t - T0;
    if (k === 10_000) lines.push(JSON.stringify(m.plugIn('north', { nowMs: t })));
    if (k === 20_000) lines.push(JSON.stringify(m.plugIn('north', { nodeId: 'p2', nowMs: t })));
    if (k === 30_000) lines.push(JSON.stringify(m.apply(...dlm('north', 'p2', 33.3, t), t)));
    if (k === 3_000_000) lines.push(JSON.stringify(m.plugIn('north', { nowMs: t })));
    const msgs = m.step(t);
    messages += msgs.length;
    for (const msg of msgs) lines.push(JSON.stringify(msg));
  }
  lines.push(
    JSON.stringify([
      pick(m.counters(), KEYS.counters),
      m.nodes('north').map((n) => pick(n, KEYS.node)),
      m.vehicles().map((v) => pick(v, KEYS.vehicle)),
    ]),
  );
  return { lines, messages };
}

/** The fields the recorded traces had (snapshots may gain fields without changing a trace). */
const KEYS = {
  counters: [
    'arrivals',
    'missedArrivals',
    'sessionsCompleted',
    'departures',
    'energyDeliveredKwh',
    'dlmApplied',
    'dlmIgnored',
    'requestsAccepted',
    'requestsIgnored',
    'rejected',
    'messages',
  ],
  hub: ['id', 'location', 'capacityKw', 'mode', 'nodeIds'],
  node: ['hubId', 'id', 'maxPowerKw', 'limitKw', 'state', 'vehicleId', 'errorCode', 'drawKw', 'ignoresLimit'],
  vehicle: [
    'id',
    'batteryKwh',
    'socPct',
    'targetSoc',
    'priority',
    'maxChargeKw',
    'latitude',
    'longitude',
    'speedKmh',
    'mode',
    'hubId',
    'nodeId',
    'energyChargedKwh',
    'guest',
  ],
} as const;

function pick(o: object, keys: readonly string[]): unknown[] {
  return keys.map((k) => (o as Record<string, unknown>)[k]);
}

function sha256(lines: string[]): string {
  return crypto.createHash('sha256').update(lines.join('\n')).digest('hex');
}

describe('sim: traces unchanged by refactoring', () => {
  const recorded: { name: string; trace: () => Trace; messages: number; sha256: string }[] = [
    {
      name: 'busy fleet, seed 5',
      trace: () => busyTrace(5),
      messages: 3008,
      sha256: 'aa97e7f342e3dba84d501e40da609166192564110e534039416f1d21506ae693',
    },
    {
      name: 'busy fleet, seed 77',
      trace: () => busyTrace(77),
      messages: 3046,
      sha256: 'cd6d7d995d9ec3e84bfddaa08c624b3ef9e471a3947354e79ddd57cbac6377eb',
    },
    {
      name: 'quiet fleet driven by hand',
      trace: quietTrace,
      messages: 6687,
      sha256: '21e3ecab3d3c504af204d1bd01f4fd04afb9828dd29b27d6ec8d05009f25c639',
    },
  ];
  for (const r of recorded) {
    it(`${r.name}: same messages, counters and snapshots as recorded`, () => {
      const t = r.trace();
      assert.equal(t.messages, r.messages, 'number of messages');
      assert.equal(sha256(t.lines), r.sha256, 'trace hash');
    });
  }
});
