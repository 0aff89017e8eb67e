// The tarball as npm publishes it (`npm pack`): what it holds, what it declares. Fast checks;
// installing it into stock Node-RED is test/integration/integrator.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { DASHBOARD, EXAMPLE_NAMES, STOCK, type PackageJson } from '../helpers/package-info';
import { packPackage } from '../helpers/stock-node-red';

/** Lowest version a `>=a[.b[.c]]` range admits; any other form is refused, to be looked at. */
function lowest(range: string): number[] {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  assert.ok(m, `range "${range}": this test understands only ">=x.y.z"; update it with the range`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}
function atLeast(version: string, min: number[]): boolean {
  const v = version.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
}

/** Bare module names (not Node.js built-ins) that the .js files under `dir` require, with a file each. */
function requiredModules(dir: string, root = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) requiredModules(f, root, out);
    else if (f.endsWith('.js')) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        out.set(name, path.relative(root, f));
      }
    }
  }
  return out;
}

describe('package: the tarball npm publishes', function () {
  this.timeout(180000); // npm pack builds first when a source is newer than dist/
  let dir = '';
  let files: string[] = [];
  let pkg: PackageJson;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-package-'));
    const tarball = await packPackage(dir);
    execFileSync('tar', ['xzf', tarball, '-C', dir]);
    files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package', 'package.json'), 'utf8')) as PackageJson;
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has a LICENSE, one copy of the flows (examples/, no flows/), no launcher, every node with its HTML', () => {
    assert.ok(files.includes('LICENSE'), 'LICENSE');
    const examples = files.filter((f) => /^examples\/[^/]+\.json$/.test(f));
    assert.deepEqual(examples.map((f) => f.slice('examples/'.length, -'.json'.length)).sort(), EXAMPLE_NAMES);
    assert.deepEqual(
      files.filter(
        (f) => /^(flows|test|bench|docker|runtime|dist\/runtime)\//.test(f) || /^settings\./.test(f),
      ),
      [],
      'no repository-only files (flows/, the launcher dist/runtime, settings, tests)',
    );
    for (const [type, js] of Object.entries(pkg['node-red'].nodes)) {
      assert.ok(files.includes(js), `${type}: ${js}`);
      assert.ok(files.includes(js.replace(/\.js$/, '.html')), `${type}: its .html`);
    }
    for (const [name, js] of Object.entries(pkg.bin ?? {}))
      assert.ok(files.includes(js), `bin ${name}: ${js}`);
    assert.ok(!('wpt-dlm' in (pkg.bin ?? {})), 'the launcher is the repository’s, not a published bin');
    for (const f of [pkg.main, pkg.types])
      if (f) assert.ok(files.includes(f), `declared ${f} is in the tarball`);
  });

  it('declares what its code requires, and requires what it declares (Dashboard 2.0: for its example)', () => {
    const required = requiredModules(path.join(dir, 'package'));
    const declared = Object.keys(pkg.dependencies);
    assert.deepEqual(
      [...required].filter(([n]) => !declared.includes(n)).map(([n, f]) => `${n} (${f})`),
      [],
      'required by the shipped code but not a dependency',
    );
    assert.deepEqual(
      declared.filter((n) => !required.has(n) && n !== DASHBOARD),
      [],
      'dependencies the shipped code never requires',
    );
    assert.ok(pkg.dependencies[DASHBOARD], 'Dashboard 2.0 is a dependency: the dashboard example needs it');
  });

  it('claims the Node.js and Node-RED versions the integrator test runs, from the lowest', () => {
    const node = lowest(pkg.engines.node);
    const nodeRed = lowest(pkg['node-red'].version);
    assert.equal(
      node[0],
      Math.min(...STOCK.map((s) => s.node)),
      'engines.node starts at the lowest Node.js tested',
    );
    assert.deepEqual(
      nodeRed.slice(0, 2),
      STOCK[0]!.nodeRed.split('.').slice(0, 2).map(Number),
      'node-red.version starts at the lowest Node-RED minor tested',
    );
    for (const s of STOCK) {
      assert.ok(atLeast(s.nodeRed, nodeRed), `Node-RED ${s.nodeRed} is in ${pkg['node-red'].version}`);
    }
  });
});
