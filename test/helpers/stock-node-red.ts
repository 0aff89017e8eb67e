// Stock Node-RED, as an integrator has it: installed from npm (cached between runs, one
// install per Node-RED version and Node.js major), a user dir with the packed package installed
// as the palette manager installs it, started with Node-RED's default settings as a child
// process whose log is kept. Used by test/integration/integrator.test.ts and package.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { freePort } from '../../runtime/free-port';
import { ROOT } from './runtime';
import { until } from './wait';

/** The arguments Node-RED's palette manager gives `npm install` (@node-red/registry installer). */
export const PALETTE_INSTALL_ARGS = [
  '--no-audit',
  '--no-update-notifier',
  '--no-fund',
  '--save',
  '--save-prefix=~',
  '--omit=dev',
  '--engine-strict',
];

/** Where Node-RED installs are kept between runs. */
export const CACHE_DIR =
  process.env.WPT_NODE_RED_CACHE || path.join(os.homedir(), '.cache', 'wpt-dlm', 'node-red');

/** Version of a Node.js binary (e.g. 'v20.20.2'), or null when it does not run. */
export function nodeVersion(bin: string): string | null {
  try {
    return execFileSync(bin, ['-v'], { encoding: 'utf8', timeout: 10000 }).trim();
  } catch {
    return null;
  }
}

/**
 * A Node.js binary of the given major: WPT_NODE<major>, this process's own node, /usr/bin/node,
 * /opt/node<major>/package/bin/node (where .ci/run installs them). Null with the places tried.
 */
export function findNode(major: number): { bin: string; version: string } | { missing: string } {
  const candidates = [
    process.env[`WPT_NODE${major}`],
    process.execPath,
    '/usr/bin/node',
    `/opt/node${major}/package/bin/node`,
  ].filter((c): c is string => !!c);
  for (const bin of candidates) {
    const v = fs.existsSync(bin) ? nodeVersion(bin) : null;
    if (v && v.startsWith(`v${major}.`)) return { bin, version: v };
  }
  return { missing: `no Node.js ${major} (tried ${candidates.join(', ')}; set WPT_NODE${major})` };
}

/**
 * npm's CLI script (npm-cli.js): the npm installed beside a Node.js binary on PATH (not one from
 * a node_modules/.bin, such as the copy Node-RED depends on). Run it with any Node.js binary.
 */
export function npmCli(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || dir.split(path.sep).includes('node_modules')) continue;
    const npmBin = path.join(dir, 'npm');
    if (!fs.existsSync(npmBin)) continue;
    const real = fs.realpathSync(npmBin);
    // bin/npm is a link to npm-cli.js in some layouts, a shell script beside it in others.
    const cli = real.endsWith('npm-cli.js') ? real : path.join(path.dirname(real), 'npm-cli.js');
    if (fs.existsSync(cli)) return cli;
  }
  throw new Error('npm not found on PATH');
}

/**
 * Runs npm with the given Node.js binary (engine checks and install scripts see that Node.js),
 * without the npm_* variables of the npm that started the tests (they would point it at this
 * repository), with no standard input. Rejects with its output when it fails or times out.
 */
export function npm(node: string, args: string[], cwd: string, timeoutMs = 300000): Promise<string> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  return new Promise((resolve, reject) => {
    const p = spawn(node, [npmCli(), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.once('exit', (code, signal) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else {
        const why = signal ? `killed (${signal}) after ${timeoutMs} ms` : `exit code ${code}`;
        reject(new Error(`npm ${args.join(' ')} (in ${cwd}): ${why}\n${out}`));
      }
    });
  });
}

/** `npm pack` of this repository into `dir` (after building when a source is newer than dist/). */
export async function packPackage(dir: string): Promise<string> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  const out = await npm(process.execPath, ['pack', '--json', '--pack-destination', dir], ROOT);
  const json = out.slice(out.indexOf('['), out.lastIndexOf(']') + 1);
  const [info] = JSON.parse(json) as Array<{ filename: string }>;
  const file = path.join(dir, info!.filename);
  if (!fs.existsSync(file)) throw new Error(`npm pack wrote no ${file}:\n${out}`);
  return file;
}

