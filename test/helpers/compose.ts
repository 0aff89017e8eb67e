// The compose deployment (docker/compose.yaml) as tests read it: a YAML parser that resolves
// merge keys (`<<: *orchestrator`) as Docker Compose does, and `docker-compose config` run on
// the files with an env file and optional profiles.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface Yaml {
  load(text: string): unknown;
}

interface JsYaml {
  load(text: string, opts?: { schema?: unknown }): unknown;
  // js-yaml 5: merge keys are off in its default schema and enabled with mergeTag
  CORE_SCHEMA?: { withTags(...tags: unknown[]): unknown };
  mergeTag?: unknown;
}

/**
 * js-yaml as reachable from node_modules (a dependency of mocha and node-red), loading with
 * merge keys resolved (js-yaml 4 does by default, js-yaml 5 with its mergeTag), or null.
 */
export function yamlParser(): Yaml | null {
  let y: JsYaml;
  try {
    y = require('js-yaml') as JsYaml;
  } catch {
    return null;
  }
  const schema = y.mergeTag && y.CORE_SCHEMA ? y.CORE_SCHEMA.withTags(y.mergeTag) : undefined;
  return { load: (text) => (schema ? y.load(text, { schema }) : y.load(text)) };
}

/** The docker-compose (v1) binary, when installed. */
export function composeBin(): string | undefined {
  return ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((b) => fs.existsSync(b));
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: Array<string | { published?: number | string; target?: number; host_ip?: string }>;
  profiles?: string[];
  command?: string[];
  restart?: string;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * `docker-compose -f <files…> --env-file <envFile> [--profile p…] config`, parsed. `env` is
 * added to a minimal environment (PATH only), so the caller's shell cannot leak variables such
 * as WPT_CLUSTER into the result.
 */
export function composeConfig(
  bin: string,
  files: string[],
  envFile: string,
  opts: { profiles?: string[]; env?: Record<string, string> } = {},
): ComposeFile {
  const args = [
    ...files.flatMap((f) => ['-f', f]),
    '--env-file',
    envFile,
    ...(opts.profiles ?? []).flatMap((p) => ['--profile', p]),
    'config',
  ];
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
  });
  if (r.status !== 0) throw new Error(`docker-compose ${args.join(' ')}: ${r.stderr || r.stdout}`);
  const yaml = yamlParser();
  if (!yaml) throw new Error('js-yaml is needed to read docker-compose config');
  return yaml.load(r.stdout) as ComposeFile;
}

/** The services `docker compose up` starts without any --profile: those without `profiles`. */
export function defaultServices(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => !s.profiles?.length)
    .map(([name]) => name)
    .sort();
}
