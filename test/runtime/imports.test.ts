// One-way dependencies: the root settings.ts (for a stock Node-RED) builds on runtime/, never the
// other way, and no import cycle goes through runtime/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function sources(): string[] {
  const out: string[] = [path.join(ROOT, 'settings.ts')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(f);
    }
  };
  for (const d of ['core', 'adapters', 'nodes', 'runtime', 'sim']) walk(path.join(ROOT, d));
  return out;
}

/** Relative imports and requires of a file, resolved to files. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|import\s+)['"](\.[^'"]+)['"]/g),
  ].map((m) => m[1]!);
  const out: string[] = [];
  for (const s of specs) {
    const base = path.resolve(path.dirname(file), s);
    const hit = [`${base}.ts`, path.join(base, 'index.ts'), base].find(
      (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
    );
    if (hit && hit.endsWith('.ts')) out.push(hit);
  }
  return out;
}

describe('runtime: import structure', () => {
  const graph = new Map(sources().map((f) => [f, importsOf(f)]));
  const rel = (f: string) => path.relative(ROOT, f);

  it('nothing under runtime/ imports the root settings.ts', () => {
    const settings = path.join(ROOT, 'settings.ts');
    const offenders = [...graph].filter(
      ([f, deps]) => rel(f).startsWith('runtime/') && deps.includes(settings),
    );
    assert.deepEqual(
      offenders.map(([f]) => rel(f)),
      [],
    );
  });

  it('no import cycle goes through runtime/ or settings.ts', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') {
          const cycle = stack.slice(stack.indexOf(d)).map(rel);
          if (cycle.some((c) => c.startsWith('runtime/') || c === 'settings.ts'))
            cycles.push(cycle.join(' → '));
        } else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    assert.deepEqual(cycles, []);
  });
});
