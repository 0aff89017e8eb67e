// Simulated hubs as devices against a real broker (an embedded one per test process unless
// MQTT_URL is set): echo of the applied limit, connection drops with clean and persistent
// sessions, restarts, scheduled faults, and the limit observer fed from the broker.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { encodeDlmNotification } from '../../core/contract';
import {
  LimitObserver,
  followModel,
  startSimulator,
  watchLimits,
  type HubEvent,
  type LimitWatch,
  type RunningSimulator,
  type SimulatorOptions,
} from '../../sim';
import { mqttUrl } from '../helpers/services';
import { sleep, until } from '../helpers/wait';

interface Got {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

function event(hubId: string, nodeId: string, newLimit: number): [string, string] {
  return [
    `iot/hubs/${hubId}/dlm/events`,
    encodeDlmNotification({
      trigger_reason: 'REBALANCE',
      original_limit: 0,
      new_limit: newLimit,
      affected_node_id: nodeId,
      total_grid_load: 0,
      available_capacity: 0,
      ts: Date.now(),
    }),
  ];
}

describe('sim devices against a real broker', function () {
  this.timeout(30_000);
  let url: string;
  const sims: RunningSimulator[] = [];
  const clients: MqttClient[] = [];
  const watches: LimitWatch[] = [];

  before(async () => {
    url = await mqttUrl();
  });
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.stop({ clearRetained: true })));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await Promise.all(watches.splice(0).map((w) => w.close()));
  });

  const prefix = (): string => `sd${crypto.randomBytes(3).toString('hex')}_`;

  async function sim(opts: Omit<SimulatorOptions, 'url'>): Promise<RunningSimulator> {
    const s = await startSimulator({ url, log: () => {}, vehicles: 0, arrivalsPerHour: 0, ...opts });
    sims.push(s);
    return s;
  }

  /** A test client: what it receives, and a way to publish DLM events (QoS 1). */
  async function client(
    filters: string[],
  ): Promise<{ got: Got[]; send: (t: [string, string]) => Promise<void> }> {
    const c = connect(url, { clientId: `sdt-${crypto.randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
    clients.push(c);
    const got: Got[] = [];
    c.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }),
    );
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    if (filters.length) await c.subscribeAsync(filters, { qos: 1 });
    return {
      got,
      send: async ([topic, payload]) => {
        await c.publishAsync(topic, payload, { qos: 1 });
      },
    };
  }

  const limitsOf = (got: Got[], topic: string): number[] =>
    got
      .filter((g) => g.topic === topic && g.payload !== '')
      .map((g) => (JSON.parse(g.payload) as { power_limit_kw: number }).power_limit_kw);

  it('echoes the limit it applied, rounded its way, that many ms after the event', async () => {
    const p = prefix();
    const s = await sim({
      idPrefix: p,
      hubs: 1,
      nodesPerHub: 2,
      telemetryPeriodMs: 60_000, // no periodic telemetry during the test: what comes is the echo
      device: { echoDelayMs: 5, limitRounding: { decimals: 1, mode: 'up' } },
    });
    const hub = `${p}hub_01`;
    const { got, send } = await client([`iot/hubs/${hub}/nodes/+/telemetry`]);
    await send(event(hub, 'node_02', 7.51));
    await until(() => got.length > 0, 5000, 'the echo');
    await sleep(100);
    assert.deepEqual(limitsOf(got, `iot/hubs/${hub}/nodes/node_02/telemetry`), [7.6]);
    assert.equal(got.length, 1, 'only the pad that changed');
    assert.equal(s.model.node(hub, 'node_02').limitKw, 7.6);
    assert.equal(s.stats().fleet.echoes, 1);
  });

  it('connection drop, clean session: what is published to the hub meanwhile is lost; the others go on', async () => {
    const p = prefix();
    const s = await sim({ idPrefix: p, hubs: 2, nodesPerHub: 2, telemetryPeriodMs: 100, initialLimitKw: 50 });
    const [h1, h2] = [`${p}hub_01`, `${p}hub_02`];
    const { got, send } = await client([`iot/hubs/${h1}/#`]);
    await until(() => got.some((g) => g.topic.endsWith('/telemetry')), 5000, 'telemetry');
    const dropped = s.dropConnection(h1, 1500);
    await until(() => !s.linkUp(h1), 2000, 'the hub offline');
    assert.equal(s.linkUp(h2), true);
    await sleep(200); // the broker has seen the connection go
    const cutAt = Date.now();
    await send(event(h1, 'node_01', 5));
    await send(event(h2, 'node_01', 6));
    await until(() => s.model.node(h2, 'node_01').limitKw === 6, 5000, 'the other hub applies its event');
    await dropped;
    assert.equal(s.linkUp(h1), true);
    const backAt = Date.now();
    await send(event(h1, 'node_02', 7));
    await until(() => s.model.node(h1, 'node_02').limitKw === 7, 5000, 'an event after the reconnection');
    assert.equal(s.model.node(h1, 'node_01').limitKw, 50, 'the event sent while it was away is lost');
    // no telemetry while cut; a status `online` when back
    const during = got.filter(
      (g) => g.topic.endsWith('/telemetry') && g.at > cutAt + 100 && g.at < backAt - 100,
    );
    assert.deepEqual(during, []);
    const status = got.filter((g) => g.topic === `iot/hubs/${h1}/status` && g.at >= backAt - 50);
    assert.equal(status.length, 1);
    assert.equal((JSON.parse(status[0]!.payload) as { state: string }).state, 'online');
    assert.ok(s.stats().droppedWhileCut > 0);
  });

  it('connection drop, persistent session: the broker keeps the events and the hub applies them in order', async () => {
    const p = prefix();
    const s = await sim({
      idPrefix: p,
      hubs: 1,
      nodesPerHub: 2,
      initialLimitKw: 50,
      device: { session: 'persistent' },
    });
    const hub = `${p}hub_01`;
    const applied: number[] = [];
    s.model.onHubEvent((e: HubEvent) => {
      if (e.kind === 'limit') applied.push(e.requestedKw);
    });
    const { send } = await client([]);
    const dropped = s.dropConnection(hub, 1000);
    await until(() => !s.linkUp(hub), 2000, 'the hub offline');
    await sleep(200);
    for (const kw of [10, 20, 30]) await send(event(hub, 'node_01', kw));
    await send(event(hub, 'node_02', 15));
    assert.deepEqual(applied, [], 'nothing while away');
    await dropped;
    await until(() => applied.length === 4, 5000, 'the kept events', { detail: () => applied });
    assert.deepEqual(applied, [10, 20, 30, 15]);
    assert.deepEqual(
      s.model.nodes(hub).map((n) => n.limitKw),
      [30, 15],
    );
  });

  it('restart: silent while down, then boot limits and retained info and status again', async () => {
    const p = prefix();
    const s = await sim({ idPrefix: p, hubs: 1, nodesPerHub: 2, telemetryPeriodMs: 100, initialLimitKw: 20 });
    const hub = `${p}hub_01`;
    const { got, send } = await client([`iot/hubs/${hub}/#`]);
    await send(event(hub, 'node_01', 5));
    await until(
      () => limitsOf(got, `iot/hubs/${hub}/nodes/node_01/telemetry`).includes(5),
      5000,
      'the limit',
    );
    const restarting = s.restartHub(hub, { downMs: 600 });
    await until(() => !s.linkUp(hub), 2000, 'the hub down');
    const downAt = Date.now();
    await sleep(200);
    await send(event(hub, 'node_02', 1)); // lost: clean session
    await restarting;
    const backAt = Date.now();
    await until(
      () => limitsOf(got, `iot/hubs/${hub}/nodes/node_01/telemetry`).at(-1) === 20,
      5000,
      'the boot limit echoed',
    );
    assert.deepEqual(
      got.filter((g) => g.at > downAt + 100 && g.at < backAt - 100 && !g.topic.endsWith('/dlm/events')),
      [],
      'silent while down',
    );
    const after = got.filter(
      (g) => g.at >= backAt - 50 && !g.topic.endsWith('/telemetry') && g.payload !== '',
    );
    assert.deepEqual(
      after.map((g) => g.topic.slice(`iot/hubs/${hub}/`.length)),
      [
        'info',
        'status',
        'nodes/node_01/info',
        'nodes/node_01/status',
        'nodes/node_02/info',
        'nodes/node_02/status',
      ],
    );
    assert.deepEqual(
      s.model.nodes(hub).map((n) => n.limitKw),
      [20, 20],
    );
    assert.equal(s.model.counters().restarts, 1);
  });

  it('faults scheduled in the options happen by themselves; one shared client cannot drop a single hub', async () => {
    const p = prefix();
    const s = await sim({
      idPrefix: p,
      hubs: 2,
      nodesPerHub: 1,
      faults: [{ atMs: 200, hubId: `${p}hub_02`, kind: 'drop', forMs: 400 }],
    });
    await until(() => !s.linkUp(`${p}hub_02`), 3000, 'the scheduled drop');
    assert.equal(s.linkUp(`${p}hub_01`), true);
    await until(() => s.linkUp(`${p}hub_02`), 3000, 'back after it');
    const shared = await sim({ idPrefix: prefix(), hubs: 1, nodesPerHub: 1, connection: 'shared' });
    await assert.rejects(shared.dropConnection(shared.model.hubs()[0]!.id, 100), /connection: 'per-hub'/);
    await assert.rejects(s.dropConnection('nope', 100), /unknown hub/);
  });

  it('the observer catches an oversubscribing sequence; following the hub sees what it missed', async () => {
    const p = prefix();
    const s = await sim({ idPrefix: p, hubs: [{ capacityKw: 100, nodes: 3 }], initialLimitKw: 0 });
    const hub = `${p}hub_01`;
    const watch = await watchLimits({ url, hubIds: [hub] });
    watches.push(watch);
    const asHub = new LimitObserver();
    followModel(s.model, asHub);
    await until(() => watch.observer.capacityKw(hub) === 100, 5000, 'the retained info');
    const { send } = await client([]);
    // within capacity, break before make
    for (const [node, kw] of [
      ['node_01', 50],
      ['node_02', 50],
      ['node_01', 30],
      ['node_03', 20],
    ] as const)
      await send(event(hub, node, kw));
    await until(() => s.model.node(hub, 'node_03').limitKw === 20, 5000, 'applied');
    assert.deepEqual(watch.observer.violations(), []);
    assert.deepEqual(asHub.violations(), []);
    // make before break: 45 goes out before the decrease that makes room for it
    await send(event(hub, 'node_03', 45));
    await send(event(hub, 'node_02', 25));
    await until(() => s.model.node(hub, 'node_02').limitKw === 25, 5000, 'applied');
    await until(() => watch.observer.sumKw(hub) === 100, 5000, 'observed');
    for (const o of [watch.observer, asHub]) {
      assert.equal(o.violations().length, 1);
      assert.equal(o.violations()[0]?.sumKw, 125);
      assert.equal(o.maxOverCapacity(), 25);
    }
    watch.observer.reset();
    asHub.reset();
    // the hub misses a decrease (clean session, away): the broker's view is fine, the hub's is not
    const dropped = s.dropConnection(hub, 800);
    await until(() => !s.linkUp(hub), 2000, 'the hub offline');
    await sleep(200);
    await send(event(hub, 'node_03', 5));
    await dropped;
    await send(event(hub, 'node_01', 60));
    await until(() => s.model.node(hub, 'node_01').limitKw === 60, 5000, 'applied');
    await until(() => watch.observer.limitKw(hub, 'node_01') === 60, 5000, 'observed');
    assert.deepEqual(watch.observer.violations(), [], 'the broker observer saw 5 kW at node_03');
    assert.equal(asHub.violations().length, 1);
    assert.equal(asHub.violations()[0]?.sumKw, 130, 'the hub is still at 45 kW at node_03');
    assert.ok(watch.received() >= 8);
  });

  it('per-hub credentials: each hub publishes only under its own topics, the vehicles only their telemetry', async () => {
    // a broker of its own with per-client ACLs, as a deployment that locks hubs in would have
    const { Aedes } = await import('aedes');
    const denied: string[] = [];
    const users = new Map<string, string>();
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const ok =
          (username === 'fleet' && password?.toString() === 'fleet-pw') ||
          (username === 'watcher' && password?.toString() === 'w') ||
          (username?.startsWith('hub:') === true && password?.toString() === `pw-${username.slice(4)}`);
        if (ok) users.set(client.id, username!);
        done(null, ok);
      },
      authorizePublish: (client, packet, done) => {
        const user = client ? users.get(client.id) : undefined;
        const t = packet.topic;
        const ok =
          user === 'watcher' ||
          (user === 'fleet' && /^iot\/vehicles\/[^/]+\/telemetry$/.test(t)) ||
          (user?.startsWith('hub:') === true && t.startsWith(`iot/hubs/${user.slice(4)}/`));
        if (!ok) denied.push(`${user} → ${t}`);
        done(ok ? null : new Error('not authorized'));
      },
    });
    const server = net.createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const watcher = connect(brokerUrl, { username: 'watcher', password: 'w', reconnectPeriod: 0 });
      clients.push(watcher);
      const got: string[] = [];
      watcher.on('message', (topic) => got.push(topic));
      await new Promise<void>((resolve, reject) => {
        watcher.once('connect', () => resolve());
        watcher.once('error', reject);
      });
      await watcher.subscribeAsync('#', { qos: 1 });
      const s = await startSimulator({
        url: brokerUrl,
        username: 'fleet',
        password: 'fleet-pw',
        hubCredentials: (hubId) => ({ username: `hub:${hubId}`, password: `pw-${hubId}` }),
        hubs: 2,
        nodesPerHub: 1,
        vehicles: 2,
        arrivalsPerHour: 0,
        telemetryPeriodMs: 200,
        vehicleTelemetryPeriodMs: 200,
        log: () => {},
      });
      sims.push(s);
      assert.ok(s.model.plugIn('hub_02'));
      s.tick();
      await watcher.publishAsync(...event('hub_01', 'node_01', 9), { qos: 1 });
      await until(() => s.model.node('hub_01', 'node_01').limitKw === 9, 5000, 'the event applied');
      await until(
        () =>
          [
            'iot/hubs/hub_02/requests',
            'iot/hubs/hub_01/info',
            'iot/hubs/hub_02/nodes/node_01/telemetry',
          ].every((t) => got.includes(t)) && got.some((t) => t.startsWith('iot/vehicles/')),
        5000,
        'hub, request and vehicle messages',
      );
      assert.deepEqual(denied, []);
      assert.deepEqual([...new Set(users.values())].sort(), ['fleet', 'hub:hub_01', 'hub:hub_02', 'watcher']);
      await s.stop({ clearRetained: true });
      assert.deepEqual(denied, [], 'retained topics cleared by their own hubs');
    } finally {
      await Promise.all(sims.splice(0).map((x) => x.stop()));
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
