/**
 * One MQTT connection of the simulator (a hub's, the vehicles', or the whole fleet's) that
 * can be cut like a network failure and brought back with the same client id. While it is
 * cut, what the device publishes is handled the way a device's MQTT client does: QoS 0 is
 * dropped, QoS 1 is kept (bounded) and sent on reconnect. What others publish to it meanwhile
 * is the broker's business: lost with a clean session, queued with a persistent one.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { SimMessage } from './types';

export interface LinkOptions {
  url: string;
  clientId: string;
  /** false: persistent session (the broker keeps subscriptions and queues QoS 1 while away); read at every connection. */
  clean: () => boolean;
  username?: string;
  password?: string;
  /** Subscribed with QoS 1 on every (re)connection. */
  filters: string[];
  connectTimeoutMs: number;
  onMessage(topic: string, payload: Buffer): void;
  /** Called on every connection after the first (automatic or after `restore`). */
  onReconnect(): void;
  log(line: string): void;
}

/** QoS 1 messages kept while a link is cut, at most; the oldest go first. */
export const MAX_PENDING = 10_000;

export interface LinkCounters {
  published: number;
  publishErrors: number;
  /** QoS 0 messages dropped, and QoS 1 messages dropped from a full queue, while the link was cut. */
  droppedWhileCut: number;
  /** QoS 1 messages kept while the link was cut (sent when it came back). */
  queuedWhileCut: number;
}

/** Resolves on the client's first connection; rejects on its first error or after `timeoutMs`. */
function firstConnection(client: MqttClient, url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      client.removeListener('connect', ok);
      client.removeListener('error', fail);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    const fail = (err: Error): void => done(err);
    const timer = setTimeout(
      () => done(new Error(`no MQTT connection to ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('connect', ok);
    client.once('error', fail);
  });
}

export class MqttLink {
  private client: MqttClient | null = null;
  private cut = false;
  private closed = false;
  private readonly pending: SimMessage[] = [];
  readonly counters: LinkCounters = { published: 0, publishErrors: 0, droppedWhileCut: 0, queuedWhileCut: 0 };

  constructor(private readonly opts: LinkOptions) {}

  get clientId(): string {
    return this.opts.clientId;
  }

  /** Connected now (false while cut or closed). */
  get connected(): boolean {
    return !this.cut && this.client?.connected === true;
  }

  /** Cut on purpose (`cut()`), not yet restored. */
  get isCut(): boolean {
    return this.cut;
  }

  /** Connect and subscribe; rejects when the broker cannot be reached. */
  async open(): Promise<void> {
    const o = this.opts;
    const clientOpts: IClientOptions = {
      clientId: o.clientId,
      clean: o.clean(),
      reconnectPeriod: 1000,
      connectTimeout: o.connectTimeoutMs,
      queueQoSZero: false, // telemetry is dropped while disconnected, like a device's
    };
    if (o.username !== undefined) clientOpts.username = o.username;
    if (o.password !== undefined) clientOpts.password = o.password;
    const client = connect(o.url, clientOpts);
    // handlers first: a persistent session's queued messages may come with the CONNACK
    this.client = client;
    client.on('message', (topic, payload) => {
      if (client === this.client && !this.closed) o.onMessage(topic, payload);
    });
    let lastError = '';
    let connections = 0;
    client.on('error', (err) => {
      if (err.message !== lastError) o.log(`mqtt ${o.clientId}: ${err.message}`);
      lastError = err.message;
    });
    client.on('connect', () => {
      connections++;
      if (lastError) o.log(`mqtt ${o.clientId}: reconnected`);
      lastError = '';
      if (connections > 1 && client === this.client && !this.closed) o.onReconnect();
    });
    try {
      await firstConnection(client, o.url, o.connectTimeoutMs);
      if (o.filters.length > 0) await client.subscribeAsync(o.filters, { qos: 1 });
    } catch (err) {
      if (this.client === client) this.client = null;
      await client.endAsync(true);
      throw err;
    }
  }

  publish(m: SimMessage): void {
    if (this.closed) return;
    if (this.cut || this.client === null) {
      if (m.qos === 0) {
        this.counters.droppedWhileCut++;
        return;
      }
      if (this.pending.length >= MAX_PENDING) {
        this.pending.shift();
        this.counters.droppedWhileCut++;
      }
      this.pending.push(m);
      this.counters.queuedWhileCut++;
      return;
    }
    this.send(this.client, m.topic, JSON.stringify(m.payload), m.qos, m.retain);
  }

  /** Publish raw text (e.g. an empty retained payload). */
  publishRaw(topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
    if (this.closed || this.cut || this.client === null) return;
    this.send(this.client, topic, payload, qos, retain);
  }

  private send(client: MqttClient, topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
    client.publish(topic, payload, { qos, retain }, (err) => {
      if (err) this.counters.publishErrors++;
      else this.counters.published++;
    });
  }

  /** Cut the connection now, as a network failure would (no DISCONNECT: the broker sees it drop). */
  async cutNow(): Promise<void> {
    if (this.cut || this.closed || this.client === null) return;
    this.cut = true;
    const client = this.client;
    this.client = null;
    await client.endAsync(true);
  }

  /**
   * Connect again with the same client id and session, then send what was kept, in order;
   * `onReconnect` unless `announce` is false (a rebooted device already said who it is).
   */
  async restore(announce = true): Promise<void> {
    if (!this.cut || this.closed) return;
    await this.open();
    if (this.closed) return;
    const kept = this.pending.splice(0);
    this.cut = false;
    for (const m of kept) this.publish(m);
    if (announce) this.opts.onReconnect();
  }

  /** End the client: in-flight QoS 1 messages are waited for (≤ 5 s), then forced. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client === null) return;
    let force: NodeJS.Timeout | undefined;
    await Promise.race([
      client.endAsync(false),
      new Promise<void>((resolve) => {
        force = setTimeout(resolve, 5000);
      }),
    ]);
    clearTimeout(force);
    if (!client.disconnected) await client.endAsync(true);
  }
}
