// Baseline vs current in bench/contract.ts (--baseline): their error lists compared message by
// message on the corpus, the capture and seeded random mutations of valid payloads.
import { mulberry32 } from '../../sim/prng';
import { INVALID_MESSAGES, TOPICS, VALID } from '../../test/fixtures/invalid-messages';
import { CAPTURE, impls, NOW } from './setup';
import type { Impl, Msg } from './setup';

/** Seeded random mutations of valid payloads (1–3 fields, nested ones included), as objects. */
export function mutations(n: number): Msg[] {
  const rng = mulberry32(7);
  const values: unknown[] = [
    undefined,
    null,
    -1,
    0,
    0.5,
    101,
    351,
    1e9,
    -1e9,
    NaN,
    Infinity,
    -Infinity,
    '',
    'x'.repeat(60),
    'n/a',
    'bad\u0000',
    '12',
    true,
    false,
    {},
    [],
    [1],
    { latitude: 1 },
    '2026-13-01T00:00:00Z',
    '2026-11-26T07:13:47Z',
    '::1',
    '1.2.3',
    'online',
    'charging',
    7n,
  ];
  const kinds = Object.keys(VALID) as (keyof typeof VALID)[];
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(kinds);
    const payload = structuredClone(VALID[kind]);
    const edits = rng.int(1, 3);
    for (let e = 0; e < edits; e++) {
      let target: Record<string, unknown> = payload;
      let key = rng.pick(Object.keys(target));
      const inner = target[key];
      if (inner !== null && typeof inner === 'object' && !Array.isArray(inner) && rng.chance(0.6)) {
        target = inner as Record<string, unknown>;
        key = rng.pick([...Object.keys(target), 'extra']);
      }
      const v = rng.pick(values);
      if (v === undefined) delete target[key];
      else target[key] = v;
    }
    out.push({ topic: TOPICS[kind], payload });
  }
  return out;
}

export function compareLists(): string[] {
  const [base, cur] = impls as [Impl, Impl];
  const sets: [string, readonly Msg[]][] = [
    [
      `invalid corpus (${INVALID_MESSAGES.length})`,
      INVALID_MESSAGES.map((c) => ({ topic: c.topic, payload: c.payload })),
    ],
    [`capture (${CAPTURE.length})`, CAPTURE],
    ['random mutations of valid payloads (20,000, seed 7)', mutations(20000)],
  ];
  const out = [`## ${base.label} vs ${cur.label}: error lists message by message`, ''];
  out.push('| messages | same verdict | identical lists | same messages, other order | different |');
  out.push('|---|---:|---:|---:|---:|');
  const diffs: string[] = [];
  for (const [label, msgs] of sets) {
    let verdict = 0;
    let identical = 0;
    let reordered = 0;
    let different = 0;
    for (const m of msgs) {
      const a = base.decode(m.topic, m.payload, NOW);
      const b = cur.decode(m.topic, m.payload, NOW);
      if (a.ok === b.ok) verdict++;
      const la = a.ok ? [] : a.errors.map((e) => e.message);
      const lb = b.ok ? [] : b.errors.map((e) => e.message);
      if (la.join('\n') === lb.join('\n')) identical++;
      else if ([...la].sort().join('\n') === [...lb].sort().join('\n')) reordered++;
      else {
        different++;
        if (diffs.length < 12)
          diffs.push(`- ${base.label}: ${JSON.stringify(la)}\n  ${cur.label}: ${JSON.stringify(lb)}`);
      }
    }
    out.push(`| ${label} | ${verdict} | ${identical} | ${reordered} | ${different} |`);
  }
  if (diffs.length > 0) out.push('', 'First differences:', ...diffs);
  return out;
}
