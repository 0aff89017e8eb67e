/**
 * A simulated day at one hub, comparing allocation policies. Prints a markdown table
 * and writes it to bench/results/scenario-policies.md. Figures only, no assertions.
 * Run: npx tsx bench/scenario-policies.ts [seed]
 *
 * Hub: 150 kW, 6 pads of 50–78 kW; capacity drops to 90 kW from 17:00 to 19:00.
 * Vehicles (seeded PRNG, the same stream for every policy) arrive over the day, queue
 * FIFO when every pad is busy (and give up after 45 min), charge, and leave at their
 * target SoC. A vehicle draws min(limit applied at the pad, what it accepts); acceptance
 * tapers above 80 % SoC. 5 % are priority vehicles; a vehicle is critical below 20 % SoC
 * (leaves the class at ≥ 22 %, hysteresis).
 *
 * Hub model: limit changes reach the hub in publish order over one topic; the hub
 * applies a fixed number of changes per second (run twice: 1/s, a slow hub, and 10/s);
 * every pad reports its applied limit every 2 s. Simulated in 1 s steps; our scheduler's
 * 50 ms coalescing window is served within the same step.
 *
 * Policies: ours (equal / soc-priority: DlmScheduler + allocate + HubLimitController,
 * break before make, demand = what the vehicle accepts), and the original system's two
 * as baselines, recomputed on every event and every 5 s over the charging pads:
 * (a) equal split of C capped at pad max, no redistribution; (b) split of C in
 * proportion to 100 − SoC, capped at pad max, no redistribution. Baselines publish all
 * changes at once in pad order and leave idle pads at their last limit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allocate, DlmScheduler, HubLimitController, WIRE_RESOLUTION_KW } from '../core/dlm';
import type { AllocInput, DlmCommand, Policy, TriggerReason } from '../core/dlm';
import { mulberry32 } from '../sim/prng';

const seed = Number(process.argv[2] ?? 7);
const DAY_S = 24 * 3600;
const BASE_CAPACITY = 150;
const DROP = { from: 17 * 3600, to: 19 * 3600, kw: 90 };
const PADS = [50, 55, 62.5, 70, 78, 78];
const CRITICAL_SOC = 20;
const CRITICAL_EXIT_SOC = 22;
const QUEUE_PATIENCE_S = 45 * 60;
const TELEMETRY_S = 2;
const DROP_TRANSIENT_S = 60;

interface Arrival {
  id: string;
  at: number;
  batteryKwh: number;
  soc: number;
  targetSoc: number;
  maxAcceptKw: number;
  priority: boolean;
}

/** Vehicles per hour over the day: quiet night, morning and evening peaks. */
const RATE_PER_HOUR = [
  0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 5, 6, 5, 4, 3.5, 4, 4, 3.5, 4, 5, 6.5, 6, 5, 3.5, 2, 1, 0.7,
];

function arrivals(rand: () => number): Arrival[] {
  const out: Arrival[] = [];
  let t = 0;
  const maxRate = Math.max(...RATE_PER_HOUR) / 3600;
  for (let n = 0; ;) {
    t += -Math.log(1 - rand()) / maxRate; // thinning of a non-homogeneous Poisson process
    if (t >= DAY_S) break;
    if (rand() > (RATE_PER_HOUR[Math.floor(t / 3600)] as number) / 3600 / maxRate) continue;
    n += 1;
    out.push({
      id: `v${String(n).padStart(3, '0')}`,
      at: Math.floor(t),
      batteryKwh: 40 + rand() * 60,
      soc: 5 + rand() * 45,
      targetSoc: 80 + rand() * 15,
      maxAcceptKw: 40 + rand() * 110,
      priority: rand() < 0.05,
    });
  }
  return out;
}

/** What the vehicle accepts at this SoC: full up to 80 %, then linearly down to 20 % at 100 %. */
function acceptKw(v: Arrival, soc: number): number {
  const f = soc <= 80 ? 1 : 1 - (0.8 * (soc - 80)) / 20;
  return v.maxAcceptKw * Math.max(0.2, f);
}

interface Metrics {
  energyKwh: number;
  usedKws: number;
  usableKws: number;
  capacityKws: number;
  overSteadyKws: number;
  overDropKws: number;
  criticalExitS: number[];
  jainWeighted: number;
  jainTime: number;
  served: number;
  gaveUp: number;
  waitS: number[];
  messages: number;
}

type PolicyName = 'ours-equal' | 'ours-soc-priority' | 'original-equal' | 'original-soc-weighted';

