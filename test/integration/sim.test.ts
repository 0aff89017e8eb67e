// Fleet simulator: the pure model (determinism, contract-valid payloads, DLM limits obeyed,
// charging physics, state machine, faults, offline hubs) and the MQTT runner and CLI
// against a real broker.
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createHook } from 'node:async_hooks';
import { connect, type MqttClient } from 'mqtt';
import { decode, encodeDlmNotification, type InboundMessage } from '../../core/contract';
import {
  FleetModel,
  mulberry32,
  startSimulator,
  summaryLine,
  type FleetOptions,
  type SimMessage,
} from '../../sim';
import { parseCli } from '../../sim/cli';
import { mqttUrl } from '../helpers/services';

const T0 = Date.UTC(2026, 10, 26, 7, 0, 0);
/** The simulator's sources (the checkout itself may sit in a directory named `sim`). */
const SIM_DIR = path.join(__dirname, '..', '..', 'sim') + path.sep;

function dlm(hubId: string, nodeId: string, newLimit: number, ts = T0): [string, string] {
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

/** Steps the model from `from` to `to` (inclusive) every `every` ms; returns all messages. */
function run(m: FleetModel, from: number, to: number, every: number): SimMessage[] {
  const out: SimMessage[] = [];
  for (let t = from; t <= to; t += every) out.push(...m.step(t));
  return out;
}

function decoded(msgs: SimMessage[], nowMs = T0): InboundMessage[] {
  return msgs.map((m) => {
    const d = decode(m.topic, JSON.stringify(m.payload), nowMs);
    assert.ok(d.ok, `${m.topic} ${JSON.stringify(m.payload)}: ${d.ok ? '' : JSON.stringify(d.errors)}`);
    return d.msg;
  });
}

function telemetryOf(msgs: SimMessage[], hubId: string, nodeId: string) {
  return decoded(msgs.filter((m) => m.topic === `iot/hubs/${hubId}/nodes/${nodeId}/telemetry`)).map((d) => {
    assert.equal(d.kind, 'nodeTelemetry');
    return d.data as {
      power_kw: number;
      power_limit_kw: number;
      is_occupied: boolean;
      connected_vehicle_id: string | null;
      current_vehicle_soc: number | null;
    };
  });
}

function statusesOf(msgs: SimMessage[], hubId: string, nodeId: string) {
  return msgs
    .filter((m) => m.topic === `iot/hubs/${hubId}/nodes/${nodeId}/status`)
    .map((m) => m.payload as { state: string; current_vehicle_id: string | null; error_code: number });
}

/** A quiet fleet: no Poisson arrivals, so tests drive arrivals with plugIn. */
const QUIET: FleetOptions = {
  seed: 3,
  hubs: 1,
  nodesPerHub: 2,
  vehicles: 3,
  arrivalsPerHour: 0,
  initialSoc: [20, 40],
};

describe('sim: mulberry32', () => {
  it('is deterministic per seed and uniform-ish in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 2000 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 2000 }, () => b.next()),
    );
    assert.notDeepEqual(
      xs.slice(0, 10),
      Array.from({ length: 10 }, () => c.next()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.03, `mean ${mean}`);
  });
});

