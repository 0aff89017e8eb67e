// What the broker delivers, seen by a persistent subscriber of the fault tests (see
// fault-fleet.ts): every DLM event in order (raw, to compare with dlm_events), the limits they
// add up to per hub (a LimitObserver: Σ against the hub's capacity at every message) and the
// latest status of every node.
import mqtt, { type MqttClient } from 'mqtt';
import { decode } from '../../core/contract';
import { LimitObserver } from '../../sim/observer';
import { watchFilters } from '../../sim/watch';

/** A DLM event as the watcher received it. */
export interface SeenEvent {
  /** Order of receipt over all hubs (1, 2, …). */
  seq: number;
  at: number;
  hubId: string;
  nodeId: string;
  reason: string;
  originalKw: number;
  newKw: number;
  allocationId: string | null;
  /** The event's own timestamp (epoch ms). */
  tsMs: number;
}

export class EventWatch {
  /** The limits the delivered events add up to, per hub, in the broker's order. */
  readonly observer = new LimitObserver();
  readonly events: SeenEvent[] = [];
  /** Latest node status delivered, by `hub/node`. */
  readonly statuses = new Map<string, string>();
  private readonly listeners = new Set<(e: SeenEvent) => void>();

  private constructor(private readonly client: MqttClient) {
    client.on('error', () => undefined); // reconnects by itself
    client.on('message', (topic, payload) => this.message(topic, payload));
  }

  /** A persistent session (`clientId` fixed, clean: false): nothing is missed while it reconnects. */
  static async open(url: string, clientId: string): Promise<EventWatch> {
    const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 500 });
    const w = new EventWatch(client);
    await client.subscribeAsync([...watchFilters(), 'iot/hubs/+/nodes/+/status'], { qos: 1 });
    return w;
  }

  private message(topic: string, payload: Buffer): void {
    const now = Date.now();
    this.observer.message(topic, payload, now);
    if (payload.length === 0) return;
    const d = decode(topic, payload, now);
    if (!d.ok) return;
    const m = d.msg;
    if (m.kind === 'nodeStatus') this.statuses.set(`${m.hubId}/${m.nodeId}`, m.data.state);
    if (m.kind !== 'dlmEvent') return;
    const e: SeenEvent = {
      seq: this.events.length + 1,
      at: now,
      hubId: m.hubId,
      nodeId: m.data.affected_node_id,
      reason: m.data.trigger_reason,
      originalKw: m.data.original_limit,
      newKw: m.data.new_limit,
      allocationId: m.data.allocation_id ?? null,
      tsMs: m.ts,
    };
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  /** Resolves, in the same turn, with the next DLM event delivered; rejects after `ms`. */
  nextEvent(ms: number): Promise<SeenEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no DLM event within ${ms} ms`));
      }, ms);
      const l = (e: SeenEvent) => {
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(e);
      };
      this.listeners.add(l);
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
