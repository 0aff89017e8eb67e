/**
 * Runs a FleetModel against an MQTT broker: publishes what the model emits (with its
 * retain/QoS), feeds `iot/hubs/+/dlm/events` (and, unless disabled, VehicleRequests sent by
 * others on `iot/hubs/+/requests`) into `model.apply`, and steps the model on wall-clock
 * time with one interval timer (plus one timer for the next echo when hubs echo with a delay).
 *
 * By default every hub has an MQTT client of its own (`{clientId}-{hubId}`, subscribed to its
 * own hub's topics, publishing its hub's messages and its vehicles' requests) and the vehicles
 * share one more (`{clientId}`), so one hub can lose its connection (`dropConnection`) or
 * restart (`restartHub`) while the others go on. `connection: 'shared'` uses one client.
 * `stop()` clears every timer and ends every client.
 */
import crypto from 'node:crypto';
import { SUBSCRIPTIONS, buildTopic } from '../core/contract';
import { MqttLink } from './links';
import { FleetModel } from './model';
import type { FleetOptions } from './options';
import { summarize, type SimulatorStats } from './summary';
import type { SimMessage } from './types';

export { summaryLine } from './summary';
export type { HubStats, SimulatorStats } from './summary';

/** A fault the runner injects at `atMs` after its start. */
export type ScheduledFault =
  | { atMs: number; hubId: string; kind: 'drop'; forMs: number }
  | { atMs: number; hubId: string; kind: 'restart'; downMs?: number };

export interface SimulatorOptions extends FleetOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  username?: string;
  password?: string;
  /** Credentials of a hub's own client (e.g. with per-hub broker ACLs); default username/password. */
  hubCredentials?: (hubId: string) => { username: string; password: string } | undefined;
  /** Default `wpt-sim-<random>`; hubs' clients are `{clientId}-{hubId}`. Fix it for persistent sessions across runs. */
  clientId?: string;
  /** One MQTT client per hub (default) or one for the whole fleet. */
  connection?: 'per-hub' | 'shared';
  /** Step interval (wall ms), default min(200, telemetryPeriodMs). */
  tickMs?: number;
  /** Obey VehicleRequests others publish (the app asking a node to charge), default true. */
  listenRequests?: boolean;
  /** Give up connecting after this long (ms), default 10000. */
  connectTimeoutMs?: number;
  /** Wall clock (epoch ms), default Date.now. */
  clock?: () => number;
  /** Where connection problems are reported, default console.error. */
  log?: (line: string) => void;
  /** Use this model instead of building one from the options. */
  model?: FleetModel;
  /** Connection drops and restarts to inject, at times after the start. */
  faults?: readonly ScheduledFault[];
}

export interface StopOptions {
  /** Publish a retained `offline` status for every online hub first (default false). */
  offline?: boolean;
  /** Clear every retained topic of the fleet (empty retained payloads) before leaving (default false). */
  clearRetained?: boolean;
}

export interface RunningSimulator {
  model: FleetModel;
  /** Step the model now and publish (the timer does this every `tickMs`). */
  tick(): void;
  stats(): SimulatorStats;
  /**
   * The hub's MQTT client loses its connection now (no DISCONNECT: the broker sees a network
   * failure) and reconnects after `forMs` with the same client id and its session
   * (`device.session`): with 'clean', DLM events and requests published to it meanwhile are
   * lost; with 'persistent', the broker delivers them, in order, when it is back. The hub
   * keeps running meanwhile (its pads at their limits); its telemetry is dropped, its QoS 1
   * messages are sent when it is back. Resolves once it is connected and subscribed again
   * (or at `stop()`). Needs `connection: 'per-hub'`.
   */
  dropConnection(hubId: string, forMs: number): Promise<void>;
  /**
   * The hub restarts: silent (and, per hub, disconnected) for `downMs` (default 0), then it
   * boots with its default limits and republishes its retained info and status (and its
   * nodes'), and reconnects with its session. Resolves once it is back.
   */
  restartHub(hubId: string, opts?: { downMs?: number }): Promise<void>;
  /** Is the hub's connection up (per hub: its own client; shared: the fleet's)? */
  linkUp(hubId: string): boolean;
  /** Clears the timers and ends the clients (in-flight QoS 1 messages are waited for, ≤ 5 s). */
  stop(opts?: StopOptions): Promise<void>;
}

