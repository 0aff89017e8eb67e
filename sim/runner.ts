/**
 * Runs a FleetModel against an MQTT broker: publishes what the model emits (with its
 * retain/QoS), feeds `iot/hubs/+/dlm/events` (and, unless disabled, VehicleRequests sent by
 * others on `iot/hubs/+/requests`) into `model.apply`, and steps the model on wall-clock
 * time with one interval timer. `stop()` clears the timer and ends the client.
 */
import crypto from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { SUBSCRIPTIONS } from '../core/contract';
import { FleetModel, type FleetCounters, type FleetOptions, type HubMode, type SimMessage } from './model';

export interface SimulatorOptions extends FleetOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  username?: string;
  password?: string;
  /** Default `wpt-sim-<random>`. */
  clientId?: string;
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
}

export interface HubStats {
  id: string;
  mode: HubMode;
  capacityKw: number;
  sumOfLimitsKw: number;
  loadKw: number;
  /** Nodes with a vehicle connected (charging or full). */
  occupied: number;
  nodes: number;
}

export interface SimulatorStats {
  connected: boolean;
  uptimeMs: number;
  published: number;
  publishErrors: number;
  received: number;
  applied: number;
  ignored: number;
  rejected: number;
  fleet: FleetCounters;
  hubs: HubStats[];
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
  /** Clears the timer and ends the client (in-flight QoS 1 messages are waited for, ≤ 5 s). */
  stop(opts?: StopOptions): Promise<void>;
}

function connectClient(url: string, opts: IClientOptions, timeoutMs: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, opts);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      client.removeListener('connect', ok);
      client.removeListener('error', fail);
      client.end(true);
      reject(err);
    };
    const ok = (): void => {
      clearTimeout(timer);
      client.removeListener('error', fail);
      resolve(client);
    };
    const timer = setTimeout(
      () => fail(new Error(`no MQTT connection to ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('connect', ok);
    client.once('error', fail);
  });
}

/** Connect to the broker, subscribe, start the fleet. Rejects when the broker cannot be reached. */
export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? ((line: string) => console.error(line));
  const model = opts.model ?? new FleetModel(opts);
  const tickMs = opts.tickMs ?? Math.min(200, opts.telemetryPeriodMs ?? 2000);
  if (!Number.isFinite(tickMs) || tickMs <= 0) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
  const counters = { published: 0, publishErrors: 0, received: 0, applied: 0, ignored: 0, rejected: 0 };
  const clientOpts: IClientOptions = {
    clientId: opts.clientId ?? `wpt-sim-${crypto.randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: opts.connectTimeoutMs ?? 10000,
    queueQoSZero: false, // telemetry is dropped while disconnected, like a device's
  };
  if (opts.username !== undefined) clientOpts.username = opts.username;
  if (opts.password !== undefined) clientOpts.password = opts.password;

  const client = await connectClient(opts.url, clientOpts, opts.connectTimeoutMs ?? 10000);
  let stopped = false;
  let lastError = '';
  client.on('error', (err) => {
    if (err.message !== lastError) log(`[sim] mqtt: ${err.message}`);
    lastError = err.message;
  });
  client.on('connect', () => {
    if (lastError) log('[sim] mqtt: reconnected');
    lastError = '';
  });

  const publishAll = (msgs: SimMessage[]): void => {
    for (const m of msgs) {
      client.publish(m.topic, JSON.stringify(m.payload), { qos: m.qos, retain: m.retain }, (err) => {
        if (err) counters.publishErrors++;
        else counters.published++;
      });
    }
  };
  const tick = (): void => {
    if (stopped) return;
    publishAll(model.step(clock()));
  };

  const filters = [SUBSCRIPTIONS.dlmEvent];
  if (opts.listenRequests ?? true) filters.push(SUBSCRIPTIONS.vehicleRequest);
  client.on('message', (topic, payload) => {
    if (stopped) return;
    counters.received++;
    const r = model.apply(topic, payload, clock());
    counters[r.status === 'applied' ? 'applied' : r.status === 'ignored' ? 'ignored' : 'rejected']++;
    if (r.status === 'rejected') log(`[sim] rejected ${topic}: ${r.reason}`);
    tick(); // publish what it caused (e.g. a node going `charging`) at once
  });
  try {
    await client.subscribeAsync(filters, { qos: 1 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }

  const startedAt = clock();
  tick(); // the start sequence
  const timer = setInterval(tick, tickMs);

  const stats = (): SimulatorStats => ({
    connected: client.connected,
    uptimeMs: clock() - startedAt,
    ...counters,
    fleet: model.counters(),
    hubs: model.hubs().map((h) => {
      const nodes = model.nodes(h.id);
      return {
        id: h.id,
        mode: h.mode,
        capacityKw: h.capacityKw,
        sumOfLimitsKw: model.sumOfLimits(h.id),
        loadKw: model.hubLoadKw(h.id),
        occupied: nodes.filter((n) => n.vehicleId !== null).length,
        nodes: nodes.length,
      };
    }),
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
      if (so.clearRetained) {
        for (const topic of model.retainedTopics()) client.publish(topic, '', { qos: 1, retain: true });
      }
      let force: NodeJS.Timeout | undefined;
      await Promise.race([
        client.endAsync(false),
        new Promise<void>((resolve) => {
          force = setTimeout(resolve, 5000);
        }),
      ]);
      clearTimeout(force);
      if (!client.disconnected) await client.endAsync(true);
    })();
    return stopping;
  };

  return { model, tick, stats, stop };
}

/** One line for logs: `12s hubs 3 · charging 5/12 · load 180.2/420 kW · limits 312 kW · sent 480 · dlm 6 …`. */
export function summaryLine(s: SimulatorStats): string {
  let load = 0;
  let cap = 0;
  let limits = 0;
  let occupied = 0;
  let nodes = 0;
  let online = 0;
  for (const h of s.hubs) {
    load += h.loadKw;
    cap += h.capacityKw;
    limits += h.sumOfLimitsKw;
    occupied += h.occupied;
    nodes += h.nodes;
    if (h.mode === 'online') online++;
  }
  return (
    `[sim] ${Math.round(s.uptimeMs / 1000)}s ${s.connected ? 'connected' : 'DISCONNECTED'}` +
    ` · hubs ${online}/${s.hubs.length} online · occupied ${occupied}/${nodes}` +
    ` · load ${load.toFixed(1)}/${cap.toFixed(0)} kW · limits ${limits.toFixed(1)} kW` +
    ` · arrivals ${s.fleet.arrivals} (missed ${s.fleet.missedArrivals}) · done ${s.fleet.sessionsCompleted}` +
    ` · ${s.fleet.energyDeliveredKwh.toFixed(1)} kWh` +
    ` · sent ${s.published}${s.publishErrors ? ` (${s.publishErrors} failed)` : ''}` +
    ` · dlm ${s.fleet.dlmApplied} applied, ${s.fleet.dlmIgnored} ignored · rejected ${s.rejected}`
  );
}
