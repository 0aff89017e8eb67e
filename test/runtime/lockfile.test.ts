// `npm install` must change nothing tracked: the lockfile's own entry says what package.json says.
// (.ci/run also runs `npm install --package-lock-only` and fails on any change to the lockfile.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (f: string) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, f), 'utf8')) as Record<string, unknown>;

describe('runtime: package-lock.json', () => {
  it('is in step with package.json (what npm install would otherwise rewrite)', () => {
    const pkg = read('package.json');
    const lock = read('package-lock.json') as {
      name: string;
      version: string;
      packages: Record<string, Record<string, unknown>>;
    };
    const own = lock.packages['']!;
    assert.equal(lock.name, pkg.name);
    assert.equal(lock.version, pkg.version);
    for (const k of ['name', 'version', 'license', 'bin', 'dependencies', 'devDependencies', 'engines']) {
      assert.deepEqual(own[k], pkg[k], `packages[""].${k}`);
    }
  });
});