describe('sim: FleetModel', () => {
  it('same seed and steps → same messages; another seed → different ones', () => {
    const opts: FleetOptions = {
      hubs: 2,
      nodesPerHub: 3,
      vehicles: 8,
      speed: 60,
      arrivalsPerHour: 30,
      noiseKw: 2,
    };
    const a = run(new FleetModel({ ...opts, seed: 5 }), T0, T0 + 120_000, 250);
    const b = run(new FleetModel({ ...opts, seed: 5 }), T0, T0 + 120_000, 250);
    const c = run(new FleetModel({ ...opts, seed: 6 }), T0, T0 + 120_000, 250);
    assert.ok(
      a.some((m) => m.topic.endsWith('/requests')),
      'vehicles arrived',
    );
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('publishes the start sequence: hub info, status, then node info/status, retained', () => {
    const m = new FleetModel({ ...QUIET, hubs: 2, idPrefix: 'x_' });
    const out = m.step(T0);
    const hubMsgs = out.filter((o) => o.topic.startsWith('iot/hubs/x_hub_01/'));
    assert.deepEqual(
      hubMsgs.map((o) => o.topic),
      [
        'iot/hubs/x_hub_01/info',
        'iot/hubs/x_hub_01/status',
        'iot/hubs/x_hub_01/nodes/node_01/info',
        'iot/hubs/x_hub_01/nodes/node_01/status',
        'iot/hubs/x_hub_01/nodes/node_02/info',
        'iot/hubs/x_hub_01/nodes/node_02/status',
      ],
    );
    assert.ok(hubMsgs.every((o) => o.retain && o.qos === 1));
    const info = decoded(hubMsgs)[0];
    assert.ok(info?.kind === 'hubInfo');
    // default capacity: 60 % of 2 × 78 kW
    assert.equal(info.data.max_grid_capacity_kw, 94);
    assert.ok(out.some((o) => o.topic === 'iot/hubs/x_hub_02/info'));
    const vehicles = out.filter((o) => o.topic.startsWith('iot/vehicles/'));
    assert.equal(vehicles.length, 3);
    assert.ok(vehicles.every((o) => !o.retain && o.qos === 0));
    assert.deepEqual(m.retainedTopics().length, 2 * (2 + 2 * 2));
  });

  it('every payload of a busy run validates with decode, with the contract retain/QoS', () => {
    const m = new FleetModel({
      seed: 11,
      hubs: 3,
      nodesPerHub: 3,
      vehicles: 12,
      speed: 120,
      arrivalsPerHour: 40,
      noiseKw: 5,
      nodeMaxPowerKw: [22, 150, 350],
    });
    const out: SimMessage[] = [];
    for (let t = T0; t <= T0 + 300_000; t += 500) {
      if (t === T0 + 60_000) m.faultNode('hub_01', 'node_02', { nowMs: t });
      if (t === T0 + 90_000) m.setCapacity('hub_02', 300, { nowMs: t });
      if (t === T0 + 120_000) m.setHubOffline('hub_03', 'offline', { nowMs: t });
      if (t === T0 + 150_000) m.setHubOnline('hub_03', { nowMs: t });
      if (t === T0 + 200_000) m.apply(...dlm('hub_01', 'node_03', 3.3), t);
      out.push(...m.step(t));
    }
    const msgs = decoded(out);
    const kinds = new Set(msgs.map((d) => d.kind));
    for (const k of [
      'hubInfo',
      'hubStatus',
      'nodeInfo',
      'nodeStatus',
      'nodeTelemetry',
      'vehicleTelemetry',
      'vehicleRequest',
    ]) {
      assert.ok(kinds.has(k as InboundMessage['kind']), `saw ${k}`);
    }
    msgs.forEach((d, i) => {
      const o = out[i] as SimMessage;
      const retained =
        d.kind === 'hubInfo' || d.kind === 'hubStatus' || d.kind === 'nodeInfo' || d.kind === 'nodeStatus';
      assert.equal(o.retain, retained, o.topic);
      if (retained || d.kind === 'vehicleRequest') assert.equal(o.qos, 1, o.topic);
      else assert.equal(o.qos, 0, o.topic);
    });
    assert.ok(m.counters().sessionsCompleted > 0);
  });

  it('sends node telemetry every telemetryPeriodMs per node, "n/a" and SoC 0 when no vehicle', () => {
    const m = new FleetModel({ ...QUIET, telemetryPeriodMs: 2000 });
    const out = run(m, T0, T0 + 10_000, 500);
    const raw = out.filter((o) => o.topic === 'iot/hubs/hub_01/nodes/node_01/telemetry');
    assert.deepEqual(
      raw.map((o) => (o.payload as { timestamp: string }).timestamp),
      [2, 4, 6, 8, 10].map((s) => `2026-11-26T07:00:${String(s).padStart(2, '0')}.000000Z`),
    );
    const p = raw[0]?.payload as Record<string, unknown>;
    assert.equal(p.connected_vehicle_id, 'n/a');
    assert.equal(p.current_vehicle_soc, 0);
    assert.equal(p.is_occupied, false);
    assert.equal(p.power_kw, 0);
    assert.equal(p.power_limit_kw, 78, 'initial limit = max power');
    assert.equal(telemetryOf(out, 'hub_01', 'node_02').length, 5);
  });

  it('a DLM event sets the limit in force: echoed in power_limit_kw and followed by the drawn power', () => {
    const m = new FleetModel({ ...QUIET, initialLimitKw: 40 });
    m.step(T0);
    const plugged = m.plugIn('hub_01', { nodeId: 'node_01', nowMs: T0 + 100 });
    assert.ok(plugged);
    let out = run(m, T0 + 500, T0 + 2000, 500);
    let tel = telemetryOf(out, 'hub_01', 'node_01');
    assert.equal(tel.at(-1)?.power_limit_kw, 40);
    assert.equal(tel.at(-1)?.power_kw, 40);
    assert.equal(tel.at(-1)?.connected_vehicle_id, plugged.vehicleId);
    assert.equal(m.sumOfLimits('hub_01'), 80);

    const r = m.apply(...dlm('hub_01', 'node_01', 12.5), T0 + 2100);
    assert.deepEqual(r, {
      status: 'applied',
      kind: 'dlmEvent',
      hubId: 'hub_01',
      nodeId: 'node_01',
      previousKw: 40,
      limitKw: 12.5,
    });
    assert.equal(m.node('hub_01', 'node_01').drawKw, 12.5);
    out = run(m, T0 + 2500, T0 + 4000, 500);
    tel = telemetryOf(out, 'hub_01', 'node_01');
    assert.equal(tel.length, 1);
    assert.equal(tel[0]?.power_limit_kw, 12.5);
    assert.equal(tel[0]?.power_kw, 12.5);
    assert.equal(m.sumOfLimits('hub_01'), 52.5);

    // an idle node takes its limit too; an increase raises the peak of the sum
    m.apply(...dlm('hub_01', 'node_02', 60), T0 + 4100);
    assert.equal(m.sumOfLimits('hub_01'), 72.5);
    assert.equal(m.peakSumOfLimits('hub_01'), 80);
    m.apply(...dlm('hub_01', 'node_01', 30), T0 + 4200);
    assert.equal(m.peakSumOfLimits('hub_01'), 90);
    m.apply(...dlm('hub_01', 'node_01', 0), T0 + 4300);
    m.resetPeaks();
    assert.equal(m.peakSumOfLimits('hub_01'), 60);
    assert.equal(m.node('hub_01', 'node_01').drawKw, 0, 'limit 0: nothing drawn');
    assert.equal(m.counters().dlmApplied, 4);
  });

  it('ignores DLM events for unknown hubs/nodes and rejects invalid ones', () => {
    const m = new FleetModel(QUIET);
    assert.equal(m.apply(...dlm('hub_01', 'node_01', 5), T0).status, 'ignored', 'not started yet');
    m.step(T0);
    assert.equal(m.apply(...dlm('hub_99', 'node_01', 5), T0).status, 'ignored');
    assert.equal(m.apply(...dlm('hub_01', 'node_99', 5), T0).status, 'ignored');
    const bad = m.apply('iot/hubs/hub_01/dlm/events', '{"new_limit": 5}', T0);
    assert.equal(bad.status, 'rejected');
    assert.equal(m.apply('iot/hubs/hub_01/dlm/events', '{not json', T0).status, 'rejected');
    assert.equal(m.apply('iot/hubs/hub_01/info', '{}', T0).status, 'rejected');
    assert.equal(m.sumOfLimits('hub_01'), 156);
    assert.deepEqual([m.counters().dlmIgnored, m.counters().rejected, m.counters().dlmApplied], [3, 3, 0]);
  });

  it('SoC rises by energy / battery capacity (× speed)', () => {
    const m = new FleetModel({
      ...QUIET,
      speed: 10,
      initialLimitKw: 30,
      batteryKwh: [60],
      targetSoc: [90, 90],
    });
    m.step(T0);
    const p = m.plugIn('hub_01', { nodeId: 'node_01' });
    assert.ok(p);
    const before = m.vehicle(p.vehicleId);
    assert.equal(before.mode, 'charging');
    // 6 wall minutes × speed 10 = 1 simulated hour at 30 kW = 30 kWh = 50 % of 60 kWh
    const soc0 = before.socPct;
    assert.ok(soc0 < 40);
    m.step(T0 + 360_000);
    const after = m.vehicle(p.vehicleId);
    assert.ok(
      Math.abs(after.energyChargedKwh - before.energyChargedKwh - 30) < 1e-9,
      `${after.energyChargedKwh}`,
    );
    assert.ok(Math.abs(after.socPct - soc0 - 50) < 1e-9, `${soc0} → ${after.socPct}`);
    assert.equal(m.hubLoadKw('hub_01'), 30);
  });

  it('tapers above 80 % SoC: the drawn power is below the limit', () => {
    const m = new FleetModel({ ...QUIET, batteryKwh: [40], targetSoc: [95, 95], initialSoc: [30, 30] });
    m.step(T0);
    const p = m.plugIn('hub_01', { nodeId: 'node_01' });
    assert.ok(p);
    assert.equal(m.node('hub_01', 'node_01').drawKw, 78); // the vehicle accepts 80 kW
    while (m.vehicle(p.vehicleId).socPct < 90) m.step((m.nowMs ?? T0) + 10_000);
    const n = m.node('hub_01', 'node_01');
    assert.ok(n.drawKw < 45 && n.drawKw > 0, `draw ${n.drawKw}`);
  });

  it('full at the target SoC, idle when the vehicle leaves after the dwell time', () => {
    const m = new FleetModel({
      ...QUIET,
      batteryKwh: [50],
      targetSoc: [80, 80],
      initialSoc: [30, 30],
      dwellAfterFullMs: 30_000,
      initialLimitKw: 50,
    });
    m.step(T0);
    const p = m.plugIn('hub_01', { nodeId: 'node_02', nowMs: T0 + 1000 });
    assert.ok(p);
    const soc0 = m.vehicle(p.vehicleId).socPct; // a little below 30 %: it drove for a second
    assert.ok(soc0 < 30 && soc0 > 29.9);
    // (80 − soc0) % of 50 kWh at 50 kW: full after about 30 min
    const fullAt = T0 + 1000 + (((80 - soc0) / 100) * 50 * 3_600_000) / 50;
    const out = [...m.step(T0 + 1000), ...run(m, T0 + 10_000, T0 + 3_600_000, 10_000)];
    const statuses = statusesOf(out, 'hub_01', 'node_02');
    assert.deepEqual(
      statuses.map((s) => [s.state, s.current_vehicle_id]),
      [
        ['charging', p.vehicleId],
        ['full', p.vehicleId],
        ['idle', null],
      ],
    );
    const full = out.find(
      (o) => o.topic.endsWith('node_02/status') && (o.payload as { state: string }).state === 'full',
    );
    const fullTs = Date.parse((full?.payload as { timestamp: string }).timestamp);
    assert.ok(Math.abs(fullTs - fullAt) <= 1, `${fullTs - fullAt}`);
    const idle = out.find(
      (o) => o.topic.endsWith('node_02/status') && (o.payload as { state: string }).state === 'idle',
    );
    const idleTs = Date.parse((idle?.payload as { timestamp: string }).timestamp);
    assert.ok(Math.abs(idleTs - (fullAt + 30_000)) <= 1, `${idleTs - fullAt}`);
    const req = out.find((o) => o.topic === 'iot/hubs/hub_01/requests');
    assert.deepEqual(req && { ...req, payload: { ...req.payload, timestamp: '' } }, {
      topic: 'iot/hubs/hub_01/requests',
      payload: { vehicle_id: p.vehicleId, node_id: 'node_02', soc_percent: Math.floor(soc0), timestamp: '' },
      retain: false,
      qos: 1,
    });
    const v = m.vehicle(p.vehicleId);
    assert.equal(v.mode, 'driving');
    assert.ok(v.socPct < 80, 'drives and consumes after leaving');
    assert.ok(Math.abs(v.energyChargedKwh - ((80 - soc0) / 100) * 50) < 1e-9);
    // telemetry while full: occupied, nothing drawn; later idle
    const tel = telemetryOf(out, 'hub_01', 'node_02');
    assert.ok(tel.some((x) => x.is_occupied && x.power_kw === 0 && x.current_vehicle_soc === 80));
    assert.equal(tel.at(-1)?.connected_vehicle_id, null);
    const c = m.counters();
    assert.deepEqual([c.arrivals, c.sessionsCompleted, c.departures], [1, 1, 1]);
  });

  it('vehicle telemetry: integer battery level, is_charging while charging', () => {
    const m = new FleetModel({ ...QUIET, vehicleTelemetryPeriodMs: 1000 });
    m.step(T0);
    const p = m.plugIn('hub_01');
    assert.ok(p);
    const out = run(m, T0 + 1000, T0 + 3000, 1000);
    const mine = decoded(out.filter((o) => o.topic === `iot/vehicles/${p.vehicleId}/telemetry`));
    assert.ok(mine.length >= 3);
    for (const d of mine) {
      assert.ok(d.kind === 'vehicleTelemetry');
      assert.ok(Number.isInteger(d.data.battery_level));
      assert.equal(d.data.is_charging, true);
      assert.equal(d.data.speed_kmh, 0);
      assert.equal(d.data.geo_location.latitude, m.hub('hub_01').location.latitude);
    }
    const other = decoded(
      out.filter((o) => o.topic.startsWith('iot/vehicles/') && !o.topic.includes(p.vehicleId)),
    );
    assert.ok(other.every((d) => d.kind === 'vehicleTelemetry' && !d.data.is_charging));
  });

  it('fault: status faulted with the error code, the vehicle leaves, nothing drawn; clearFault → idle', () => {
    const m = new FleetModel(QUIET);
    m.step(T0);
    const p = m.plugIn('hub_01', { nodeId: 'node_01' });
    assert.ok(p);
    m.faultNode('hub_01', 'node_01', { errorCode: 42, nowMs: T0 + 500 });
    let out = run(m, T0 + 1000, T0 + 4000, 1000);
    assert.deepEqual(
      statusesOf(out, 'hub_01', 'node_01').map((x) => [x.state, x.current_vehicle_id, x.error_code]),
      [
        ['charging', p.vehicleId, 0],
        ['faulted', null, 42],
      ],
    );
    const tel = telemetryOf(out, 'hub_01', 'node_01');
    assert.ok(tel.length > 0 && tel.every((x) => x.power_kw === 0 && !x.is_occupied));
    assert.equal(m.vehicle(p.vehicleId).mode, 'driving');
    assert.equal(m.plugIn('hub_01', { nodeId: 'node_01' }), null, 'a faulted node takes no vehicle');
    m.clearFault('hub_01', 'node_01');
    out = m.step(T0 + 5000);
    assert.deepEqual(
      statusesOf(out, 'hub_01', 'node_01').map((s) => [s.state, s.error_code]),
      [['idle', 0]],
    );
    assert.throws(() => m.faultNode('hub_01', 'nope'), /unknown node/);
  });

  it('capacity change republishes hub info (retained)', () => {
    const m = new FleetModel(QUIET);
    m.step(T0);
    m.setCapacity('hub_01', 55.5);
    const out = m.step(T0 + 100);
    const info = out.filter((o) => o.topic === 'iot/hubs/hub_01/info');
    assert.equal(info.length, 1);
    assert.equal(info[0]?.retain, true);
    assert.equal((info[0]?.payload as { max_grid_capacity_kw: number }).max_grid_capacity_kw, 55.5);
    assert.throws(() => m.setCapacity('hub_01', 1001), RangeError);
  });

  it('offline hub: status offline then silence, deaf to DLM; back online: start sequence again', () => {
    const m = new FleetModel({ ...QUIET, hubs: 2 });
    m.step(T0);
    m.setHubOffline('hub_01', 'offline', { nowMs: T0 + 100 });
    let out = run(m, T0 + 100, T0 + 40_000, 1000);
    const h1 = out.filter((o) => o.topic.startsWith('iot/hubs/hub_01/'));
    assert.equal(h1.length, 1);
    assert.equal(h1[0]?.topic, 'iot/hubs/hub_01/status');
    assert.equal((h1[0]?.payload as { state: string }).state, 'offline');
    assert.ok(
      out.some((o) => o.topic.startsWith('iot/hubs/hub_02/nodes/')),
      'the other hub goes on',
    );
    assert.equal(m.apply(...dlm('hub_01', 'node_01', 1), T0 + 41_000).status, 'ignored');
    assert.equal(m.plugIn('hub_01'), null);

    m.setHubOnline('hub_01');
    out = m.step(T0 + 42_000);
    assert.deepEqual(
      out
        .filter((o) => o.topic.startsWith('iot/hubs/hub_01/') && !o.topic.endsWith('/telemetry'))
        .map((o) => o.topic.slice('iot/hubs/hub_01/'.length)),
      [
        'info',
        'status',
        'nodes/node_01/info',
        'nodes/node_01/status',
        'nodes/node_02/info',
        'nodes/node_02/status',
      ],
    );
    assert.equal(m.apply(...dlm('hub_01', 'node_01', 1), T0 + 43_000).status, 'applied');

    m.setHubOffline('hub_02', 'silent');
    out = run(m, T0 + 44_000, T0 + 60_000, 1000);
    assert.equal(
      out.filter((o) => o.topic.startsWith('iot/hubs/hub_02/')).length,
      0,
      'silent: not even offline',
    );
    assert.equal(m.hub('hub_02').mode, 'silent');
  });

  it('obeys a VehicleRequest from others; ignores its own echo and busy nodes', () => {
    const m = new FleetModel(QUIET);
    m.step(T0);
    const guest = m.apply(
      'iot/hubs/hub_01/requests',
      { vehicle_id: 'guest-1', node_id: 'node_02', soc_percent: 35 },
      T0 + 10,
    );
    assert.equal(guest.status, 'applied');
    const out = m.step(T0 + 20);
    assert.deepEqual(
      statusesOf(out, 'hub_01', 'node_02').map((s) => [s.state, s.current_vehicle_id]),
      [['charging', 'guest-1']],
    );
    assert.equal(out.filter((o) => o.topic.endsWith('/requests')).length, 0, 'no second request on the wire');
    assert.equal(m.vehicle('guest-1').guest, true);
    assert.equal(m.node('hub_01', 'node_02').drawKw, 78);
    // echo / duplicate delivery (QoS 1) of the same request
    assert.equal(
      m.apply(
        'iot/hubs/hub_01/requests',
        { vehicle_id: 'guest-1', node_id: 'node_02', soc_percent: 35 },
        T0 + 30,
      ).status,
      'ignored',
    );
    assert.equal(
      m.apply(
        'iot/hubs/hub_01/requests',
        { vehicle_id: 'guest-2', node_id: 'node_02', soc_percent: 35 },
        T0 + 30,
      ).status,
      'ignored',
      'node busy',
    );
    // the model's own request, received back from the broker
    const p = m.plugIn('hub_01');
    assert.ok(p);
    const own = m.step(T0 + 40).find((o) => o.topic.endsWith('/requests'));
    assert.ok(own);
    assert.equal(m.apply(own.topic, JSON.stringify(own.payload), T0 + 50).status, 'ignored');
    assert.equal(m.counters().arrivals, 2);
  });

  it('Poisson arrivals: each publishes a request and its node goes charging with that vehicle', () => {
    const m = new FleetModel({
      seed: 9,
      hubs: 2,
      nodesPerHub: 4,
      vehicles: 30,
      arrivalsPerHour: 60,
      speed: 10,
    });
    const out = run(m, T0, T0 + 600_000, 1000); // 100 simulated minutes
    const requests = out.filter((o) => o.topic.endsWith('/requests'));
    assert.equal(requests.length, m.counters().arrivals);
    assert.ok(requests.length >= 20, `arrivals ${requests.length}`);
    for (const r of requests) {
      const i = out.indexOf(r);
      const req = r.payload as { vehicle_id: string; node_id: string };
      const next = out[i + 1];
      assert.equal(next?.topic, r.topic.replace('/requests', `/nodes/${req.node_id}/status`));
      assert.deepEqual(
        [
          (next?.payload as { state: string }).state,
          (next?.payload as { current_vehicle_id: string }).current_vehicle_id,
        ],
        ['charging', req.vehicle_id],
      );
    }
  });

  it('noise: reported power jitters around (and above) the limit, within the contract range', () => {
    const m = new FleetModel({
      ...QUIET,
      noiseKw: 4,
      initialLimitKw: 20,
      batteryKwh: [100],
      targetSoc: [90, 90],
    });
    m.step(T0);
    assert.ok(m.plugIn('hub_01', { nodeId: 'node_01' }));
    const tel = telemetryOf(run(m, T0 + 2000, T0 + 200_000, 2000), 'hub_01', 'node_01');
    assert.ok(tel.some((x) => x.power_kw > x.power_limit_kw));
    assert.ok(tel.every((x) => x.power_kw >= 16 && x.power_kw <= 24));
    assert.ok(tel.every((x) => x.power_limit_kw === 20));
    assert.equal(m.node('hub_01', 'node_01').drawKw, 20, 'the draw itself follows the limit');
  });

  it('a node that ignores its limit draws its max power', () => {
    const m = new FleetModel({ ...QUIET, initialLimitKw: 10 });
    m.step(T0);
    assert.ok(m.plugIn('hub_01', { nodeId: 'node_01' }));
    m.setIgnoreLimit('hub_01', 'node_01', true);
    const tel = telemetryOf(m.step(T0 + 2000), 'hub_01', 'node_01');
    assert.deepEqual([tel[0]?.power_kw, tel[0]?.power_limit_kw], [78, 10]);
    assert.equal(m.hubLoadKw('hub_01'), 78);
  });

  it('rejects bad options', () => {
    assert.throws(() => new FleetModel({ hubs: 0 }), RangeError);
    assert.throws(() => new FleetModel({ nodeMaxPowerKw: 400 }), RangeError);
    assert.throws(() => new FleetModel({ speed: 0 }), RangeError);
    assert.throws(() => new FleetModel({ idPrefix: 'a/b' }), /must not contain/);
    assert.throws(() => new FleetModel({ hubs: [{ id: 'h' }, { id: 'h' }] }), /duplicate hub/);
    assert.throws(() => new FleetModel({}).plugIn('hub_01'), /not started/);
  });
});

describe('sim: cli arguments', () => {
  it('parses options, defaults and --help; refuses bad numbers and unknown flags', () => {
    assert.equal(parseCli(['--help']), 'help');
    const c = parseCli(
      [
        '--url',
        'mqtt://h:1',
        '--hubs',
        '2',
        '--nodes',
        '5',
        '--seed',
        '7',
        '--duration',
        '3',
        '--clear-on-exit',
      ],
      {
        MQTT_USERNAME: 'u',
      },
    );
    assert.ok(c !== 'help');
    assert.equal(c.sim.url, 'mqtt://h:1');
    assert.deepEqual([c.sim.hubs, c.sim.nodesPerHub, c.sim.vehicles, c.sim.seed], [2, 5, 20, 7]);
    assert.equal(c.sim.username, 'u');
    assert.equal(c.durationS, 3);
    assert.deepEqual(c.stop, { offline: false, clearRetained: true });
    const d = parseCli([], { MQTT_URL: 'mqtt://env:2' });
    assert.ok(d !== 'help');
    assert.equal(d.sim.url, 'mqtt://env:2');
    assert.throws(() => parseCli(['--hubs', 'x']), /--hubs/);
    assert.throws(() => parseCli(['--bogus']));
  });
});

describe('sim: cli device and demo flags', () => {
  it('parses device behaviours, connection, scheduled faults and --demo; refuses what does not fit', () => {
    const c = parseCli(
      [
        '--echo-delay',
        '5',
        '--limit-decimals',
        '3',
        '--limit-rounding',
        'down',
        '--draw-fraction',
        '0.97',
        '--ignore-events',
        '--session',
        'persistent',
        '--client-id',
        'site-a',
        '--drop',
        'hub_01:30:2',
        '--drop',
        'hub_02:40:1.5',
        '--restart',
        'hub_03:60',
      ],
      {},
    );
    assert.ok(c !== 'help');
    assert.deepEqual(c.sim.device, {
      echoDelayMs: 5,
      limitRounding: { decimals: 3, mode: 'down' },
      drawFraction: 0.97,
      ignoreEvents: true,
      session: 'persistent',
    });
    assert.equal(c.sim.clientId, 'site-a');
    assert.equal(c.sim.connection, undefined, 'per hub by default');
    assert.deepEqual(c.sim.faults, [
      { kind: 'drop', hubId: 'hub_01', atMs: 30_000, forMs: 2000 },
      { kind: 'drop', hubId: 'hub_02', atMs: 40_000, forMs: 1500 },
      { kind: 'restart', hubId: 'hub_03', atMs: 60_000, downMs: 0 },
    ]);
    const d = parseCli(['--demo', '--seed', '4', '--prefix', 'x_', '--connection', 'shared'], {});
    assert.ok(d !== 'help');
    assert.deepEqual([d.sim.seed, d.sim.idPrefix, d.sim.connection, d.sim.hubs], [4, 'x_', 'shared', 3]);
    assert.ok(d.sim.script?.some((st) => st.action === 'plugIn' && st.vehicleId === 'x_ambulance_01'));
    assert.throws(() => parseCli(['--demo', '--hubs', '2'], {}), /--hubs cannot be used with --demo/);
    assert.throws(() => parseCli(['--limit-rounding', 'up'], {}), /needs --limit-decimals/);
    assert.throws(() => parseCli(['--session', 'sticky'], {}), /--session: one of clean, persistent/);
    assert.throws(() => parseCli(['--drop', 'hub_01:30'], {}), /--drop: expected <hub>:<at s>:<for s>/);
    assert.throws(() => parseCli(['--restart', 'hub_01:x'], {}), /--restart: not a number/);
  });
});

describe('sim: runner against a real broker', function () {
  this.timeout(30000);
  let url: string;
  let observer: MqttClient | undefined;

  before(async () => {
    url = await mqttUrl();
  });
  afterEach(async () => {
    await observer?.endAsync(true);
    observer = undefined;
  });

  async function observe(
    filters: string[],
  ): Promise<{ client: MqttClient; got: { topic: string; payload: string; retain: boolean }[] }> {
    const client = connect(url, {
      clientId: `sim-test-${crypto.randomBytes(4).toString('hex')}`,
      reconnectPeriod: 0,
    });
    observer = client;
    const got: { topic: string; payload: string; retain: boolean }[] = [];
    client.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filters, { qos: 1 });
    return { client, got };
  }

  async function until<T>(what: string, f: () => T | undefined, ms = 10000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('publishes retained info and telemetry, echoes a DLM limit, clears its retained topics, stops cleanly', async () => {
    const prefix = `simt${crypto.randomBytes(3).toString('hex')}_`;
    // timers created from here on, by the simulator or its MQTT client, must all be gone after stop()
    const liveTimers = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        if (type !== 'Timeout') return;
        const stack = new Error().stack ?? '';
        if (stack.includes(SIM_DIR) || /node_modules[/\\]mqtt[/\\]/.test(stack)) liveTimers.set(id, stack);
      },
      destroy(id) {
        liveTimers.delete(id);
      },
    }).enable();
    const sim = await startSimulator({
      url,
      idPrefix: prefix,
      hubs: 2,
      nodesPerHub: 2,
      vehicles: 4,
      seed: 1,
      telemetryPeriodMs: 200,
      arrivalsPerHour: 0,
      initialLimitKw: 50,
      log: () => {},
    });
    try {
      // subscribed after the start: info arrives as retained messages
      const { client, got } = await observe([`iot/hubs/${prefix}hub_01/#`, `iot/hubs/${prefix}hub_02/info`]);
      const infos = await until('retained infos', () => {
        const i = got.filter((g) => g.topic.endsWith(`hub_01/info`) || g.topic.endsWith(`hub_02/info`));
        return i.length >= 2 ? i : undefined;
      });
      assert.ok(infos.every((g) => g.retain));
      for (const g of infos) assert.ok(decode(g.topic, g.payload, Date.now()).ok);
      const nodeInfo = await until('retained node info', () =>
        got.find((g) => g.topic.endsWith('/nodes/node_02/info')),
      );
      assert.equal(nodeInfo.retain, true);
      const telemetryTopic = `iot/hubs/${prefix}hub_01/nodes/node_01/telemetry`;
      const t1 = await until('telemetry', () => got.find((g) => g.topic === telemetryTopic));
      const d1 = decode(t1.topic, t1.payload, Date.now());
      assert.ok(d1.ok && d1.msg.kind === 'nodeTelemetry');
      assert.equal(d1.msg.data.power_limit_kw, 50);

      // a vehicle arrives and charges at the limit in force; then the DLM cuts it
      const p = sim.model.plugIn(`${prefix}hub_01`, { nodeId: 'node_01' });
      assert.ok(p);
      sim.tick();
      await until('request', () => got.find((g) => g.topic.endsWith('/requests')));
      const [topic, payload] = dlm(`${prefix}hub_01`, 'node_01', 7.5, Date.now());
      await client.publishAsync(topic, payload, { qos: 1 });
      const echoed = await until('echoed limit', () =>
        got.find((g) => {
          if (g.topic !== telemetryTopic) return false;
          const d = decode(g.topic, g.payload, Date.now());
          return d.ok && d.msg.kind === 'nodeTelemetry' && d.msg.data.power_limit_kw === 7.5 ? g : undefined;
        }),
      );
      const e = JSON.parse(echoed.payload) as { power_kw: number; connected_vehicle_id: string };
      assert.equal(e.power_kw, 7.5);
      assert.equal(e.connected_vehicle_id, p.vehicleId);
      assert.equal(sim.model.sumOfLimits(`${prefix}hub_01`), 57.5);
      const s = sim.stats();
      assert.equal(s.connected, true);
      assert.ok(s.applied >= 1 && s.received >= 2, JSON.stringify(s)); // the DLM event and our own request echo
      assert.ok(s.published > 10);
      assert.match(summaryLine(s), /hubs 2\/2 online/);
    } finally {
      await sim.stop({ clearRetained: true });
    }
    assert.equal(sim.stats().connected, false);
    await observer?.endAsync(true);
    observer = undefined;
    await new Promise((r) => setTimeout(r, 50));
    hook.disable();
    assert.deepEqual([...liveTimers.values()], [], 'timers left by the simulator');

    // nothing retained is left behind for other users of the broker
    const { got } = await observe([`iot/hubs/${prefix}hub_01/#`, `iot/hubs/${prefix}hub_02/#`]);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got, []);
  });

  it('stop({ offline }) announces every hub offline before leaving', async () => {
    const prefix = `simo${crypto.randomBytes(3).toString('hex')}_`;
    const { got } = await observe([`iot/hubs/${prefix}hub_01/status`, `iot/hubs/${prefix}hub_02/status`]);
    const sim = await startSimulator({
      url,
      idPrefix: prefix,
      hubs: 2,
      nodesPerHub: 1,
      vehicles: 0,
      log: () => {},
    });
    await until('online', () => (got.length >= 2 ? true : undefined));
    await sim.stop({ offline: true, clearRetained: true });
    const states = await until('offline and cleared', () => (got.length >= 6 ? got : undefined));
    for (const hub of ['hub_01', 'hub_02']) {
      const mine = states.filter((g) => g.topic === `iot/hubs/${prefix}${hub}/status`);
      assert.deepEqual(
        mine.map((g) => (g.payload === '' ? '' : (JSON.parse(g.payload) as { state: string }).state)),
        ['online', 'offline', ''],
      );
    }
    await sim.stop(); // idempotent
  });

  it('rejects when the broker cannot be reached', async () => {
    await assert.rejects(
      startSimulator({ url: 'mqtt://127.0.0.1:1', connectTimeoutMs: 2000, log: () => {} }),
      /ECONNREFUSED|no MQTT connection/,
    );
  });

  it('the CLI runs for --duration, prints a summary and the process exits by itself', async () => {
    const prefix = `simc${crypto.randomBytes(3).toString('hex')}_`;
    const { got } = await observe([`iot/hubs/${prefix}hub_01/info`]);
    const cli = path.join(__dirname, '..', '..', 'sim', 'cli.ts');
    const child = spawn(
      process.execPath,
      [
        '--require',
        'tsx/cjs',
        cli,
        '--url',
        url,
        '--hubs',
        '1',
        '--nodes',
        '2',
        '--vehicles',
        '2',
        '--prefix',
        prefix,
        '--duration',
        '1.5',
        '--clear-on-exit',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.join(__dirname, '..', '..') },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the CLI did not exit by itself\n${stdout}\n${stderr}`));
      }, 20000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /1 hubs × 2 nodes, 2 vehicles/);
    assert.match(stdout, /\[sim\] \d+s .*sent \d+/);
    assert.ok(
      got.some((g) => g.topic === `iot/hubs/${prefix}hub_01/info` && g.payload.length > 0),
      'info published',
    );
    await until('retained info cleared', () => got.find((g) => g.payload === ''));
  });
});