/**
 * Node-RED `version` installed from npm with `node`, kept under CACHE_DIR: the second call (or
 * run) finds it there. Returns the path of its red.js and whether it was cached.
 */
export async function installNodeRed(
  version: string,
  node: { bin: string; version: string },
): Promise<{ redJs: string; cached: boolean }> {
  const major = node.version.slice(1).split('.')[0];
  const dir = path.join(CACHE_DIR, `node-red-${version}-node${major}`);
  const redJs = path.join(dir, 'node_modules', 'node-red', 'red.js');
  const marker = path.join(dir, '.installed');
  if (fs.existsSync(marker) && fs.existsSync(redJs)) return { redJs, cached: true };
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ private: true }) + '\n');
    await npm(
      node.bin,
      ['install', '--no-audit', '--no-fund', '--omit=dev', `node-red@${version}`],
      tmp,
      600000,
    );
    const got = JSON.parse(
      fs.readFileSync(path.join(tmp, 'node_modules', 'node-red', 'package.json'), 'utf8'),
    ) as { version: string };
    if (got.version !== version)
      throw new Error(`asked for node-red@${version}, npm installed ${got.version}`);
    fs.writeFileSync(path.join(tmp, '.installed'), `node-red ${version} with node ${node.version}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another run may have finished the same install meanwhile.
    if (!(fs.existsSync(marker) && fs.existsSync(redJs))) throw e;
  }
  return { redJs, cached: false };
}

/**
 * A fresh Node-RED user dir with the tarball installed as the palette manager does it
 * (`npm install --save --omit=dev --engine-strict … <tarball>` in the user dir). Returns the dir.
 */
export async function userDirWith(tarball: string, node: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-stock-nr-'));
  // What Node-RED writes into a new user dir.
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      { name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true },
      null,
      4,
    ),
  );
  await npm(node, ['install', ...PALETTE_INSTALL_ARGS, '--', tarball], dir);
  return dir;
}

export interface StockNodeRed {
  url: string;
  proc: ChildProcess;
  /** The whole log (stdout and stderr) so far. */
  log(): string;
  /** Current status of every node that has shown one (from the editor's /comms socket). */
  statuses: Map<string, { text?: string; fill?: string; shape?: string }>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Starts Node-RED (`node red.js --userDir … --port …`) with no settings file of ours: Node-RED
 * writes its default settings.js. The only override is the listen address (loopback).
 */
export async function startStockNodeRed(opts: {
  node: string;
  redJs: string;
  userDir: string;
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<StockNodeRed> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
  const proc = spawn(
    opts.node,
    [opts.redJs, '--userDir', opts.userDir, '--port', String(port), '-D', 'uiHost=127.0.0.1'],
    { cwd: opts.userDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      live.delete(proc);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`Node-RED exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`Node-RED did not start in time:\n${out}`);
    }
    if (/Started flows/.test(out)) {
      try {
        if ((await fetch(`${url}/settings`)).ok) break;
      } catch {
        /* not listening yet */
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const statuses = new Map<string, { text?: string; fill?: string; shape?: string }>();
  const comms = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  await new Promise<void>((resolve, reject) => {
    comms.once('open', () => resolve());
    comms.once('error', reject);
  });
  comms.send(JSON.stringify({ subscribe: 'status/#' }));
  comms.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as unknown;
    for (const x of (Array.isArray(m) ? m : [m]) as Array<{ topic: string; data: unknown }>) {
      if (x.topic?.startsWith('status/')) {
        statuses.set(x.topic.slice('status/'.length), (x.data ?? {}) as { fill?: string });
      }
    }
  });
  return {
    url,
    proc,
    log: () => out,
    statuses,
    async stop() {
      comms.close();
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Full deploy of `nodes` through the admin API (what the editor's Deploy does). */
export async function deploy(url: string, nodes: unknown[]): Promise<Response> {
  return fetch(`${url}/flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(nodes),
  });
}

/** The examples a module offers in the editor's Import › Examples: name → nodes. */
export async function examplesOf(url: string, module: string): Promise<Map<string, unknown[]>> {
  const base = `${url}/library/examples/flows/${module}`;
  const list = (await (await fetch(base)).json()) as Array<{ fn?: string }>;
  const out = new Map<string, unknown[]>();
  for (const { fn } of list) {
    if (!fn) continue;
    const r = await fetch(`${base}/${encodeURIComponent(fn)}`);
    if (!r.ok) throw new Error(`GET example ${fn}: ${r.status}`);
    out.set(fn, (await r.json()) as unknown[]);
  }
  return out;
}

/**
 * Log lines that tell of a problem: every [error], every warning of a node (`[warn] [type:name]`),
 * and Node-RED's "Waiting for missing types". Node-RED's own start-up warnings about its default
 * settings (projects disabled, the system-generated credential key) are not ours.
 */
export function problems(log: string): string[] {
  return log.split('\n').filter((l) => /\[error\]|\[warn\] \[|Waiting for missing types/.test(l));
}

type FlowNode = { id: string; type: string; [k: string]: unknown };

/**
 * Full deploy of an empty flow, then of `nodes` (an import into an empty Node-RED); waits until
 * they run: flows started, the broker connected and the fleet restored when they have those,
 * Dashboard 2.0's page answering, then a quiet log for a second. Returns the log of that deploy.
 */
export async function deployAndSettle(nr: StockNodeRed, nodes: FlowNode[]): Promise<string> {
  const cleared = nr.log().length;
  const empty = await deploy(nr.url, []);
  if (!empty.ok) throw new Error(`deploy of an empty flow: HTTP ${empty.status}`);
  await until(() => nr.log().slice(cleared).includes('Started flows'), 30000, 'the empty flow');
  nr.statuses.clear();
  const mark = nr.log().length;
  const res = await deploy(nr.url, nodes);
  if (!res.ok) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
  const seg = () => nr.log().slice(mark);
  const expect: Array<[RegExp, string]> = [[/Started flows/, 'Started flows']];
  if (nodes.some((n) => n.type === 'mqtt-broker'))
    expect.push([/Connected to broker/, 'the broker connection']);
  if (nodes.some((n) => n.type === 'wpt-fleet'))
    expect.push([/\[wpt-fleet:[^\]]*\] restored/, 'the fleet restore']);
  for (const [re, what] of expect) {
    await until(() => re.test(seg()) || problems(seg()).length > 0, 30000, what, { detail: seg });
  }
  // Dashboard 2.0 says it started only the first time: its page answering tells it runs.
  const ui = nodes.find((n) => n.type === 'ui-base');
  if (ui) {
    const page = `${nr.url}${String(ui.path)}`;
    await until(
      async () => (await fetch(page).catch(() => null))?.status === 200,
      30000,
      `${page} answering`,
    );
  }
  // Quiet for a second: what a node logs right after starting is in the segment.
  let last = -1;
  await until(
    () => {
      const n = nr.log().length;
      const quiet = n === last;
      last = n;
      return quiet;
    },
    20000,
    'a quiet log',
    { every: 1000 },
  );
  return seg();
}

/** The nodes of `nodes` whose current status is red, with that status. */
export function redStatuses(nr: StockNodeRed, nodes: FlowNode[]): string[] {
  return nodes
    .filter((n) => nr.statuses.get(n.id)?.fill === 'red')
    .map((n) => `${n.type} ${n.id}: ${JSON.stringify(nr.statuses.get(n.id))}`);
}
