/**
 * A hub behind an MQTT broker, for the DLM's property tests: it applies the limits it receives
 * in the order it receives them and reports what it applied.
 *
 * Fault model — what MQTT QoS 1 allows, and nothing it does not:
 * - Our limits travel one topic with QoS 1: while the sessions hold they arrive in order, at
 *   least once.
 * - Duplicates and reordering: when the hub's connection breaks, the messages it received but
 *   whose PUBACK the broker did not get are re-delivered, in their original order, when it
 *   reconnects with a persistent session — before anything published after the reconnection
 *   (MQTT 3.1.1 §4.4, §4.6: "1,2,3,4" may arrive as "1,2,3,2,3,4"). So the hub passes again
 *   through limits it had already left.
 * - A PUBACK travels the hub's TCP stream before anything the hub publishes afterwards: a
 *   report that reached us over the same connection proves the messages applied before it
 *   were acknowledged (`report` clears them, `ack` models PUBACKs alone). A report sent on the
 *   new connection may reach us before the re-deliveries are applied.
 * - A disconnection with a clean session loses what was queued for the hub and what is
 *   published until it is back; with a persistent session the broker keeps both.
 * - A hub away longer than the twin's stale_after_s is seen (stale or offline), suspended and
 *   RESYNCed when back; shorter absences go unnoticed, so a message reaches a present hub, or
 *   is lost, within the controller's delivery window (30 s > stale_after_s 10 s + a step).
 * - Our own broker connection going down loses what we publish meanwhile (Node-RED's `mqtt
 *   out` drops it) and what was on its way to us; the caller models that side.
 * - Reports (telemetry) arrive in the order the hub sent them (the twin drops an older one
 *   after a newer one), may be lost or duplicated; the caller models that side.
 * Not in the model: a broker that reorders acknowledged messages, a hub that applies a message
 * it never received or sets limits of its own (tested separately).
 *
 * What holds under it: outside of re-deliveries the hub is never above what the DLM counts for
 * a node; during one a node may be (a limit it already left, counted when it was sent), but
 * every state it passes through was within C when those messages were sent (their limits were
 * counted together then), so Σ applied ≤ C at every message. */

export interface LimitMsg {
  nodeId: string;
  kw: number;
}

export class SimHub {
  /** Limits the hub applies now, by node. */
  readonly applied = new Map<string, number>();
  /** Every message applied, in order (duplicates included). */
  readonly log: LimitMsg[] = [];
  connected = true;
  private clean = false;
  private queue: LimitMsg[] = [];
  private unacked: LimitMsg[] = [];
  private replay: LimitMsg[] = [];

  /** Called after each message is applied (for invariants at every message). */
  constructor(private readonly onApply: (m: LimitMsg, hub: SimHub) => void = () => undefined) {}

  /** A message reaches the broker for this hub. */
  publish(m: LimitMsg): void {
    if (!this.connected && this.clean) return; // no session: lost
    this.queue.push(m);
  }

  /** Re-deliveries still to come: the hub is passing again through limits it had left. */
  replaying(): boolean {
    return this.replay.length > 0;
  }

  /** Nothing queued, nothing to re-deliver, everything acknowledged: no old limit can come back. */
  quiet(): boolean {
    return this.connected && this.queue.length === 0 && this.replay.length === 0 && this.unacked.length === 0;
  }

  /** Messages waiting at the broker (re-deliveries included). */
  pending(): number {
    return this.queue.length + this.replay.length;
  }

  /** Delivers up to `n` messages, re-deliveries first; returns how many. */
  deliver(n = Number.POSITIVE_INFINITY): number {
    let k = 0;
    while (this.connected && k < n) {
      const m = this.replay.shift() ?? this.queue.shift();
      if (!m) break;
      this.applied.set(m.nodeId, m.kw);
      this.log.push(m);
      this.unacked.push(m);
      k++;
      this.onApply(m, this);
    }
    return k;
  }

  /** PUBACKs of everything applied reach the broker. */
  ack(): void {
    if (this.connected) this.unacked = [];
  }

  /** The hub reports the limit it applies for a node (its acknowledgements go first); null when not connected. */
  report(nodeId: string): number | null {
    if (!this.connected) return null;
    this.unacked = [];
    return this.applied.get(nodeId) ?? 0;
  }

  disconnect(cleanSession: boolean): void {
    if (!this.connected) return;
    this.connected = false;
    this.clean = cleanSession;
    if (cleanSession) {
      this.queue = [];
      this.replay = [];
    } else {
      this.replay = [...this.unacked, ...this.replay];
    }
    this.unacked = [];
  }

  reconnect(): void {
    this.connected = true;
  }

  /** Σ applied (kW). */
  sum(): number {
    let s = 0;
    for (const v of this.applied.values()) s += v;
    return s;
  }
}
