// What the repository's package.json says about the published package, and the stock Node-RED
// installations the package tests run it in (test/integration/package.test.ts, integrator.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './runtime';

export interface PackageJson {
  name: string;
  version: string;
  license: string;
  engines: { node: string };
  bin?: Record<string, string>;
  main?: string;
  types?: string;
  'node-red': { version: string; nodes: Record<string, string> };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Dashboard 2.0: a dependency because the dashboard example needs it. */
export const DASHBOARD = '@flowfuse/node-red-dashboard';

/**
 * The stock installations: the lowest Node-RED and Node.js the package claims (4.1 on 20), and
 * the Node-RED the repository develops against on Node.js 22.
 */
export const STOCK: ReadonlyArray<{ nodeRed: string; node: number }> = [
  { nodeRed: '4.1.15', node: 20 },
  { nodeRed: PKG.devDependencies['node-red']!, node: 22 },
];

/** The example names, as scripts/copy-assets.js builds them into examples/ (the build runs first). */
export const EXAMPLE_NAMES: readonly string[] = fs.existsSync(path.join(ROOT, 'examples'))
  ? fs
      .readdirSync(path.join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort()
  : [];
