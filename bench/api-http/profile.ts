// CPU profile summary of bench/api-http.ts (--profile): where the runtime's main thread spent
// its time during the measured windows.
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) {
    const inner = url.lastIndexOf('node_modules/');
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(inner))?.[1] ?? nm[1]!;
    return pkg;
  }
  const ours = /\/dist\/([^/]+)\//.exec(url);
  if (ours) return `wpt-dlm ${ours[1]}/`;
  return url.replace(/^file:\/\//, '');
}

const has = (re: RegExp) => (stack: string) => re.test(stack);
const COMPONENTS: Array<[string, (stack: string) => boolean]> = [
  ['recommendation engine (core/recommend, with its what-if allocation)', has(/dist\/core\/recommend\//)],
  ['wpt-recommender node (engine included)', has(/dist\/nodes\/wpt-recommender\//)],
  ['wpt-query node (API reads and the dashboard queries)', has(/dist\/nodes\/wpt-query\//)],
  ['Dashboard 2.0 widgets (ui-table, ui-chart: store and clone)', has(/node-red-dashboard\//)],
  [
    'DLM allocator (engine timers, allocation)',
    has(/dist\/nodes\/wpt-dlm-allocator\/|dist\/core\/dlm\/engine/),
  ],
  [
    'MQTT in (broker, mqtt in, registry, SoC tracker, validate)',
    has(/aedes|mqtt-packet|10-mqtt\.js|wpt-hub-registry|wpt-soc-tracker|wpt-validate/),
  ],
  ['PostgreSQL (wpt-store, pg)', has(/wpt-store|node_modules\/pg\//)],
  ['Node-RED message cloning (lodash.clonedeep)', has(/lodash\.clonedeep/)],
  ['i18n (RED._, e.g. node status texts)', has(/i18next/)],
  [
    'HTTP path without the flow (node:http, express, http in/response, middleware)',
    (st) => /_http_|express\/|21-httpin|body-parser|passport|writev/.test(st) && !/dist\/nodes\//.test(st),
  ],
  ['garbage collector', has(/^\(garbage collector\) /)],
  ['idle', has(/^\(idle\) /)],
];

export function summariseProfile(file: string, windows: Array<[number, number]>, label: string): string[] {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const inWindow = (t: number): boolean => windows.some(([a, b]) => t >= a && t <= b);
  const self = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  let totalAll = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    totalAll += dt;
    if (!inWindow(t)) continue;
    total += dt;
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const scoped = total > 0;
  if (!scoped) {
    // The clocks did not line up: the whole profile.
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    total = totalAll;
  }
  const byCat = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const cat = category(url, functionName || '(anonymous)');
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    const short = url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  // Inclusive time by component: a sample counts for a component when a frame of its stack
  // belongs to it (components may overlap).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): string => {
    const frames: string[] = [];
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) {
      const cf = byId.get(q)?.callFrame;
      if (cf) frames.push(`${cf.functionName} ${cf.url}`);
    }
    return frames.join('\n');
  };
  const byComponent = new Map<string, number>(COMPONENTS.map(([name]) => [name, 0]));
  for (const [id, us] of self) {
    const st = stackOf(id);
    for (const [name, test] of COMPONENTS)
      if (test(st)) byComponent.set(name, (byComponent.get(name) ?? 0) + us);
  }
  const pc = (us: number): string => `${((100 * us) / total).toFixed(1)} %`;
  const top = (m: Map<string, number>, k: number): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `| ${name.replace(/\|/g, '\\|')} | ${pc(us)} |`);
  return [
    `${label}: samples ${scoped ? 'inside the measured windows' : 'of the whole run (the clocks did not line up)'}: ${(total / 1e6).toFixed(1)} s of the runtime's main thread.`,
    '',
    '| inclusive time by component (may overlap) | share |',
    '|---|---:|',
    ...[...byComponent.entries()].map(([name, us]) => `| ${name} | ${pc(us)} |`),
    '',
    '| self time by package | share |',
    '|---|---:|',
    ...top(byCat, 15),
    '',
    '| self time by function | share |',
    '|---|---:|',
    ...top(byFn, 25),
  ];
}
