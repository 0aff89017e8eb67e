// A fleet under faults, for the fault tests (test/e2e/faults.test.ts): a Mosquitto of the test's
// own (persistent: sessions and queued QoS 1 messages survive a stop and start), a TCP proxy in
// front of a fresh PostgreSQL database, the real launcher (a child process) with MQTT_URL on
// that Mosquitto and DATABASE_URL through the proxy, a simulated fleet of hubs, and:
// - the drivers' app: an MQTT client that asks for a free pad about once a second (a
//   VehicleRequest, QoS 1) and records the broker's PUBACK;
// - the hubs connect a vehicle to its pad when the hub has received a limit above 0 for it (the
//   pad charges only once the DLM gave it power): a request the orchestrator lost leaves its pad
//   idle and unanswered, whatever the hub says afterwards;
// - two observers of the limits applied event by event: `asHub` is exactly what the simulated
//   hubs applied (clean sessions: they miss what is sent while they are away), `watch` is
//   everything the broker delivered to a persistent subscriber, in order (with the raw events,
//   to compare with dlm_events).
// The hubs reach the broker through a TCP proxy of their own (`hubProxy`), so a test can decide
// when they come back; the app, the watcher and the drivers' app connect to it directly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Client } from 'pg';
import { buildTopic, formatTimestamp } from '../../core/contract';
import { startSimulator, type RunningSimulator } from '../../sim/runner';
import { LimitObserver, followModel } from '../../sim/observer';
import { EventWatch, type SeenEvent } from './fault-watch';
import { startPersistentMosquitto, type MosquittoServer } from './mosquitto';
import { makeUserDir, startRuntime, type RuntimeHandle } from './runtime';
import { createTestDatabase } from './services';
import { TcpProxy } from './tcp-proxy';
import { until } from './wait';

export interface FaultFleetOptions {
  /** Hub id prefix (one per test, for readable logs). */
  prefix: string;
  /** Share of its limit a charging pad draws, per hub (its length is the number of hubs). Default [0.6, 0.97, 0.6]. */
  drawFractions?: readonly number[];
  nodesPerHub?: number;
  nodeMaxKw?: number;
  capacityKw?: number;
  /** Fleet time multiplier (charging, dwell). Default 40. */
  speed?: number;
}

export type { SeenEvent } from './fault-watch';

export interface RequestRecord {
  n: number;
  /** The test's phase when it was sent (e.g. 'steady', 'outage 3 s'). */
  phase: string;
  hubId: string;
  nodeId: string;
  vehicleId: string;
  soc: number;
  sentAt: number;
  /** PUBACK from the broker. */
  ackedAt: number | null;
  failed: string | null;
  /** The hub received a limit above 0 for the pad (its DLM event). */
  answeredAt: number | null;
  /** The vehicle was connected to the pad (it charges). */
  pluggedAt: number | null;
}

const key = (hubId: string, nodeId: string) => `${hubId}/${nodeId}`;
/** The simulator's numbering: 01, 02, … */
const two = (n: number) => String(n).padStart(2, '0');

export class FaultFleet {
  readonly hubIds: string[];
  readonly nodeIds: string[];
  readonly capacityKw: number;
  /** Exactly what the simulated hubs applied. */
  readonly asHub = new LimitObserver();
  /** What the broker delivered to a persistent subscriber, in order. */
  watcher!: EventWatch;
  readonly requests: RequestRecord[] = [];
  readonly userDir = makeUserDir();
  /** Every start of the launcher, oldest first. */
  readonly apps: RuntimeHandle[] = [];
  readonly simLog: string[] = [];
  phase = 'start';
  /** The test printed its numbers (see fault-checks.ts conclude). */
  concluded = false;
  rt: RuntimeHandle | undefined;
  sim!: RunningSimulator;
  mosquitto!: MosquittoServer;
  /** The hubs reach the broker through it (close it: every hub loses its connection). */
  hubProxy!: TcpProxy;
  pgProxy!: TcpProxy;
  /** The test database (direct) and the same through the proxy (the launcher's). */
  dbUrl = '';
  dbProxyUrl = '';
  private app!: MqttClient;
  private readonly outstanding = new Map<string, RequestRecord>();
  private requestTimer: ReturnType<typeof setInterval> | undefined;
  private requestHubs: string[] = [];
  private nextHub = 0;
  private unfollow: (() => void) | undefined;
  private unlisten: (() => void) | undefined;