function simulate(policy: PolicyName, cars: Arrival[], changesPerS: number): Metrics {
  const m: Metrics = {
    energyKwh: 0,
    usedKws: 0,
    usableKws: 0,
    capacityKws: 0,
    overSteadyKws: 0,
    overDropKws: 0,
    criticalExitS: [],
    jainWeighted: 0,
    jainTime: 0,
    served: 0,
    gaveUp: 0,
    waitS: [],
    messages: 0,
  };
  const ours = policy.startsWith('ours');
  const ourPolicy: Policy = policy === 'ours-soc-priority' ? 'soc-priority' : 'equal';
  const hubId = 'hub_sim';
  const nodeIds = PADS.map((_, i) => `node_${String(i + 1).padStart(2, '0')}`);
  const ctrl = new HubLimitController(hubId, { capacityKw: BASE_CAPACITY, minChangeKw: 0.5 });
  const sched = new DlmScheduler({ coalesceMs: 50, rebalanceS: 5 });
  sched.track(hubId, 0);
  interface PadState {
    car: Arrival | null;
    soc: number;
    critical: boolean;
    pluggedAt: number;
    criticalSince: number | null;
  }
  const pads: PadState[] = PADS.map(() => ({
    car: null,
    soc: 0,
    critical: false,
    pluggedAt: 0,
    criticalSince: null,
  }));
  const applied = PADS.map(() => 0); // limit applied at the pad
  const sentBaseline = PADS.map(() => 0); // last limit a baseline published
  const inbox: Array<{ node: number; kw: number }> = [];
  const queue: Arrival[] = [];
  let next = 0;
  let capacity = BASE_CAPACITY;
  let lastDropAt = Number.NEGATIVE_INFINITY;
  const publish = (cmds: DlmCommand[]) => {
    for (const c of cmds) inbox.push({ node: nodeIds.indexOf(c.nodeId), kw: c.newLimitKw });
    m.messages += cmds.length;
  };
  const baselineAllocate = () => {
    const active = pads.map((p, i) => (p.car ? i : -1)).filter((i) => i >= 0);
    const weights = active.map((i) =>
      policy === 'original-equal' ? 1 : Math.max(1, 100 - Math.round((pads[i] as PadState).soc)),
    );
    const wSum = weights.reduce((s, w) => s + w, 0);
    active.forEach((i, k) => {
      const kw = Math.min(PADS[i] as number, (capacity * (weights[k] as number)) / wSum);
      if (Math.abs(kw - (sentBaseline[i] as number)) > 1e-9) {
        sentBaseline[i] = kw;
        inbox.push({ node: i, kw });
        m.messages += 1;
      }
    });
  };
  const trigger = (reason: TriggerReason, now: number) => {
    if (ours) sched.trigger(hubId, reason, now * 1000);
    else baselineAllocate();
  };

  for (let t = 0; t < DAY_S; t++) {
    // Capacity schedule.
    const cap = t >= DROP.from && t < DROP.to ? DROP.kw : BASE_CAPACITY;
    if (cap !== capacity) {
      if (cap < capacity) lastDropAt = t;
      capacity = cap;
      ctrl.setCapacity(cap);
      trigger('CAPACITY_CHANGED', t);
    }
    // Arrivals and queue → free pads.
    while (next < cars.length && (cars[next] as Arrival).at <= t) queue.push(cars[next++] as Arrival);
    for (let q = queue.length - 1; q >= 0; q--) {
      if (t - (queue[q] as Arrival).at > QUEUE_PATIENCE_S) {
        queue.splice(q, 1);
        m.gaveUp += 1;
      }
    }
    for (let i = 0; i < pads.length && queue.length > 0; i++) {
      const p = pads[i] as PadState;
      if (p.car) continue;
      const car = queue.shift() as Arrival;
      m.waitS.push(t - car.at);
      p.car = car;
      p.soc = car.soc;
      p.pluggedAt = t;
      p.critical = car.priority || car.soc < CRITICAL_SOC;
      p.criticalSince = car.soc < CRITICAL_SOC ? t : null;
      trigger('VEHICLE_CONNECTED', t);
    }
    // Our scheduler: allocate when due.
    if (ours) {
      for (const due of sched.due(t * 1000 + 999)) {
        const nodes: AllocInput[] = [];
        pads.forEach((p, i) => {
          if (p.car) {
            nodes.push({
              nodeId: nodeIds[i] as string,
              maxPowerKw: PADS[i] as number,
              demandKw: acceptKw(p.car, p.soc),
              soc: p.soc,
              critical: p.critical,
            });
          }
        });
        const target = allocate(capacity, nodes, {
          policy: ourPolicy,
          reserve: 0,
          resolutionKw: WIRE_RESOLUTION_KW,
        });
        publish(ctrl.apply(target, due.reason, t * 1000));
      }
      publish(ctrl.tick(t * 1000));
    } else if (t % 5 === 0) {
      baselineAllocate();
    }
    // The hub applies `changesPerS` changes per second, in publish order.
    for (let k = 0; k < changesPerS; k++) {
      const msg = inbox.shift();
      if (msg && msg.node >= 0) applied[msg.node] = msg.kw;
    }
    // Telemetry: pads report their applied limit.
    if (ours && t % TELEMETRY_S === 0) {
      for (let i = 0; i < pads.length; i++)
        publish(ctrl.confirm(nodeIds[i] as string, applied[i] as number, t * 1000));
    }
    // Physics for this second.
    let load = 0;
    let demandSum = 0;
    const shares: number[] = [];
    let weightedNormal = 0;
    for (let i = 0; i < pads.length; i++) {
      const p = pads[i] as PadState;
      if (!p.car) continue;
      const accept = Math.min(PADS[i] as number, acceptKw(p.car, p.soc));
      const kw = Math.min(applied[i] as number, accept);
      load += kw;
      demandSum += accept;
      if (!p.critical) {
        shares.push(kw / accept);
        weightedNormal += 1;
      }
      p.soc += (kw / 3600 / p.car.batteryKwh) * 100;
    }
    m.energyKwh += load / 3600;
    m.usedKws += load;
    m.usableKws += Math.min(capacity, demandSum);
    m.capacityKws += capacity;
    const over = Math.max(0, load - capacity);
    if (t - lastDropAt < DROP_TRANSIENT_S) m.overDropKws += over;
    else m.overSteadyKws += over;
    if (weightedNormal >= 2) {
      const s1 = shares.reduce((s, x) => s + x, 0);
      const s2 = shares.reduce((s, x) => s + x * x, 0);
      m.jainWeighted += s2 > 0 ? (s1 * s1) / (shares.length * s2) : 1;
      m.jainTime += 1;
    }
    // Class changes and departures.
    for (let i = 0; i < pads.length; i++) {
      const p = pads[i] as PadState;
      if (!p.car) continue;
      if (p.criticalSince !== null && p.soc >= CRITICAL_SOC) {
        m.criticalExitS.push(t + 1 - p.criticalSince);
        p.criticalSince = null;
      }
      if (p.critical && !p.car.priority && p.soc >= CRITICAL_EXIT_SOC) {
        p.critical = false;
        trigger('PRIORITY_SHIFT', t);
      }
      if (p.soc >= p.car.targetSoc) {
        m.served += 1;
        p.car = null;
        trigger('CHARGING_COMPLETE', t);
      }
    }
  }
  return m;
}

