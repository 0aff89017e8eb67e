/**
 * The DLM engine over a real twin fed with contract messages, and a hub that applies the
 * limits it receives — as they go on the wire (commandToNotification → JSON) — in order, and
 * reports them in telemetry. Time is simulated: `advance` runs the scheduled events (the hub's
 * echoes) and the engine's wake-ups in time order, like the allocator node's timer.
 *
 * The twin's view is wrapped to carry the operators' fields the twin area adds
 * (`HubView.active`, `HubView.capacityOverride`, `NodeView.maxPowerOverrideKw`): `setHub` /
 * `setNodeMax` change them and feed the engine the twin change an operator command makes.
 */
import { DlmEngine, commandToNotification } from '../../core/dlm';
import type { DlmCommand, DlmEngineConfig, RestoredLimit, TwinView } from '../../core/dlm';
import { decode, formatTimestamp } from '../../core/contract';
import { Twin, type HubView, type NodeView, type TwinChange } from '../../core/twin';

export const T0 = Date.parse('2026-11-26T07:00:00Z');

export interface HubFields {
  active?: boolean;
  capacityOverride?: { kw: number; fromMs: number | null; untilMs: number | null } | null;
}

/** The twin plus the operator fields (a stand-in until the twin carries them). */
class OperatorView implements TwinView {
  readonly hubFields = new Map<string, HubFields>();
  readonly nodeMax = new Map<string, number | null>();
  constructor(private readonly twin: Twin) {}
  hub(hubId: string): HubView | undefined {
    const h = this.twin.hub(hubId);
    return h && ({ ...h, ...this.hubFields.get(hubId) } as HubView);
  }
  hubs(): HubView[] {
    return this.twin.hubs().map((h) => this.hub(h.hubId) as HubView);
  }
  nodesOf(hubId: string): NodeView[] {
    return this.twin.nodesOf(hubId).map((n) => this.node(n));
  }
  node(n: NodeView): NodeView {
    const o = this.nodeMax.get(`${n.hubId}/${n.nodeId}`);
    return o === undefined ? n : ({ ...n, maxPowerOverrideKw: o } as NodeView);
  }
  vehicle(vehicleId: string) {
    return this.twin.vehicle(vehicleId);
  }
}

export class Harness {
  readonly twin = new Twin();
  readonly view = new OperatorView(this.twin);
  /** Replaced by `restart` (a new process of the orchestrator). */
  engine: DlmEngine;
  now = T0;
  /** Every command, in publishing order. */
  readonly sent: DlmCommand[] = [];
  /** Limits the hub applies (from the wire), by hub and node. */
  readonly atHub = new Map<string, Map<string, number>>();
  /** Echo every limit applied in telemetry this many ms later (null: only when a test says so). */
  autoEchoMs: number | null = null;
  /** While true the engine does not see the twin's changes (state before a restart). */
  quiet = false;
  /** While true the hub receives nothing (its connection is down). */
  deaf = false;
  /** Nodes (hub/node) whose limits the hub ignores. */
  readonly ignoring = new Set<string>();
  /** Power drawn per hub/node (default: the limit while charging, else 0). */
  readonly draw = new Map<string, number>();
  private readonly lastTel = new Map<string, number>();
  private readonly events: Array<{ at: number; seq: number; run: () => void }> = [];
  private seq = 0;

  constructor(private readonly config: Partial<DlmEngineConfig> = {}) {
    this.engine = new DlmEngine({ policy: 'equal', ...config });
  }

  /**
   * The orchestrator restarts (kill -9: nothing of its state survives but what it stored): a
   * new engine, restored from `stored` over the same twin. Its timers go with it.
   */
  restart(stored: readonly RestoredLimit[]): void {
    this.engine = new DlmEngine({ policy: 'equal', ...this.config });
    this.engine.restore(stored, this.view, this.now);
  }

