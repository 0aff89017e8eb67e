// Where the package and its shipped files are, for the launcher and the settings.
import fs from 'node:fs';
import path from 'node:path';
import { envValue } from './env';

/** The package root: the folder that holds package.json (dist/runtime/x.js → ../..). */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + from);
    dir = up;
  }
  return dir;
}

/** Shipped flows: every JSON file of flows/, merged into one flow file. */
export function shippedFlows(root: string): unknown[] {
  const dir = path.join(root, 'flows');
  const all: unknown[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error(`flows/${f}: must be an array of nodes`);
    all.push(...parsed);
  }
  return all;
}

/** The user dir: WPT_USER_DIR, else `.node-red` in the package root. */
export function userDirOf(env: NodeJS.ProcessEnv, root: string): string {
  return path.resolve(envValue(env, 'WPT_USER_DIR') ?? path.join(root, '.node-red'));
}
