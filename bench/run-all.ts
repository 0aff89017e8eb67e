/**
 * Runs every bench in bench/ one after another, each as its own child process
 * (`npx tsx bench/<name>.ts`), printing a header per bench, going on after a failure and
 * summarising at the end. Exit code 1 when a bench failed.
 *
 * Run: npx tsx bench/run-all.ts [--list] [--only name1,name2] [--timeout minutes]
 *
 * A bench is a top-level bench/*.ts file that names itself (`bench/<name>.ts`) in its header
 * comment; known ones run in the order below (in-process first, whole runtime last), any new
 * one after them in alphabetical order. Benches that start the runtime or Node-RED load the
 * nodes from dist/: build first (`npm run build`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');

/** Known benches, in run order: in-process and cheap first, whole-runtime ones last. */
const ORDER = [
  'contract',
  'allocation',
  'twin',
  'twin-memory',
  'recommend',
  'scenario-policies',
  'influx',
  'ingest-e2e',
  'dlm-latency',
  'influx-e2e',
  'api-http',
  'cluster-scale',
];

/** Node flags a bench needs (passed to tsx, which passes them to node). */
const NODE_FLAGS: Record<string, string[]> = {
  'twin-memory': ['--expose-gc'],
};

export function discover(dir = BENCH_DIR): string[] {
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run-all.ts')
    .map((f) => f.slice(0, -3))
    .filter((name) => {
      const head = fs.readFileSync(path.join(dir, `${name}.ts`), 'utf8').slice(0, 3000);
      return head.includes(`bench/${name}.ts`) || head.includes(`bench/${name}.js`);
    });
  const known = ORDER.filter((n) => names.includes(n));
  const others = names.filter((n) => !ORDER.includes(n)).sort();
  return [...known, ...others];
}

function commandOf(name: string): string[] {
  return ['npx', 'tsx', ...(NODE_FLAGS[name] ?? []), `bench/${name}.ts`];
}

interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

let current: ReturnType<typeof spawn> | undefined;
let interrupted = false;

function killGroup(signal: NodeJS.Signals): void {
  const pid = current?.pid;
  if (pid === undefined || current?.exitCode !== null) return;
  try {
    process.kill(-pid, signal); // the bench and whatever it started (runtime, servers)
  } catch {
    /* already gone */
  }
}

function runOne(name: string, timeoutMs: number): Promise<Outcome> {
  const [cmd, ...args] = commandOf(name);
  const t0 = Date.now();
  return new Promise((resolve) => {
    // The node that runs this script runs the benches too (npx → tsx → node from PATH).
    const env = {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    };
    const child = spawn(cmd!, args, { cwd: ROOT, env, stdio: 'inherit', detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\n[run-all] ${name}: no end after ${timeoutMs / 60000} min, stopping it`);
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 30000).unref();
    }, timeoutMs);
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      current = undefined;
      resolve({ name, ok, detail, seconds: (Date.now() - t0) / 1000 });
    };
    child.once('error', (e) => done(false, `could not start: ${e.message}`));
    child.once('exit', (code, signal) => {
      if (timedOut) done(false, `timed out after ${timeoutMs / 60000} min`);
      else if (code === 0) done(true, 'ok');
      else done(false, signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const val = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const all = discover();
  if (argv.includes('--list')) {
    for (const n of all) console.log(`${n.padEnd(20)} ${commandOf(n).join(' ')}`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: npx tsx bench/run-all.ts [--list] [--only name1,name2] [--timeout minutes]');
    return 0;
  }
  let names = all;
  const only = val('--only');
  if (only !== undefined) {
    const wanted = only
      .split(',')
      .map((s) => s.trim().replace(/\.ts$/, ''))
      .filter(Boolean);
    const unknown = wanted.filter((n) => !all.includes(n));
    if (unknown.length || wanted.length === 0) {
      console.error(`unknown bench: ${unknown.join(', ') || '(none given)'}; known: ${all.join(', ')}`);
      return 2;
    }
    names = all.filter((n) => wanted.includes(n)); // the usual order, not the order given
  }
  const timeoutMin = Number(val('--timeout') ?? 20);
  const timeoutMs = (Number.isFinite(timeoutMin) && timeoutMin > 0 ? timeoutMin : 20) * 60000;

  const cpus = os.cpus();
  console.log(
    `[run-all] ${names.length} bench(es): ${names.join(', ')}\n[run-all] machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, node ${process.version}`,
  );
  const outcomes: Outcome[] = [];
  for (const [i, name] of names.entries()) {
    if (interrupted) break;
    const load = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ');
    const bar = '='.repeat(78);
    console.log(`\n${bar}\n[run-all] ${i + 1}/${names.length} ${name}: ${commandOf(name).join(' ')}`);
    console.log(`[run-all] ${new Date().toISOString()}, load average ${load}\n${bar}`);
    const o = await runOne(name, timeoutMs);
    outcomes.push(o);
    console.log(`[run-all] ${name}: ${o.ok ? 'ok' : `FAILED (${o.detail})`} in ${o.seconds.toFixed(1)} s`);
  }

  console.log('\n[run-all] summary');
  for (const o of outcomes)
    console.log(
      `  ${o.ok ? 'ok    ' : 'FAILED'} ${o.name.padEnd(20)} ${o.seconds.toFixed(1).padStart(7)} s  ${o.ok ? '' : o.detail}`,
    );
  const skipped = names.filter((n) => !outcomes.some((o) => o.name === n));
  if (skipped.length) console.log(`  not run (interrupted): ${skipped.join(', ')}`);
  const failed = outcomes.filter((o) => !o.ok);
  console.log(
    failed.length
      ? `[run-all] ${failed.length} of ${outcomes.length} failed: ${failed.map((o) => o.name).join(', ')}`
      : `[run-all] all ${outcomes.length} passed`,
  );
  console.log('[run-all] tables written by the benches: bench/results/*.md');
  return failed.length || skipped.length ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true;
    console.error(`\n[run-all] ${sig}: stopping the running bench`);
    killGroup(sig);
  });
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