  record(cmds: DlmCommand[]): DlmCommand[] {
    for (const c of cmds) {
      this.sent.push(c);
      const n = JSON.parse(JSON.stringify(commandToNotification(c, 'equal'))) as { new_limit: number };
      if (this.deaf || this.ignoring.has(`${c.hubId}/${c.nodeId}`)) continue;
      let m = this.atHub.get(c.hubId);
      if (!m) this.atHub.set(c.hubId, (m = new Map()));
      m.set(c.nodeId, n.new_limit);
      if (this.autoEchoMs !== null)
        this.at(this.now + this.autoEchoMs, () => this.telemetry(c.hubId, c.nodeId));
    }
    return cmds;
  }

  /** Schedules `run` at `at` (epoch ms). */
  at(at: number, run: () => void): void {
    this.events.push({ at, seq: this.seq++, run });
  }

  changes(changes: TwinChange[]): DlmCommand[] {
    if (this.quiet) return [];
    return this.record(this.engine.onChanges(changes, this.view, this.now));
  }

  msg(topic: string, payload: Record<string, unknown>, ts = this.now): DlmCommand[] {
    const r = decode(topic, { timestamp: formatTimestamp(ts), ...payload }, this.now);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
    return this.changes(this.twin.apply(r.msg, this.now));
  }

