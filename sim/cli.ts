#!/usr/bin/env node
// Fleet simulator CLI: `node dist/sim/cli.js --url mqtt://127.0.0.1:1883 --hubs 3 --nodes 4 --vehicles 20 --seed 1`
import { parseArgs } from 'node:util';
import { startSimulator, summaryLine, type SimulatorOptions, type StopOptions } from './runner';

export const HELP = `Usage: wpt-sim [options]

Simulates charging hubs, their nodes and a fleet of vehicles over MQTT, speaking the
WPT-DLM contract: hubs publish info/status/telemetry, vehicles drive, arrive (publishing a
VehicleRequest), charge at the limit in force and leave; hubs obey iot/hubs/+/dlm/events.

Options:
  --url <url>            MQTT broker (default $MQTT_URL or mqtt://127.0.0.1:1883)
                         credentials from $MQTT_USERNAME / $MQTT_PASSWORD
  --hubs <n>             number of hubs (default 3)
  --nodes <n>            nodes per hub (default 4)
  --vehicles <n>         fleet size (default 20)
  --seed <n>             random seed (default 1)
  --speed <x>            fleet time multiplier: charging, driving, arrivals (default 1)
  --period <ms>          node telemetry period (default 2000)
  --rate <n>             vehicle arrivals per hub and simulated hour (default 12)
  --max-power <kW>       node max power (default 78)
  --capacity <kW>        hub grid capacity (default 60 % of its nodes' max power)
  --initial-limit <kW>   limit in force at every node on start (default its max power)
  --noise <kW>           jitter of reported power_kw (default 0)
  --prefix <text>        prefix of hub and vehicle ids (default none)
  --duration <s>         stop after this many seconds (default: run until Ctrl-C)
  --offline-on-exit      publish a retained "offline" status for every hub when stopping
  --clear-on-exit        clear the retained info/status topics when stopping
  -h, --help             show this help

Prints a one-line summary every 10 s.
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

/** The options of a command line, or 'help'. Throws an Error with a message on bad input. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const opts: SimulatorOptions = {
    url: values.url ?? env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    hubs: num('hubs', values.hubs, 3),
    nodesPerHub: num('nodes', values.nodes, 4),
    vehicles: num('vehicles', values.vehicles, 20),
    seed: num('seed', values.seed, 1),
    speed: num('speed', values.speed, 1),
    telemetryPeriodMs: num('period', values.period, 2000),
    arrivalsPerHour: num('rate', values.rate, 12),
    nodeMaxPowerKw: num('max-power', values['max-power'], 78),
    noiseKw: num('noise', values.noise, 0),
    idPrefix: values.prefix ?? '',
  };
  if (values.capacity !== undefined) opts.hubCapacityKw = num('capacity', values.capacity, 0);
  if (values['initial-limit'] !== undefined)
    opts.initialLimitKw = num('initial-limit', values['initial-limit'], 0);
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
    console.error(`wpt-sim: ${(err as Error).message}\n\n${HELP}`);
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
