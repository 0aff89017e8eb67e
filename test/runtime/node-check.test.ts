// Node.js older than 22.9: one line, exit 1, before anything runs (npm scripts and launcher).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MIN_NODE, nodeVersionProblem } from '../../runtime/node-check';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'runtime', 'cli.js');
const SCRIPT = path.join(ROOT, 'scripts', 'check-node.js');
const script = require(SCRIPT) as { MIN: number[]; problem(v: string): string | null };

/** A Node.js binary older than the minimum on this machine, if any. */
function oldNode(): string | null {
  for (const bin of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!fs.existsSync(bin)) continue;
    const v = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (v && nodeVersionProblem(v)) return bin;
  }
  return null;
}

describe('runtime: Node.js version check', () => {
  it('the launcher and the npm scripts agree on the minimum', () => {
    assert.deepEqual([...MIN_NODE], script.MIN);
    for (const v of [
      '18.20.0',
      '20.20.2',
      '22.0.0',
      '22.8.9',
      '22.9.0',
      '22.23.5',
      '23.0.0',
      '24.1.0',
      'v22.9.0',
    ]) {
      assert.equal(nodeVersionProblem(v) === null, script.problem(v) === null, v);
    }
    assert.equal(nodeVersionProblem('22.8.0')?.includes('22.9 or later'), true);
    assert.equal(nodeVersionProblem('22.9.0'), null);
  });

  it('the launcher says it in one line and starts nothing (Node.js version faked)', () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: npm run build`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-node-'));
    const preload = path.join(dir, 'old.js');
    fs.writeFileSync(preload, "Object.defineProperty(process.versions, 'node', { value: '20.11.1' });\n");
    for (const target of [CLI, SCRIPT]) {
      const r = spawnSync(process.execPath, ['-r', preload, target], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, WPT_USER_DIR: path.join(dir, 'ud') },
        timeout: 20000,
      });
      assert.equal(r.status, 1, `${target}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.deepEqual(r.stderr.trim().split('\n'), [
        `WPT-DLM needs Node.js 22.9 or later; this is Node.js 20.11.1 (${process.execPath})`,
      ]);
    }
    assert.equal(fs.existsSync(path.join(dir, 'ud')), false, 'nothing was started');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a real older Node.js gets the same line from the launcher and from npm start', function () {
    const bin = oldNode();
    if (!bin) {
      console.log('      (no Node.js older than 22.9 on this machine)');
      return this.skip();
    }
    const version = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    const line = `WPT-DLM needs Node.js 22.9 or later; this is Node.js ${version}`;
    const direct = spawnSync(bin, [CLI], { encoding: 'utf8', timeout: 20000 });
    assert.equal(direct.status, 1);
    assert.equal(direct.stderr.trim().split('\n').length, 1, direct.stderr);
    assert.ok(direct.stderr.startsWith(line), direct.stderr);
    // npm start with that Node.js first on the PATH: the line comes before anything is built or started.
    const npm = (process.env.PATH ?? '')
      .split(':')
      .map((d) => path.join(d, 'npm'))
      .find((f) => fs.existsSync(f));
    if (!npm) return;
    const viaNpm = spawnSync(npm, ['start'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: `${path.dirname(bin)}:${process.env.PATH}`,
        HOME: process.env.HOME,
        WPT_USER_DIR: '/nonexistent/wpt',
      },
      timeout: 60000,
    });
    const out = viaNpm.stdout + viaNpm.stderr;
    assert.notEqual(viaNpm.status, 0, out);
    assert.ok(out.includes(line), out);
    assert.doesNotMatch(out, /building|\[wpt\]|Node-RED/, out);
  });
});
