#!/usr/bin/env node
// Fleet simulator CLI: `node dist/sim/cli.js --url mqtt://127.0.0.1:1883 --hubs 3 --nodes 4 --vehicles 20 --seed 1`
import { parseArgs } from 'node:util';
import { DEMO_TIMELINE, demoFleet } from './demo';
import type { DeviceBehaviour } from './options';
import {
  startSimulator,
  summaryLine,
  type ScheduledFault,
  type SimulatorOptions,
  type StopOptions,
} from './runner';

export const HELP = `Usage: wpt-sim [options]

Simulates charging hubs, their nodes and a fleet of vehicles over MQTT, speaking the
WPT-DLM contract: hubs publish info/status/telemetry, vehicles drive, arrive (publishing a
VehicleRequest), charge at the limit in force and leave; hubs obey iot/hubs/+/dlm/events.
Each hub has an MQTT client of its own ({client-id}-{hub}); the vehicles share one.

Options:
  --url <url>            MQTT broker (default $MQTT_URL or mqtt://127.0.0.1:1883)
                         credentials from $MQTT_USERNAME / $MQTT_PASSWORD
  --demo                 the demo fleet and script (below); --seed and --prefix apply,
                         the other fleet options do not
  --hubs <n>             number of hubs (default 3)
  --nodes <n>            nodes per hub (default 4)
  --vehicles <n>         fleet size (default 20)
  --seed <n>             random seed (default 1)
  --speed <x>            fleet time multiplier: charging, driving, arrivals (default 1)
  --period <ms>          node telemetry period (default 2000)
  --rate <n>             vehicle arrivals per hub and simulated hour (default 12)
  --max-power <kW>       node max power (default 78)
  --capacity <kW>        hub grid capacity (default 60 % of its nodes' max power)
  --initial-limit <kW>   limit in force at every node on start and after a restart
                         (default its max power)
  --noise <kW>           jitter of reported power_kw (default 0)
  --prefix <text>        prefix of hub and vehicle ids (default none)
  --duration <s>         stop after this many seconds (default: run until Ctrl-C)
  --offline-on-exit      publish a retained "offline" status for every hub when stopping
  --clear-on-exit        clear the retained info/status topics when stopping

How the hubs behave as devices (every hub):
  --echo-delay <ms>      publish a node's telemetry this long after applying a DLM event
                         (default: only in the periodic telemetry)
  --limit-decimals <n>   apply (and echo) limits at this many decimals, 0..6 (default exact)
  --limit-rounding <m>   nearest, up or down (default nearest; with --limit-decimals)
  --draw-fraction <f>    pads draw this share of their limit, 0..1 (default 1)
  --ignore-limits        pads draw their max power whatever their limit
  --ignore-events        hubs drop DLM events (keep their limits)
  --session <s>          clean or persistent MQTT session of the hubs' clients (default clean;
                         persistent: the broker keeps what is sent to a hub while it is away)
  --client-id <id>       base MQTT client id (default wpt-sim-<random>); fix it for
                         persistent sessions across runs
  --connection <c>       per-hub (default) or shared (one client for the whole fleet)
  --drop <hub>:<at>:<for>       cut that hub's connection <at> s after the start for <for> s
                                (repeatable)
  --restart <hub>:<at>[:<down>] restart that hub <at> s after the start, down <down> s
                                (default 0; repeatable)
  -h, --help             show this help

Prints a one-line summary every 10 s.

${DEMO_TIMELINE}
`;