const cars = arrivals(mulberry32(seed).next);
const policies: PolicyName[] = ['ours-equal', 'ours-soc-priority', 'original-equal', 'original-soc-weighted'];
const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
const header = [
  'policy',
  'energy kWh',
  'used / usable',
  'used / C',
  'kW·s above C',
  'kW·s above C, 60 s after the drop',
  'min. to leave critical',
  'Jain (normal class)',
  'served / gave up',
  'mean wait min',
  'limit messages',
];
const tables: string[] = [];
for (const changesPerS of [1, 10]) {
  const rows = policies.map((p) => {
    const m = simulate(p, cars, changesPerS);
    return [
      p,
      m.energyKwh.toFixed(0),
      `${((100 * m.usedKws) / m.usableKws).toFixed(1)} %`,
      `${((100 * m.usedKws) / m.capacityKws).toFixed(1)} %`,
      m.overSteadyKws.toFixed(0),
      m.overDropKws.toFixed(0),
      (mean(m.criticalExitS) / 60).toFixed(1),
      m.jainTime > 0 ? (m.jainWeighted / m.jainTime).toFixed(3) : 'n/a',
      `${m.served} / ${m.gaveUp}`,
      (mean(m.waitS) / 60).toFixed(1),
      String(m.messages),
    ];
  });
  tables.push(
    [
      `## Hub applying ${changesPerS} limit change${changesPerS === 1 ? '' : 's'} per second`,
      '',
      `| ${header.join(' | ')} |`,
      `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
    ].join('\n'),
  );
}
const text = [
  '# Policies over a simulated day at one hub',
  '',
  `Command: \`npx tsx bench/scenario-policies.ts ${seed}\` (seed ${seed}); node ${process.version}.`,
  `Hub ${BASE_CAPACITY} kW, pads ${PADS.join(' / ')} kW, capacity ${DROP.kw} kW from 17:00 to 19:00; ${cars.length} vehicles arrive.`,
  '',
  ...tables,
  '- used / usable: energy drawn ÷ ∫ min(C, Σ what the plugged-in vehicles accept) — 100 % means no stranded capacity.',
  '- kW·s above C: ∫ max(0, load − C), outside the first 60 s after a capacity drop; the next column is that window',
  '  (a drop is a step no controller can follow before the hub applies the decreases).',
  '- min. to leave critical: mean time from plug-in to SoC ≥ 20 % for vehicles arriving below 20 %.',
  '- Jain (normal class): time-averaged Jain index of power ÷ min(pad max, acceptance) over normal-class vehicles',
  '  (1 = everyone gets the same share of what they could take; soc-priority is unequal on purpose).',
  '- Hub model: changes applied in publish order at the rate in the heading; pads report applied limits every 2 s.',
  '- The original policies publish every change at once in pad order: an increase can land before the decrease',
  '  that makes room for it. Ours publishes decreases first and holds increases until the hub confirms.',
  '',
].join('\n');
console.log(text);
const out = path.join(__dirname, 'results', 'scenario-policies.md');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, text);
console.log(`written to ${path.relative(process.cwd(), out)}`);