  /** The limits as the broker delivered the events (in order, no losses). */
  get watch(): LimitObserver {
    return this.watcher.observer;
  }

  /** Every DLM event the broker delivered, in order. */
  get events(): readonly SeenEvent[] {
    return this.watcher.events;
  }

  /** The next DLM event the broker delivers, in the same turn (rejects after `ms`). */
  nextEvent(ms = 30_000): Promise<SeenEvent> {
    return this.watcher.nextEvent(ms);
  }

  constructor(readonly opts: FaultFleetOptions) {
    const fractions = opts.drawFractions ?? [0.6, 0.97, 0.6];
    this.hubIds = fractions.map((_, i) => `${opts.prefix}hub_${two(i + 1)}`);
    this.nodeIds = Array.from({ length: opts.nodesPerHub ?? 4 }, (_, i) => `node_${two(i + 1)}`);
    this.capacityKw = opts.capacityKw ?? 110;
  }

  /** Mosquitto, the database and its proxy, the watcher, the launcher, the fleet; ready when every hub is known and available. */
  async start(): Promise<void> {
    this.mosquitto = await startPersistentMosquitto();
    this.hubProxy = new TcpProxy(new URL(this.mosquitto.url));
    await this.hubProxy.open();
    this.dbUrl = await createTestDatabase('wpt_faults');
    this.pgProxy = new TcpProxy(new URL(this.dbUrl));
    await this.pgProxy.open();
    const proxied = new URL(this.dbUrl);
    proxied.port = String(this.pgProxy.port);
    this.dbProxyUrl = proxied.toString();
    this.watcher = await EventWatch.open(this.mosquitto.url, `${this.opts.prefix}watch`);
    await this.startApp();
    const fractions = this.opts.drawFractions ?? [0.6, 0.97, 0.6];
    this.sim = await startSimulator({
      url: `mqtt://127.0.0.1:${this.hubProxy.port}`,
      clientId: `${this.opts.prefix}sim`,
      log: (line) => this.simLog.push(`${new Date().toISOString()} ${line}`),
      listenRequests: false, // a pad charges once the DLM gave it power (see plug())
      hubs: fractions.map((f, i) => ({
        id: this.hubIds[i],
        capacityKw: this.capacityKw,
        device: { drawFraction: f },
      })),
      nodesPerHub: this.nodeIds.length,
      nodeMaxPowerKw: this.opts.nodeMaxKw ?? 50,
      initialLimitKw: 0,
      vehicles: 0,
      arrivalsPerHour: 0,
      speed: this.opts.speed ?? 40,
      device: { limitRounding: { decimals: 3, mode: 'nearest' }, echoDelayMs: 50 },
    });
    this.unfollow = followModel(this.sim.model, this.asHub);
    this.unlisten = this.sim.model.onHubEvent((e) => {
      if (e.kind !== 'limit' || e.limitKw <= 0) return;
      const rec = this.outstanding.get(key(e.hubId, e.nodeId));
      if (!rec || rec.answeredAt !== null) return;
      rec.answeredAt = e.ts;
      setImmediate(() => this.plug(rec)); // not inside the model's own call
    });
    this.app = await mqtt.connectAsync(this.mosquitto.url, {
      clientId: `${this.opts.prefix}drivers-app`,
      clean: true,
      reconnectPeriod: 500,
    });
    this.app.on('error', () => undefined);
    await this.waitHubsAvailable(30_000);
  }

  /** Starts the launcher (again, on the same user dir and database). */
  async startApp(): Promise<RuntimeHandle> {
    const rt = await startRuntime({
      userDir: this.userDir,
      inheritServices: false,
      timeoutMs: 90_000,
      env: { MQTT_URL: this.mosquitto.url, DATABASE_URL: this.dbProxyUrl },
    });
    this.rt = rt;
    this.apps.push(rt);
    return rt;
  }

