/**
 * `watchLimits`: a LimitObserver fed from the broker. It subscribes (QoS 1) to the hubs' DLM
 * events and infos — every hub, or the hubs named — and applies them in the order the broker
 * delivers them, which is the order a hub subscribed the same way receives them.
 */
import crypto from 'node:crypto';
import { connect, type IClientOptions } from 'mqtt';
import { buildTopic, SUBSCRIPTIONS } from '../core/contract';
import { LimitObserver, type LimitObserverOptions } from './observer';

export interface WatchOptions extends LimitObserverOptions {
  url: string;
  username?: string;
  password?: string;
  /** Default `wpt-watch-<random>`. */
  clientId?: string;
  /** Persistent session (fixed client id, clean: false): the broker keeps what comes while it is away. Default false. */
  persistent?: boolean;
  /** Watch only these hubs (default every hub). */
  hubIds?: readonly string[];
  /** Give up connecting after this long (ms), default 10000. */
  connectTimeoutMs?: number;
  /** Time of a message (epoch ms), default Date.now. */
  clock?: () => number;
}

export interface LimitWatch {
  observer: LimitObserver;
  /** Messages received. */
  received(): number;
  close(): Promise<void>;
}

/** Topic filters of the DLM events and infos of these hubs (or of every hub). */
export function watchFilters(hubIds?: readonly string[]): string[] {
  if (!hubIds) return [SUBSCRIPTIONS.dlmEvent, SUBSCRIPTIONS.hubInfo, SUBSCRIPTIONS.nodeInfo];
  return hubIds.flatMap((hubId) => [
    buildTopic('dlmEvent', { hubId }),
    buildTopic('hubInfo', { hubId }),
    `iot/hubs/${hubId}/nodes/+/info`,
  ]);
}

/** Connect, subscribe, and apply what comes to a new LimitObserver. Rejects when the broker cannot be reached. */
export async function watchLimits(opts: WatchOptions): Promise<LimitWatch> {
  const observer = new LimitObserver(opts);
  const clock = opts.clock ?? Date.now;
  const timeoutMs = opts.connectTimeoutMs ?? 10000;
  const clientOpts: IClientOptions = {
    clientId: opts.clientId ?? `wpt-watch-${crypto.randomBytes(4).toString('hex')}`,
    clean: opts.persistent !== true,
    reconnectPeriod: 500,
    connectTimeout: timeoutMs,
  };
  if (opts.username !== undefined) clientOpts.username = opts.username;
  if (opts.password !== undefined) clientOpts.password = opts.password;
  const client = connect(opts.url, clientOpts);
  let received = 0;
  client.on('message', (topic, payload) => {
    received++;
    observer.message(topic, payload, clock());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no MQTT connection to ${opts.url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    client.on('error', () => {}); // reconnects by itself
    await client.subscribeAsync(watchFilters(opts.hubIds), { qos: 1 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return {
    observer,
    received: () => received,
    close: async () => {
      await client.endAsync(true);
    },
  };
}
