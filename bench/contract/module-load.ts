// Module load time in bench/contract.ts: `require` of the compiled core/contract in a fresh node
// process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BASELINE, ROOT } from './setup';
import { median } from './timing';

/** Wall and CPU ms to `require` a compiled core/contract in a fresh `node` process (medians of 7), or null. */
function loadMs(dir: string): { wall: number; min: number; max: number; cpu: number } | null {
  const index = path.join(dir, 'index.js');
  if (!fs.existsSync(index)) return null;
  const code =
    `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(index)});` +
    `const u=process.cpuUsage(c);console.log(Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3)`;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 7; i++) {
    const [w, c] = execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' }).trim().split(' ');
    wall.push(Number(w));
    cpu.push(Number(c));
  }
  return { wall: median(wall), min: Math.min(...wall), max: Math.max(...wall), cpu: median(cpu) };
}

export function loadLines(): string[] {
  const dirs: [string, string][] = [];
  if (BASELINE !== '') dirs.push(['baseline', path.resolve(BASELINE, 'dist/core/contract')]);
  dirs.push(['current', path.join(ROOT, 'dist', 'core', 'contract')]);
  const out = [
    '## Module load (require of the compiled core/contract in a fresh node process, median of 7)',
    '',
  ];
  for (const [label, dir] of dirs) {
    const t = loadMs(dir);
    out.push(
      t === null
        ? `- ${label}: not measured (no ${path.relative(process.cwd(), dir) || dir}/index.js: build first)`
        : `- ${label}: ${t.wall.toFixed(1)} ms wall (${t.min.toFixed(1)}–${t.max.toFixed(1)}), ${t.cpu.toFixed(1)} ms CPU`,
    );
  }
  return out;
}
