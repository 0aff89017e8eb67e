// InfluxWriter against a scripted fetch: batching, bounded buffer with exact loss counts,
// retries and states, rejects, close. (influx-vm.test.ts runs it against a real server.)
import assert from 'node:assert/strict';
import { sleep, until as waitUntil } from '../helpers/wait';
import {
  InfluxWriter,
  type InfluxPoint,
  type InfluxWriterStats,
  type WriterState,
} from '../../adapters/influx';

interface Call {
  url: string;
  headers: Record<string, string>;
  lines: string[];
}
type Script = (call: Call, signal: AbortSignal) => Promise<Response> | Response;

function fakeFetch(script: Script): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === 'string' ? init.body : '';
    const call: Call = { url: String(input), headers, lines: body ? body.split('\n') : [] };
    calls.push(call);
    return script(call, init?.signal as AbortSignal);
  }) as typeof fetch;
  return { fetch: f, calls };
}
const ok = (): Response => new Response(null, { status: 204 });
const refuse = (): Promise<Response> => Promise.reject(new TypeError('fetch failed'));
const hang = (_c: Call, signal: AbortSignal): Promise<Response> =>
  new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

function pts(n: number, from = 0): InfluxPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    measurement: 'm',
    tags: { id: 'x' },
    fields: { v: from + i },
    ts: 1_000 + from + i,
  }));
}
/** Polls every 5 ms: the scripted server answers within milliseconds. */
const until = (cond: () => boolean, ms = 3000): Promise<void> =>
  waitUntil(cond, ms, 'condition', { every: 5 });
function balanced(s: InfluxWriterStats, accepted: number): void {
  assert.equal(
    s.written + s.dropped + s.buffered,
    accepted,
    `accepted == written + dropped + buffered: ${JSON.stringify(s)}`,
  );
}

