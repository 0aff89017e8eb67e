// Stopping as users and process managers stop it: `npm start` in its own process group (as a
// terminal runs it), then Ctrl-C to the whole group, SIGTERM to npm, SIGTERM to node: every
// process of the tree (npm, sh, node, PostgreSQL and its watchdog) is gone within 5 s and node
// stopped cleanly. And the embedded PostgreSQL never outlives the launcher, even after SIGKILL.
// The runtimes here always use their embedded PostgreSQL (DATABASE_URL is not passed on): the
// database's process is part of what must stop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, CLI, makeUserDir, processesMentioning } from '../helpers/runtime';
import { freePort } from '../../runtime/free-port';
import {
  cmdline,
  describe as describePids,
  processGroupOf,
  processTree,
  running,
} from '../helpers/processes';
import { until } from '../helpers/wait';

const STOP_LIMIT_MS = 5000;

interface Started {
  proc: ChildProcess;
  userDir: string;
  port: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const f = path.join(dir, name);
    if (dir && fs.existsSync(f)) return f;
  }
  throw new Error(`${name} is not on the PATH`);
}

/** `npm start` (or node itself) in a new process group, with its own user dir and ports. */
async function start(how: 'npm' | 'node'): Promise<Started> {
  const userDir = makeUserDir();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME,
    PORT: String(port),
    WPT_HTTP_HOST: '127.0.0.1',
    WPT_USER_DIR: userDir,
    WPT_MQTT_PORT: String(await freePort()),
    WPT_API_TOKEN: 'test-token-0123456789abcdef',
    WPT_ADMIN_PASSWORD: 'correct horse battery',
  };
  const npm = onPath('npm');
  const [cmd, args] = how === 'npm' ? [npm, ['start']] : [process.execPath, [CLI]];
  const proc = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await until(
    async () => {
      assert.equal(proc.exitCode, null, out);
      const r = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => null);
      return r?.status === 200;
    },
    90_000,
    'the runtime to be healthy',
    { every: 200, detail: () => out },
  );
  return { proc, userDir, port, output: () => out, exited };
}

/** Every process of the runtime: the tree under the started process (the database included). */
function tree(s: Started): number[] {
  return processTree(s.proc.pid!);
}

function nodePid(s: Started): number {
  const pid = tree(s).find((p) => cmdline(p).includes('dist/runtime/cli.js') && /node/.test(cmdline(p)));
  assert.ok(pid, describePids(tree(s)));
  return pid;
}

async function allGoneWithin(pids: number[], ms: number): Promise<number> {
  const t0 = Date.now();
  await until(() => pids.every((p) => !running(p)), ms, 'every process of the runtime to end', {
    every: 25,
    detail: () => describePids(pids.filter(running)),
  });
  return Date.now() - t0;
}

function cleanup(s: Started): void {
  for (const p of tree(s)) if (running(p)) process.kill(p, 'SIGKILL');
  fs.rmSync(s.userDir, { recursive: true, force: true });
}

describe('e2e: shutdown within 5 s, nothing left running', function () {
  this.timeout(180000);

  for (const [name, how, send] of [
    ['Ctrl-C in a terminal (SIGINT to the whole process group of npm start)', 'npm', 'group-int'],
    ['SIGTERM to the npm start process (a process manager)', 'npm', 'npm-term'],
    ['SIGTERM to node under npm start', 'npm', 'node-term'],
    ['SIGTERM to node started alone', 'node', 'node-term'],
  ] as const) {
    it(name, async () => {
      const s = await start(how);
      try {
        const pids = tree(s);
        const node = nodePid(s);
        const postgres = processesMentioning(path.join(s.userDir, 'postgres')).filter((p) =>
          pids.includes(p),
        );
        assert.equal(postgres.length, 1, describePids(pids));
        // Its own process group: a terminal's Ctrl-C reaches the launcher, never the database.
        assert.notEqual(processGroupOf(postgres[0]!), processGroupOf(node));
        if (send === 'group-int') process.kill(-s.proc.pid!, 'SIGINT');
        else if (send === 'npm-term') process.kill(s.proc.pid!, 'SIGTERM');
        else process.kill(node, 'SIGTERM');
        const took = await allGoneWithin(pids, STOP_LIMIT_MS);
        const { code, signal } = await s.exited;
        const out = s.output();
        assert.match(out, /\[wpt\] stopped/, out);
        assert.doesNotMatch(out, /longer than|error while stopping|exiting now/, out);
        // node exits 0; npm, killed by the signal itself, reports it as 128 + n, as shells do.
        const expected = send === 'group-int' ? [0, 130] : send === 'npm-term' ? [0, 143] : [0];
        assert.ok(expected.includes(code ?? -1) || signal !== null, `exit ${code} ${signal}`);
        console.log(`      (everything gone ${took} ms after the signal)`);
      } finally {
        cleanup(s);
      }
    });
  }

  it('the embedded PostgreSQL stops when the launcher is killed (SIGKILL)', async () => {
    const s = await start('node');
    try {
      const pids = tree(s);
      assert.ok(pids.length >= 3, describePids(pids)); // node, postgres, its watchdog
      process.kill(s.proc.pid!, 'SIGKILL');
      const took = await allGoneWithin(pids, STOP_LIMIT_MS);
      assert.deepEqual(processesMentioning(path.join(s.userDir, 'postgres')), []);
      console.log(`      (database gone ${took} ms after the launcher was killed)`);
    } finally {
      cleanup(s);
    }
  });
});