  /** What the launcher printed, every start. */
  appLog(): string {
    return this.apps.map((rt, i) => `--- launcher start ${i + 1}\n${rt.output()}`).join('\n');
  }

  /** `kill -9` of the launcher (now, in this turn); resolves once it is gone, with when the signal went. */
  async killApp(): Promise<number> {
    const rt = this.rt!;
    const gone = new Promise<void>((r) => rt.proc.once('exit', () => r()));
    const at = Date.now();
    rt.proc.kill('SIGKILL');
    await gone;
    return at;
  }

  /** GET on the launcher's API with its token. */
  async api<T>(path: string): Promise<T> {
    const rt = this.rt!;
    const r = await fetch(`${rt.url}${path}`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** Every hub known to the twin with its capacity and every node, and available. */
  async waitHubsAvailable(ms: number): Promise<void> {
    type Hub = { available: boolean; max_grid_capacity_kw: number | null; nodes: unknown[] };
    const ok = async () => {
      for (const h of this.hubIds) {
        const hub = await this.api<Hub>(`/api/hubs/${h}`).catch(() => null);
        if (!hub?.available || hub.max_grid_capacity_kw === null || hub.nodes.length !== this.nodeIds.length)
          return false;
      }
      return true;
    };
    await until(ok, ms, 'every hub known and available to the launcher', { every: 200 });
  }

  /** A pad that may be asked for: idle at the hub and on the broker, at 0 kW at the hub, nothing pending. */
  private free(hubId: string, nodeId: string): boolean {
    if (this.outstanding.has(key(hubId, nodeId))) return false;
    const pad = this.sim.model.node(hubId, nodeId);
    if (pad.state !== 'idle' || pad.vehicleId !== null) return false;
    if ((this.asHub.limitKw(hubId, nodeId) ?? 0) !== 0) return false;
    return this.watcher.statuses.get(key(hubId, nodeId)) === 'idle';
  }

  /**
   * Publish one VehicleRequest (SoC `soc`: 78 % charges to 80 % in a few seconds, 30 % for
   * minutes) for a free pad of `hubId` (`nodeId`, or the first free one; default the next hub
   * with one); null when none is free.
   */
  request(hubId?: string, soc = 78, nodeId?: string): RequestRecord | null {
    const hubs = hubId ? [hubId] : this.requestHubs;
    for (let k = 0; k < hubs.length; k++) {
      const h = hubs[(this.nextHub + k) % hubs.length]!;
      const free = this.nodeIds.find((n) => (nodeId === undefined || n === nodeId) && this.free(h, n));
      if (!free) continue;
      if (!hubId) this.nextHub = (this.nextHub + k + 1) % hubs.length;
      return this.send(h, free, soc);
    }
    return null;
  }

  /**
   * `request`, once a pad is free: the watcher may see the pads' idle statuses a little after
   * the app does. Fails with the pad's state when none is free within `ms`.
   */
  async requestWhenFree(hubId: string, soc = 78, nodeId?: string, ms = 15_000): Promise<RequestRecord> {
    let rec: RequestRecord | null = null;
    await until(
      () => (rec = this.request(hubId, soc, nodeId)) !== null,
      ms,
      `a free pad at ${hubId}${nodeId ? ` (${nodeId})` : ''}`,
      {
        detail: () =>
          this.nodeIds.map((n) => ({
            node: n,
            outstanding: this.outstanding.has(key(hubId, n)),
            pad: this.sim.model.node(hubId, n).state,
            limitKw: this.asHub.limitKw(hubId, n),
            status: this.watcher.statuses.get(key(hubId, n)),
          })),
      },
    );
    return rec as unknown as RequestRecord;
  }

  private send(hubId: string, nodeId: string, soc: number): RequestRecord {
    const n = this.requests.length + 1;
    const rec: RequestRecord = {
      n,
      phase: this.phase,
      hubId,
      nodeId,
      vehicleId: `${this.opts.prefix}ev_${n}`,
      soc,
      sentAt: Date.now(),
      ackedAt: null,
      failed: null,
      answeredAt: null,
      pluggedAt: null,
    };
    this.requests.push(rec);
    this.outstanding.set(key(hubId, nodeId), rec);
    const payload = JSON.stringify({
      vehicle_id: rec.vehicleId,
      node_id: nodeId,
      soc_percent: soc,
      timestamp: formatTimestamp(rec.sentAt),
    });
    this.app.publish(buildTopic('vehicleRequest', { hubId }), payload, { qos: 1 }, (err) => {
      if (err) rec.failed = err.message;
      else rec.ackedAt = Date.now();
    });
    return rec;
  }

  /** The hub connects the vehicle to its pad (it was given power): the pad charges. */
  private plug(rec: RequestRecord): void {
    const topic = buildTopic('vehicleRequest', { hubId: rec.hubId });
    const payload = { vehicle_id: rec.vehicleId, node_id: rec.nodeId, soc_percent: rec.soc };
    const r = this.sim.model.apply(topic, payload, Date.now());
    if (r.status === 'applied') rec.pluggedAt = Date.now();
    else this.simLog.push(`plug ${rec.vehicleId} at ${rec.hubId}/${rec.nodeId}: ${JSON.stringify(r)}`);
    this.outstanding.delete(key(rec.hubId, rec.nodeId));
    this.sim.tick();
  }

  /** One request every `everyMs` for a free pad, round robin over `hubIds` (default every hub). */
  startRequests(everyMs = 1000, hubIds: readonly string[] = this.hubIds): void {
    this.stopRequests();
    this.requestHubs = [...hubIds];
    this.requestTimer = setInterval(() => this.request(), everyMs);
  }

  stopRequests(): void {
    if (this.requestTimer) clearInterval(this.requestTimer);
    this.requestTimer = undefined;
  }

  /** Waits until every request the broker acknowledged got its event at the hub. */
  async waitAnswered(ms: number): Promise<void> {
    await until(
      () => this.requests.every((r) => r.ackedAt === null || r.answeredAt !== null),
      ms,
      'every acknowledged request answered',
      {
        every: 100,
        detail: () => this.requests.filter((r) => r.ackedAt !== null && r.answeredAt === null),
      },
    );
  }

  /** Waits until every session is over: every pad idle at the hub with 0 kW, nothing pending. */
  async waitIdle(ms: number): Promise<void> {
    const idle = () =>
      this.outstanding.size === 0 && this.hubIds.every((h) => this.nodeIds.every((n) => this.free(h, n)));
    await until(idle, ms, 'every session over (pads idle at 0 kW)', {
      every: 100,
      detail: () =>
        this.hubIds.flatMap((h) =>
          this.nodeIds
            .filter((n) => !this.free(h, n))
            .map((n) => ({
              pad: key(h, n),
              sim: this.sim.model.node(h, n),
              atHub: this.asHub.limitKw(h, n),
            })),
        ),
    });
  }

  /** Writes what the test saw (requests, events, samples) to a JSON file; returns its path. */
  dump(extra: Record<string, unknown> = {}): string {
    const file = path.join(os.tmpdir(), `wpt-faults-${this.opts.prefix}${process.pid}.json`);
    const data = {
      ...extra,
      requests: this.requests,
      events: this.watcher.events,
      asHub: this.asHub.samples(),
      watch: this.watcher.observer.samples(),
      simLog: this.simLog,
      appLog: this.appLog(),
    };
    fs.writeFileSync(file, JSON.stringify(data, null, 1));
    return file;
  }

  /** A client of the test database (direct, not through the proxy). */
  async db(): Promise<Client> {
    const c = new Client({ connectionString: this.dbUrl });
    await c.connect();
    return c;
  }

  async stop(): Promise<void> {
    this.stopRequests();
    this.unlisten?.();
    this.unfollow?.();
    await this.sim?.stop().catch(() => undefined);
    await this.app?.endAsync(true).catch(() => undefined);
    await this.watcher?.close().catch(() => undefined);
    await this.rt?.stop().catch(() => undefined);
    await this.mosquitto?.close().catch(() => undefined);
    await this.hubProxy?.close().catch(() => undefined);
    await this.pgProxy?.close().catch(() => undefined);
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
