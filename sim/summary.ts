/** The running simulator's figures, and the one-line summary the CLI prints. */
import type { LinkCounters } from './links';
import type { FleetModel } from './model';
import type { FleetCounters, HubMode } from './types';

export interface HubStats {
  id: string;
  mode: HubMode;
  capacityKw: number;
  sumOfLimitsKw: number;
  loadKw: number;
  /** Nodes with a vehicle connected (charging or full). */
  occupied: number;
  nodes: number;
  /** Its MQTT connection is up (per hub: its own client; shared: the fleet's). */
  linkUp: boolean;
}

export interface SimulatorStats {
  /** Every MQTT client of the simulator is connected. */
  connected: boolean;
  uptimeMs: number;
  published: number;
  publishErrors: number;
  /** Not published because a connection was cut (QoS 0, or QoS 1 beyond the queue). */
  droppedWhileCut: number;
  /** QoS 1 messages kept while a connection was cut and sent when it came back. */
  queuedWhileCut: number;
  received: number;
  applied: number;
  ignored: number;
  rejected: number;
  fleet: FleetCounters;
  hubs: HubStats[];
}

interface LinkView {
  readonly connected: boolean;
  readonly counters: LinkCounters;
}

export function summarize(
  model: FleetModel,
  r: {
    connected: boolean;
    uptimeMs: number;
    received: number;
    applied: number;
    ignored: number;
    rejected: number;
    links: readonly LinkView[];
    linkOf: (hubId: string) => LinkView;
  },
): SimulatorStats {
  const sum = (k: keyof LinkCounters): number => r.links.reduce((s, l) => s + l.counters[k], 0);
  return {
    connected: r.connected,
    uptimeMs: r.uptimeMs,
    published: sum('published'),
    publishErrors: sum('publishErrors'),
    droppedWhileCut: sum('droppedWhileCut'),
    queuedWhileCut: sum('queuedWhileCut'),
    received: r.received,
    applied: r.applied,
    ignored: r.ignored,
    rejected: r.rejected,
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
        linkUp: r.linkOf(h.id).connected,
      };
    }),
  };
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