function num(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: not a number: '${v}'`);
  return n;
}

export interface CliOptions {
  sim: SimulatorOptions;
  /** Stop after this many seconds. */
  durationS?: number;
  stop: StopOptions;
}

const FLEET_FLAGS = [
  'hubs',
  'nodes',
  'vehicles',
  'speed',
  'period',
  'rate',
  'max-power',
  'capacity',
  'initial-limit',
  'noise',
] as const;

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`--${name}: one of ${allowed.join(', ')}, not '${v}'`);
  return v as T;
}

/** `hub:at[:for]` of --drop / --restart (seconds). */
function faultOf(kind: 'drop' | 'restart', spec: string): ScheduledFault {
  const parts = spec.split(':');
  const [hubId, at, len] = parts;
  const bad = (): Error =>
    new Error(
      `--${kind}: expected <hub>:<at s>${kind === 'drop' ? ':<for s>' : '[:<down s>]'}, not '${spec}'`,
    );
  if (!hubId || at === undefined || parts.length > 3 || (kind === 'drop' && len === undefined)) throw bad();
  const atMs = num(kind, at, 0) * 1000;
  const lenMs = num(kind, len, 0) * 1000;
  if (atMs < 0 || lenMs < 0) throw bad();
  return kind === 'drop' ? { kind, hubId, atMs, forMs: lenMs } : { kind, hubId, atMs, downMs: lenMs };
}

/** The options of a command line, or 'help'. Throws an Error with a message on bad input. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      demo: { type: 'boolean' },
      hubs: { type: 'string' },
      nodes: { type: 'string' },
      vehicles: { type: 'string' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      period: { type: 'string' },
      rate: { type: 'string' },
      'max-power': { type: 'string' },
      capacity: { type: 'string' },
      'initial-limit': { type: 'string' },
      noise: { type: 'string' },
      prefix: { type: 'string' },
      duration: { type: 'string' },
      'offline-on-exit': { type: 'boolean' },
      'clear-on-exit': { type: 'boolean' },
      'echo-delay': { type: 'string' },
      'limit-decimals': { type: 'string' },
      'limit-rounding': { type: 'string' },
      'draw-fraction': { type: 'string' },
      'ignore-limits': { type: 'boolean' },
      'ignore-events': { type: 'boolean' },
      session: { type: 'string' },
      'client-id': { type: 'string' },
      connection: { type: 'string' },
      drop: { type: 'string', multiple: true },
      restart: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const url = values.url ?? env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  const seed = num('seed', values.seed, 1);
  const idPrefix = values.prefix ?? '';
  let opts: SimulatorOptions;
  if (values.demo) {
    const mixed = FLEET_FLAGS.filter((f) => values[f] !== undefined);
    if (mixed.length)
      throw new Error(`--${mixed[0]} cannot be used with --demo (the demo has its own fleet)`);
    opts = { url, ...demoFleet({ seed, idPrefix }) };
  } else {
    opts = {
      url,
      hubs: num('hubs', values.hubs, 3),
      nodesPerHub: num('nodes', values.nodes, 4),
      vehicles: num('vehicles', values.vehicles, 20),
      seed,
      speed: num('speed', values.speed, 1),
      telemetryPeriodMs: num('period', values.period, 2000),
      arrivalsPerHour: num('rate', values.rate, 12),
      nodeMaxPowerKw: num('max-power', values['max-power'], 78),
      noiseKw: num('noise', values.noise, 0),
      idPrefix,
    };
    if (values.capacity !== undefined) opts.hubCapacityKw = num('capacity', values.capacity, 0);
    if (values['initial-limit'] !== undefined)
      opts.initialLimitKw = num('initial-limit', values['initial-limit'], 0);
  }
  const device: DeviceBehaviour = {};
  if (values['echo-delay'] !== undefined) device.echoDelayMs = num('echo-delay', values['echo-delay'], 0);
  const mode = oneOf('limit-rounding', values['limit-rounding'], ['nearest', 'up', 'down'] as const);
  if (values['limit-decimals'] !== undefined) {
    device.limitRounding = {
      decimals: num('limit-decimals', values['limit-decimals'], 0),
      mode: mode ?? 'nearest',
    };
  } else if (mode !== undefined) throw new Error('--limit-rounding needs --limit-decimals');
  if (values['draw-fraction'] !== undefined)
    device.drawFraction = num('draw-fraction', values['draw-fraction'], 1);
  if (values['ignore-limits']) device.ignoreLimit = true;
  if (values['ignore-events']) device.ignoreEvents = true;
  const session = oneOf('session', values.session, ['clean', 'persistent'] as const);
  if (session) device.session = session;
  if (Object.keys(device).length) opts.device = device;
  const connection = oneOf('connection', values.connection, ['per-hub', 'shared'] as const);
  if (connection) opts.connection = connection;
  if (values['client-id'] !== undefined) opts.clientId = values['client-id'];
  const faults = [
    ...(values.drop ?? []).map((f) => faultOf('drop', f)),
    ...(values.restart ?? []).map((f) => faultOf('restart', f)),
  ];
  if (faults.length) opts.faults = faults;
  if (env.MQTT_USERNAME) opts.username = env.MQTT_USERNAME;
  if (env.MQTT_PASSWORD) opts.password = env.MQTT_PASSWORD;
  const out: CliOptions = {
    sim: opts,
    stop: { offline: values['offline-on-exit'] === true, clearRetained: values['clear-on-exit'] === true },
  };
  if (values.duration !== undefined) out.durationS = num('duration', values.duration, 0);
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let cli: CliOptions | 'help';
  try {
    cli = parseCli(argv);
  } catch (err) {
    console.error(`wpt-sim: ${(err as Error).message} (see wpt-sim --help)`);
    process.exitCode = 2;
    return;
  }
  if (cli === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { sim: opts, durationS, stop: stopOpts } = cli;
  let sim;
  try {
    sim = await startSimulator(opts);
  } catch (err) {
    console.error(`wpt-sim: cannot start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const running = sim;
  const hubs = running.model.hubs();
  console.log(
    `[sim] ${hubs.length} hubs × ${hubs[0]?.nodeIds.length ?? 0} nodes, ${running.model.vehicles().length} vehicles` +
      ` on ${opts.url} (seed ${opts.seed}, speed ${opts.speed})`,
  );
  if (argv.includes('--demo')) console.log(DEMO_TIMELINE);
  const summary = setInterval(() => console.log(summaryLine(running.stats())), 10000);
  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(summary);
    console.log(`[sim] ${why}: stopping`);
    running
      .stop(stopOpts)
      .then(() => console.log(summaryLine(running.stats())))
      .catch((err: unknown) => {
        console.error(`[sim] error while stopping: ${(err as Error).message}`);
        process.exitCode = 1;
      });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  if (durationS !== undefined) setTimeout(() => shutdown(`${durationS} s elapsed`), durationS * 1000).unref();
}

if (require.main === module) void main();
