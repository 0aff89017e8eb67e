// Options, decoders and inputs of bench/contract.ts: the current decoder (and the baseline's
// with --baseline), the original hub's capture, the valid payloads and the invalid corpus.
import fs from 'node:fs';
import path from 'node:path';
import * as current from '../../core/contract';
import type { PayloadName } from '../../core/contract';
import { INVALID_MESSAGES, TOPICS, VALID } from '../../test/fixtures/invalid-messages';

/** The repository root. */
export const ROOT = path.join(__dirname, '..', '..');

export type Decode = (topic: string, payload: unknown, nowMs: number) => current.DecodeResult;
export type Validate = (
  name: PayloadName,
  value: unknown,
  opts: { timestampOptional: true },
) => { ok: boolean };
export interface Impl {
  label: string;
  decode: Decode;
  validatePayload: Validate;
}
export interface Msg {
  topic: string;
  payload: unknown;
}

export const argv = process.argv.slice(2);
const arg = (flag: string, dflt: string): string => {
  const i = argv.indexOf(flag);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : dflt;
};
export const RUNS = Number(arg('--runs', '9'));
export const RUN_MS = Number(arg('--run-ms', '300'));
export const WARMUP_MS = Number(arg('--warmup-ms', '1000'));
export const BASELINE = arg('--baseline', '');
export const NOW = Date.UTC(2026, 10, 26, 8, 0, 0);

export const impls: Impl[] = [
  { label: 'current', decode: current.decode, validatePayload: current.validatePayload },
];
if (BASELINE !== '') {
  const base = require(path.resolve(BASELINE, 'core/contract/index.ts')) as typeof current;
  impls.unshift({ label: 'baseline', decode: base.decode, validatePayload: base.validatePayload });
}

export const CAPTURE: Msg[] = fs
  .readFileSync(path.join(ROOT, 'test', 'fixtures', 'original-hub-capture.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const i = l.indexOf(' ');
    return { topic: l.slice(0, i), payload: Buffer.from(l.slice(i + 1)) };
  });
export const captureTelemetry = CAPTURE.filter(
  (m) => m.topic.endsWith('/telemetry') && m.topic.includes('/nodes/'),
);
export const validAll: Msg[] = (Object.keys(VALID) as (keyof typeof VALID)[]).map((k) => ({
  topic: TOPICS[k],
  payload: Buffer.from(JSON.stringify(VALID[k])),
}));
const asBuffer = (p: unknown): unknown => (typeof p === 'string' ? Buffer.from(p) : p);
/** Corpus cases rejected by the schema (not by the envelope, topic or topic-vs-payload id checks). */
export const schemaCases = INVALID_MESSAGES.filter(
  (c) => /^[A-Za-z]+\./.test(c.expect) && !c.expect.includes("must equal the topic's"),
);
export const invalidSchema: Msg[] = schemaCases.map((c) => ({
  topic: c.topic,
  payload: asBuffer(c.payload),
}));
export const mix90: Msg[] = [];
for (let i = 0; i < 10 * invalidSchema.length; i++) {
  mix90.push(
    i % 10 === 9
      ? (invalidSchema[(i / 10) | 0] as Msg)
      : (captureTelemetry[i % captureTelemetry.length] as Msg),
  );
}
export const telemetryObject = JSON.parse((captureTelemetry[0]?.payload as Buffer).toString()) as unknown;