describe('influx writer (scripted server)', () => {
  const writers: InfluxWriter[] = [];
  const make = (cfg: Partial<ConstructorParameters<typeof InfluxWriter>[0]>): InfluxWriter => {
    const w = new InfluxWriter({
      url: 'http://influx.test:8086/',
      bucket: 'b',
      org: 'o',
      token: 't',
      ...cfg,
    });
    writers.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close(50);
  });

  it('sends full batches at once and a partial batch on the flush interval, to the v2 write URL', async () => {
    const { fetch, calls } = fakeFetch(ok);
    const w = make({ fetch, batchSize: 10, flushIntervalMs: 60 });
    assert.equal(w.write(pts(25)), 25);
    await until(() => calls.length >= 2);
    assert.deepEqual(
      calls.map((c) => c.lines.length),
      [10, 10],
    );
    assert.equal(calls[0]?.url, 'http://influx.test:8086/api/v2/write?org=o&bucket=b&precision=ms');
    assert.equal(calls[0]?.headers.authorization, 'Token t');
    assert.equal(calls[0]?.lines[0], 'm,id=x v=0 1000');
    await until(() => calls.length === 3); // the 5 left go with the interval
    assert.equal(calls[2]?.lines.length, 5);
    assert.deepEqual(w.stats(), {
      buffered: 0,
      written: 25,
      dropped: 0,
      rejected: 0,
      invalid: 0,
      retries: 0,
      lastError: null,
      state: 'ok',
    });
  });

  it('server down: keeps only the newest maxBufferPoints, counts the dropped exactly, recovers', async () => {
    let up = false;
    const { fetch, calls } = fakeFetch(() => (up ? ok() : refuse()));
    const states: WriterState[] = [];
    const w = make({
      fetch,
      batchSize: 4,
      maxBufferPoints: 10,
      flushIntervalMs: 20,
      minRetryDelayMs: 5,
      maxRetryDelayMs: 20,
      onStatusChange: (s) => states.push(s),
    });
    for (let i = 0; i < 50; i++) w.write(pts(1, i));
    await until(() => w.stats().state === 'down');
    const mid = w.stats();
    assert.ok(mid.retries >= 3, 'retried');
    assert.equal(mid.buffered, 10);
    assert.equal(mid.dropped, 40);
    assert.match(mid.lastError ?? '', /fetch failed/);
    balanced(mid, 50);
    assert.deepEqual(states.slice(0, 2), ['retrying', 'down']);
    up = true;
    assert.equal(await w.flush(1000), true);
    const s = w.stats();
    assert.equal(s.state, 'ok');
    assert.equal(s.written, 10);
    assert.equal(s.dropped, 40);
    balanced(s, 50);
    assert.equal(states.at(-1), 'ok');
    // what was written is the newest ten, in order
    const sent = calls.filter((_, i) => i >= calls.length - 3).flatMap((c) => c.lines);
    assert.deepEqual(
      sent.map((l) => Number(l.split(' ')[2])),
      Array.from({ length: 10 }, (_, i) => 1040 + i),
    );
  });

  it('a slow server times out and is retried; nothing is lost', async () => {
    let slow = true;
    const { fetch } = fakeFetch((c, signal) => (slow ? hang(c, signal) : ok()));
    const w = make({ fetch, batchSize: 5, timeoutMs: 40, minRetryDelayMs: 5, maxRetryDelayMs: 10 });
    w.write(pts(5));
    await until(() => w.stats().retries >= 1);
    assert.equal(w.stats().state, 'retrying');
    assert.match(w.stats().lastError ?? '', /TimeoutError|timeout/i);
    slow = false;
    await until(() => w.stats().written === 5);
    balanced(w.stats(), 5);
  });

  it('a batch the server refuses as invalid (400) is dropped and counted, not retried', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{"message":"unable to parse"}', { status: 400 }));
    const w = make({ fetch, batchSize: 3 });
    w.write(pts(3));
    await until(() => w.stats().rejected === 3);
    await sleep(30);
    assert.equal(calls.length, 1);
    const s = w.stats();
    assert.equal(s.dropped, 3);
    assert.equal(s.state, 'ok');
    assert.match(s.lastError ?? '', /400.*unable to parse/);
  });

  it('413 splits the batch until it fits', async () => {
    const { fetch, calls } = fakeFetch((c) =>
      c.lines.length > 2 ? new Response(null, { status: 413 }) : ok(),
    );
    const w = make({ fetch, batchSize: 8 });
    w.write(pts(8));
    await until(() => w.stats().written === 8);
    assert.deepEqual(
      calls.map((c) => c.lines.length),
      [8, 4, 2, 2, 2, 2],
    );
  });

  it('503 and 401 are retried (server or configuration can recover)', async () => {
    const statuses = [503, 401];
    const { fetch } = fakeFetch(() => {
      const status = statuses.shift();
      return status ? new Response('x', { status }) : ok();
    });
    const w = make({ fetch, batchSize: 2, minRetryDelayMs: 5, maxRetryDelayMs: 10 });
    w.write(pts(2));
    await until(() => w.stats().written === 2);
    assert.equal(w.stats().retries, 2);
  });

  it('write() never throws: nulls skipped, unwritable points counted as invalid, after close counted as dropped', async () => {
    const { fetch } = fakeFetch(ok);
    const w = make({ fetch, batchSize: 100 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const junk = [
      null,
      undefined,
      { measurement: '', tags: {}, fields: { a: 1 }, ts: 1 },
      { measurement: 'm', tags: {}, fields: {}, ts: 1 },
      { measurement: 'm', tags: {}, fields: { a: Number.NaN }, ts: 1 },
      { measurement: 'm', tags: {}, fields: { a: 1 }, ts: Number.POSITIVE_INFINITY },
      { measurement: 'm', tags: circular, fields: { a: 1 }, ts: 1 },
      { measurement: 'm', tags: null, fields: null, ts: 1 },
    ] as unknown as InfluxPoint[];
    assert.doesNotThrow(() => w.write(junk));
    assert.equal(w.stats().invalid, 5);
    assert.equal(w.stats().buffered, 1); // the circular tags object is skipped, the point kept
    await w.close(100);
    assert.equal(w.write(pts(3)), 0);
    assert.equal(w.stats().dropped, 3);
  });

  it('close() gives up after its timeout with the rest counted, and leaves no timer behind', async () => {
    // track every timer the writer creates: each must have fired or been cleared after close
    const pending = new Set<unknown>();
    const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
    const orig = { st: g.setTimeout, ct: g.clearTimeout, si: g.setInterval, ci: g.clearInterval };
    const wrapSet = (fn: (...a: unknown[]) => unknown, repeat: boolean) => (cb: () => void, ms?: number) => {
      const h: unknown = fn(() => {
        if (!repeat) pending.delete(h);
        cb();
      }, ms);
      pending.add(h);
      return h;
    };
    const wrapClear = (fn: (...a: unknown[]) => unknown) => (h: unknown) => {
      pending.delete(h);
      fn(h);
    };
    g.setTimeout = wrapSet(orig.st as (...a: unknown[]) => unknown, false) as never;
    g.setInterval = wrapSet(orig.si as (...a: unknown[]) => unknown, true) as never;
    g.clearTimeout = wrapClear(orig.ct as (...a: unknown[]) => unknown) as never;
    g.clearInterval = wrapClear(orig.ci as (...a: unknown[]) => unknown) as never;
    let s: InfluxWriterStats;
    let elapsed: number;
    try {
      const { fetch } = fakeFetch(hang);
      const w = new InfluxWriter({ url: 'http://x', bucket: 'b', fetch, batchSize: 5, timeoutMs: 10_000 });
      w.write(pts(12));
      const t0 = Date.now();
      s = await w.close(150);
      elapsed = Date.now() - t0;
    } finally {
      Object.assign(g, {
        setTimeout: orig.st,
        clearTimeout: orig.ct,
        setInterval: orig.si,
        clearInterval: orig.ci,
      });
    }
    assert.ok(elapsed < 1000, `close kept its timeout (${elapsed} ms)`);
    assert.equal(s.written, 0);
    assert.equal(s.dropped, 12);
    assert.equal(s.buffered, 0);
    assert.equal(pending.size, 0, 'timers left running');
  });

  it('close() flushes what is buffered when the server answers', async () => {
    const { fetch } = fakeFetch(ok);
    const w = new InfluxWriter({
      url: 'http://x',
      bucket: 'b',
      fetch,
      batchSize: 1000,
      flushIntervalMs: 60_000,
    });
    w.write(pts(7));
    const s = await w.close(1000);
    assert.equal(s.written, 7);
    assert.equal(s.dropped, 0);
  });

  it('ping() reports the server state and never rejects', async () => {
    const up = make({ fetch: fakeFetch(ok).fetch });
    assert.equal((await up.ping()).ok, true);
    const down = make({ fetch: fakeFetch(refuse).fetch });
    const r = await down.ping();
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /fetch failed/);
  });

  it('property-like: random outages keep accepted == written + dropped + buffered at every step', async () => {
    let n = 0;
    const { fetch } = fakeFetch(() => (n++ % 3 === 0 ? refuse() : ok()));
    const w = make({
      fetch,
      batchSize: 7,
      maxBufferPoints: 20,
      flushIntervalMs: 5,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 3,
    });
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      accepted += w.write(pts(1 + (i % 9), i * 10));
      balanced(w.stats(), accepted);
      await sleep(i % 4);
    }
    await until(() => w.stats().buffered === 0);
    balanced(w.stats(), accepted);
    assert.ok(w.stats().written > 0 && w.stats().retries > 0);
  });
});