  info(hubId: string, capacityKw: number): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/info`, {
      hub_id: hubId,
      location: { latitude: 44.6, longitude: 10.9 },
      max_grid_capacity_kw: capacityKw,
      ip_address: '10.0.0.1',
      firmware_version: '1.0.0',
    });
  }

  hub(hubId: string, capacityKw: number, nodes: Record<string, number>): void {
    this.info(hubId, capacityKw);
    this.status(hubId, 'online');
    for (const [nodeId, max] of Object.entries(nodes)) {
      this.nodeInfo(hubId, nodeId, max);
      this.node(hubId, nodeId, 'idle');
    }
    this.settle();
  }

  nodeInfo(hubId: string, nodeId: string, maxKw: number): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/nodes/${nodeId}/info`, {
      node_id: nodeId,
      hub_id: hubId,
      max_power_kw: maxKw,
    });
  }

  status(hubId: string, state: 'online' | 'offline' | 'maintenance'): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/status`, { state, cpu_temp: 40 });
  }

  node(hubId: string, nodeId: string, state: string, vehicle: string | null = null): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/nodes/${nodeId}/status`, {
      state,
      current_vehicle_id: vehicle,
      error_code: state === 'faulted' ? 17 : 0,
    });
  }

  /** A vehicle's request for a node (through the twin, as the request path does). */
  request(hubId: string, nodeId: string, vehicleId: string, soc: number): DlmCommand[] {
    return this.msg(`iot/hubs/${hubId}/requests`, {
      vehicle_id: vehicleId,
      node_id: nodeId,
      soc_percent: soc,
    });
  }

  /** Node telemetry echoing the limit the hub applies (power: `drawKw`, else the draw set, else the limit). */
  telemetry(hubId: string, nodeId: string, drawKw?: number, limitKw?: number): DlmCommand[] {
    const limit = limitKw ?? this.atHub.get(hubId)?.get(nodeId) ?? 0;
    const key = `${hubId}/${nodeId}`;
    const state = this.twin.node(hubId, nodeId)?.state;
    const power = Math.min(350, drawKw ?? this.draw.get(key) ?? (state === 'charging' ? limit : 0));
    const ts = Math.max(this.now, (this.lastTel.get(key) ?? Number.NEGATIVE_INFINITY) + 1);
    this.lastTel.set(key, ts);
    return this.msg(
      `iot/hubs/${hubId}/nodes/${nodeId}/telemetry`,
      {
        voltage: 400,
        current: Math.min(500, (power * 1000) / 400),
        power_kw: power,
        power_limit_kw: limit,
        is_occupied: power > 0,
        connected_vehicle_id: 'n/a',
        current_vehicle_soc: 0,
      },
      ts,
    );
  }

  /** The hub reports every node every `everyMs` from now on (a hub that stays present). */
  keepAlive(hubId: string, everyMs = 2000): void {
    const beat = (): void => {
      this.echo(hubId);
      this.at(this.now + everyMs, beat);
    };
    this.at(this.now + everyMs, beat);
  }

  /** Telemetry of every node of the hub (or of every hub). */
  echo(hubId?: string): DlmCommand[] {
    const out: DlmCommand[] = [];
    for (const h of hubId === undefined ? this.twin.hubs().map((x) => x.hubId) : [hubId])
      for (const n of this.twin.nodesOf(h)) out.push(...this.telemetry(h, n.nodeId));
    return out;
  }

  vehicleSoc(vehicleId: string, soc: number): DlmCommand[] {
    return this.msg(`iot/vehicles/${vehicleId}/telemetry`, {
      geo_location: { latitude: 44.6, longitude: 10.9 },
      battery_level: soc,
      is_charging: true,
    });
  }

  /** An operator changes a hub's active switch / capacity override: the twin's hub-upserted change. */
  setHub(hubId: string, fields: HubFields): DlmCommand[] {
    const previous = this.view.hub(hubId) ?? null;
    this.view.hubFields.set(hubId, { ...this.view.hubFields.get(hubId), ...fields });
    const hub = this.view.hub(hubId) as HubView;
    return this.changes([{ type: 'hub-upserted', ts: this.now, hubId, created: false, hub, previous }]);
  }

  /** An operator sets a node's max power override: the twin's node-upserted change. */
  setNodeMax(hubId: string, nodeId: string, kw: number | null): DlmCommand[] {
    const raw = this.twin.node(hubId, nodeId) as NodeView;
    const previous = this.view.node(raw);
    this.view.nodeMax.set(`${hubId}/${nodeId}`, kw);
    const node = this.view.node(raw);
    return this.changes([
      { type: 'node-upserted', ts: this.now, hubId, nodeId, created: false, node, previous },
    ]);
  }

  /** Moves the clock to `until`, running scheduled events and the engine's wake-ups in time order. */
  private runUntil(until: number): DlmCommand[] {
    const out: DlmCommand[] = [];
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error('the engine keeps waking without progress');
      this.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const ev = this.events[0];
      const wake = this.engine.nextWakeMs();
      const t = Math.min(ev ? ev.at : Number.POSITIVE_INFINITY, wake ?? Number.POSITIVE_INFINITY);
      if (t > until) break;
      this.now = Math.max(this.now, t);
      if (ev && ev.at <= this.now) {
        this.events.shift();
        const before = this.sent.length;
        ev.run();
        out.push(...this.sent.slice(before));
      } else {
        out.push(...this.wake());
      }
    }
    this.now = Math.max(this.now, until);
    return out;
  }

  /** What the allocator node's timer does: twin tick, re-sends, due allocations. */
  private wake(): DlmCommand[] {
    const out = this.changes(this.twin.tick(this.now));
    out.push(...this.record(this.engine.tick(this.now)));
    out.push(...this.record(this.engine.due(this.view, this.now)));
    return out;
  }

  /** Advances the clock by `ms` and runs what is due at the end (twin tick, re-sends, allocations). */
  advance(ms: number): DlmCommand[] {
    const out = this.runUntil(this.now + ms);
    out.push(...this.wake());
    return out;
  }

  /** Lets `ms` pass, waking at every event and nextWakeMs on the way. */
  settle(ms = 200): DlmCommand[] {
    return this.advance(ms);
  }
}

export const brief = (cmds: DlmCommand[]): Array<[string, number, number, string]> =>
  cmds.map((c) => [c.nodeId, round(c.originalLimitKw), round(c.newLimitKw), c.reason]);
export const round = (x: number): number => Math.round(x * 1000) / 1000;
