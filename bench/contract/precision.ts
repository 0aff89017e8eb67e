// Error precision of bench/contract.ts: the decoder's messages and Ajv's own errors graded
// against what the invalid corpus expects, and the capture's verdicts.
import * as current from '../../core/contract';
import { compiledValidator } from '../../core/contract/validate';
import { INVALID_MESSAGES } from '../../test/fixtures/invalid-messages';
import { compareLists } from './compare';
import { CAPTURE, impls, NOW, schemaCases } from './setup';
import type { Impl, Msg } from './setup';

type Grade = 'exact' | 'reworded' | 'lost';

/** The words a message must carry to state rule `rule` (its parameters). */
function tokensOf(rule: string): string[] {
  let m: RegExpMatchArray | null;
  if ((m = rule.match(/^must be at (?:least|most) (\d+)/))) return [m[1] as string];
  if ((m = rule.match(/^must be one of (.+)$/))) return (m[1] as string).split(', ');
  if ((m = rule.match(/^must be (?:a|an) (string|number|integer|boolean|object)( or null)?$/)))
    return m[2] ? [m[1] as string, 'null'] : [m[1] as string];
  if (rule === 'must be a finite number') return ['finite'];
  if (rule === 'must be an ISO-8601 date-time') return ['date-time'];
  if (rule === 'must be an IPv4 or IPv6 address') return ['ipv4', 'ipv6'];
  if (rule === 'must not contain control characters') return ['pattern'];
  if (rule === 'is required') return ['required'];
  return [rule]; // limits (`must be >= -90`): the text itself
}

function grade(expectPath: string, expectRule: string, messages: { path: string; text: string }[]): Grade {
  const atField = messages.filter((m) => m.path === expectPath);
  if (atField.some((m) => m.text === expectRule)) return 'exact';
  const all = atField.map((m) => m.text.toLowerCase()).join(' | ');
  return atField.length > 0 && tokensOf(expectRule).every((t) => all.includes(t.toLowerCase()))
    ? 'reworded'
    : 'lost';
}

function parsed(payload: unknown): unknown {
  if (Buffer.isBuffer(payload)) return JSON.parse(payload.toString('utf8'));
  if (typeof payload === 'string') return JSON.parse(payload);
  return payload;
}

/** Ajv's own errors for a corpus case: path in our notation, text as Ajv words it. */
function ajvErrors(topic: string, payload: unknown): { path: string; text: string; raw: string }[] {
  const t = current.parseTopic(topic);
  if (current.isTopicError(t)) return [];
  const name = current.PAYLOAD_OF[t.kind];
  const validate = compiledValidator(name, true);
  if (validate === undefined || validate(parsed(payload))) return [];
  return (validate.errors ?? []).map((e) => {
    const pointer =
      e.keyword === 'required'
        ? `${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}`
        : e.instancePath;
    return {
      path: name + pointer.split('/').join('.'),
      text: e.message ?? '',
      raw: `${e.instancePath || '/'} ${e.message ?? ''}`,
    };
  });
}

function splitExpect(expect: string): { path: string; rule: string } {
  const i = expect.indexOf(': ');
  return { path: expect.slice(0, i), rule: expect.slice(i + 2) };
}

function messagesOf(impl: Impl, c: Msg): { path: string; text: string }[] {
  const r = impl.decode(c.topic, c.payload, NOW);
  return r.ok ? [] : r.errors.map((e) => ({ path: e.path, text: e.rule }));
}

export function precision(): string[] {
  const out: string[] = [];
  const tally = (): Record<Grade, number> => ({ exact: 0, reworded: 0, lost: 0 });
  const byImpl = impls.map(() => tally());
  const ajvRaw = tally();
  const ajvExamples: Record<Grade, string[]> = { exact: [], reworded: [], lost: [] };
  let ajvNoisy = 0;
  for (const c of schemaCases) {
    const { path: p, rule } = splitExpect(c.expect);
    impls.forEach((impl, i) => {
      const g = grade(p, rule, messagesOf(impl, c));
      (byImpl[i] as Record<Grade, number>)[g]++;
    });
    const raw = ajvErrors(c.topic, c.payload);
    const g = grade(p, rule, raw);
    ajvRaw[g]++;
    if (raw.filter((e) => e.path === p).length > 1) ajvNoisy++;
    const ex = ajvExamples[g];
    const seen = new Set(ex.map((s) => s.split(' ⇐ ')[0]));
    if (ex.length < 8 && !seen.has(rule.replace(/-?\d+(\.\d+)?/g, 'N'))) {
      ex.push(
        `${rule.replace(/-?\d+(\.\d+)?/g, 'N')} ⇐ ${
          raw
            .filter((e) => e.path === p)
            .map((e) => e.raw)
            .join(' ; ') || '(nothing at the field)'
        }`,
      );
    }
  }
  const envelope = INVALID_MESSAGES.filter((c) => !schemaCases.includes(c));
  const envelopeOk = impls.map(
    (impl) =>
      envelope.filter((c) => messagesOf(impl, c).some((m) => `${m.path}: ${m.text}`.includes(c.expect)))
        .length,
  );

  out.push(`## Error precision: invalid corpus (${INVALID_MESSAGES.length} cases)`);
  out.push('');
  out.push(
    `${schemaCases.length} schema errors (one broken rule each) and ${envelope.length} envelope/topic/id cases (decode's own checks, before or after the schema).`,
  );
  out.push('');
  out.push('| messages of | exact | reworded | lost |');
  out.push('|---|---:|---:|---:|');
  impls.forEach((impl, i) => {
    const t = byImpl[i] as Record<Grade, number>;
    out.push(`| decode (${impl.label}) | ${t.exact} | ${t.reworded} | ${t.lost} |`);
  });
  out.push(
    `| Ajv alone (its own messages, JSON Pointer paths) | ${ajvRaw.exact} | ${ajvRaw.reworded} | ${ajvRaw.lost} |`,
  );
  out.push('');
  out.push(
    `Envelope/topic/id cases with the expected message: ${impls.map((impl, i) => `${impl.label} ${envelopeOk[i]}/${envelope.length}`).join(', ')}.`,
  );
  out.push(
    `Ajv alone gives more than one error for the broken field in ${ajvNoisy} of ${schemaCases.length} cases (type + enum, anyOf + one per format).`,
  );
  out.push('');
  for (const g of ['exact', 'reworded', 'lost'] as Grade[]) {
    out.push(`Ajv alone, ${g} (rule ⇐ Ajv's errors at the field), examples:`);
    for (const e of ajvExamples[g]) out.push(`- ${e}`);
  }

  out.push('');
  out.push(`## Capture of the original hub (${CAPTURE.length} lines)`);
  out.push('');
  for (const impl of impls) {
    const accepted = CAPTURE.filter((m) => impl.decode(m.topic, m.payload, NOW).ok).length;
    out.push(`- decode (${impl.label}): ${accepted}/${CAPTURE.length} accepted`);
  }
  const ajvAccepted = CAPTURE.filter((m) => ajvErrors(m.topic, m.payload).length === 0).length;
  out.push(`- Ajv alone: ${ajvAccepted}/${CAPTURE.length} accepted`);

  if (impls.length === 2) out.push('', ...compareLists());
  return out;
}
