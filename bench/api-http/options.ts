// Command-line options of bench/api-http.ts (see its header).

export interface Options {
  durationS: number;
  warmupS: number;
  concurrency: number[];
  hubs: number;
  nodes: number;
  seed: number;
  only: Set<string>;
  profile: boolean;
  observeS: number;
  nodeOptions: string;
  runtimeLog: string | undefined;
  noWrite: boolean;
}

export function args(): Options {
  const a = process.argv.slice(2);
  const val = (name: string): string | undefined => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const num = (name: string, def: number): number => {
    const v = Number(val(name));
    return Number.isFinite(v) && v > 0 ? v : def;
  };
  const conc = (val('concurrency') ?? '8,16,32,64')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return {
    durationS: num('duration', 10),
    warmupS: num('warmup', 2),
    concurrency: conc.length ? conc : [8, 16, 32, 64],
    hubs: Math.floor(num('hubs', 1000)),
    nodes: Math.floor(num('nodes', 8)),
    seed: Math.floor(num('seed', 1)),
    only: new Set((val('only') ?? 'recommend,hub,health').split(',')),
    profile: a.includes('--profile'),
    observeS: Number(val('observe') ?? 0) || 0,
    nodeOptions: val('node-options') ?? '',
    runtimeLog: val('runtime-log'),
    noWrite: a.includes('--no-write'),
  };
}