/** Connect to the broker, subscribe, start the fleet. Rejects when the broker cannot be reached. */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? ((line: string) => console.error(line));
  const model = opts.model ?? new FleetModel(opts);
  const tickMs = opts.tickMs ?? Math.min(200, opts.telemetryPeriodMs ?? 2000);
  if (!Number.isFinite(tickMs) || tickMs <= 0) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
  const perHub = (opts.connection ?? 'per-hub') === 'per-hub';
  const baseId = opts.clientId ?? `wpt-sim-${crypto.randomBytes(4).toString('hex')}`;
  const listenRequests = opts.listenRequests ?? true;
  const counters = { received: 0, applied: 0, ignored: 0, rejected: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const waiters = new Set<() => void>();
  /** Runs `f` after `ms` unless stopped first. */
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) f();
    }, ms);
    timers.add(t);
  };
  /** Resolves after `ms`, or at `stop()`. */
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        waiters.delete(resolve);
        resolve();
      }, ms);
      timers.add(t);
      waiters.add(resolve);
    });

  let dueTimer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;
  /** One timer for the next echo the model has due. */
  const scheduleDue = (): void => {
    const due = model.nextDueMs();
    if (due === null || stopped || (dueTimer && dueAt <= due)) return;
    if (dueTimer) clearTimeout(dueTimer);
    dueAt = due;
    dueTimer = setTimeout(
      () => {
        dueTimer = undefined;
        dueAt = Infinity;
        tick();
      },
      Math.max(0, due - clock()),
    );
  };

  const onMessage = (topic: string, payload: Buffer): void => {
    if (stopped) return;
    counters.received++;
    const r = model.apply(topic, payload, clock());
    counters[r.status === 'applied' ? 'applied' : r.status === 'ignored' ? 'ignored' : 'rejected']++;
    if (r.status === 'rejected') log(`[sim] rejected ${topic}: ${r.reason}`);
    tick(); // publish what it caused (e.g. a node going `charging`) at once
  };
  /** A hub's client is back: the hub announces itself (retained status `online`). */
  const announce = (hubIds: string[]): void => {
    if (stopped) return;
    for (const id of hubIds) if (model.hub(id).device.announceOnReconnect) model.announceHub(id);
    tick();
  };
  const hubFilters = (hubId: string): string[] => {
    const f = [buildTopic('dlmEvent', { hubId })];
    if (listenRequests) f.push(buildTopic('vehicleRequest', { hubId }));
    return f;
  };
  const common = { url: opts.url, connectTimeoutMs: opts.connectTimeoutMs ?? 10000, onMessage, log };
  const fleetCreds = opts.username !== undefined ? { username: opts.username, password: opts.password } : {};
  const hubIds = model.hubs().map((h) => h.id);
  for (const f of opts.faults ?? []) model.hub(f.hubId); // an unknown hub throws before connecting
  const fleetLink = new MqttLink({
    ...common,
    ...fleetCreds,
    clientId: baseId,
    clean: () => true,
    filters: perHub
      ? []
      : listenRequests
        ? [SUBSCRIPTIONS.dlmEvent, SUBSCRIPTIONS.vehicleRequest]
        : [SUBSCRIPTIONS.dlmEvent],
    onReconnect: () => announce(perHub ? [] : model.hubs().map((h) => h.id)),
  });
  const hubLinks = new Map<string, MqttLink>();
  if (perHub) {
    for (const hubId of hubIds) {
      const link: MqttLink = new MqttLink({
        ...common,
        ...(opts.hubCredentials?.(hubId) ?? fleetCreds),
        clientId: `${baseId}-${hubId}`,
        clean: () => model.hub(hubId).device.session === 'clean',
        filters: hubFilters(hubId),
        onReconnect: () => announce([hubId]),
      });
      hubLinks.set(hubId, link);
    }
  }
  const links = [fleetLink, ...hubLinks.values()];
  const results = await Promise.allSettled(links.map((l) => l.open()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(links.map((l) => l.close()));
    throw failed.reason;
  }

  /** The hub's link for `iot/hubs/{hub}/…`, the fleet's for the rest. */
  const linkFor = (topic: string): MqttLink => {
    if (!perHub || !topic.startsWith('iot/hubs/')) return fleetLink;
    return hubLinks.get(topic.split('/')[2] ?? '') ?? fleetLink;
  };
  const publishAll = (msgs: SimMessage[]): void => {
    for (const m of msgs) linkFor(m.topic).publish(m);
  };
  function tick(): void {
    if (stopped) return;
    publishAll(model.step(clock()));
    scheduleDue();
  }

  const hubLink = (hubId: string): MqttLink => {
    model.hub(hubId); // throws on an unknown hub
    const link = hubLinks.get(hubId);
    if (!link) throw new Error(`dropConnection needs connection: 'per-hub' (the fleet shares one client)`);
    return link;
  };
  const dropConnection = async (hubId: string, forMs: number): Promise<void> => {
    if (!Number.isFinite(forMs) || forMs < 0) throw new RangeError(`forMs must be ≥ 0, got ${forMs}`);
    const link = hubLink(hubId);
    if (link.isCut || stopped) return;
    await link.cutNow();
    await wait(forMs);
    if (!stopped) await link.restore();
  };
  const restartHub = async (hubId: string, ro: { downMs?: number } = {}): Promise<void> => {
    const downMs = ro.downMs ?? 0;
    if (!Number.isFinite(downMs) || downMs < 0) throw new RangeError(`downMs must be ≥ 0, got ${downMs}`);
    model.setHubOffline(hubId, 'silent', { nowMs: clock() });
    const link = hubLinks.get(hubId);
    if (link) await link.cutNow();
    if (downMs > 0) await wait(downMs);
    if (stopped) return;
    model.restartHub(hubId, { nowMs: clock() });
    tick(); // the start sequence: kept by the cut link, sent when it is back
    if (link) await link.restore(false);
  };

  const startedAt = clock();
  tick(); // the start sequence
  const timer = setInterval(tick, tickMs);
  for (const f of opts.faults ?? []) {
    later(f.atMs, () => {
      const done = f.kind === 'drop' ? dropConnection(f.hubId, f.forMs) : restartHub(f.hubId, f);
      done.catch((err: unknown) => log(`[sim] ${f.kind} ${f.hubId}: ${(err as Error).message}`));
    });
  }

  const stats = (): SimulatorStats =>
    summarize(model, {
      connected: links.every((l) => l.connected),
      uptimeMs: clock() - startedAt,
      ...counters,
      links,
      linkOf: (hubId) => hubLinks.get(hubId) ?? fleetLink,
    });

  let stopping: Promise<void> | undefined;
  const stop = (so: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(timer);
      if (so.offline) {
        for (const h of model.hubs()) if (h.mode === 'online') model.setHubOffline(h.id, 'offline');
        publishAll(model.step(clock()));
      }
      stopped = true;
      if (dueTimer) clearTimeout(dueTimer);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const resolve of waiters) resolve();
      waiters.clear();
      if (so.clearRetained) {
        for (const topic of model.retainedTopics()) {
          const link = linkFor(topic);
          (link.connected ? link : fleetLink).publishRaw(topic, '', 1, true);
        }
      }
      await Promise.all(links.map((l) => l.close()));
    })();
    return stopping;
  };

  return {
    model,
    tick,
    stats,
    dropConnection,
    restartHub,
    linkUp: (hubId) => (hubLinks.get(hubId) ?? fleetLink).connected,
    stop,
  };
}
