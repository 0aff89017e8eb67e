// InfluxWriter (the client's WriteApi under our loss accounting) against a local HTTP
// server that answers as each test scripts it: batching, the v2 write request, statuses
// that are retried or refused, hanging and refused connections, the bound with exact
// loss counts, close. influx-vm.test.ts runs it against a real server of the write API.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { sleep, until as waitUntil } from '../helpers/wait';
import { TcpProxy } from '../helpers/tcp-proxy';
import { InfluxWriter, Point, type InfluxWriterConfig, type InfluxWriterStats } from '../../adapters/influx';

interface Req {
  url: string;
  headers: http.IncomingHttpHeaders;
  lines: string[];
}
/** A status, or: `hang` (never answer), `reset` (cut the connection without answering). */
type Answer = number | 'hang' | 'reset' | { status: number; headers?: Record<string, string>; body?: string };

interface Scripted {
  url: string;
  requests: Req[];
  /** Lines of the requests answered with a 2xx. */
  stored: string[];
  close(): Promise<void>;
}

async function scriptedServer(answer: (req: Req, i: number) => Answer): Promise<Scripted> {
  const requests: Req[] = [];
  const stored: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const r: Req = { url: req.url ?? '', headers: req.headers, lines: body ? body.split('\n') : [] };
      if (r.url.startsWith('/ping')) return res.writeHead(204).end();
      requests.push(r);
      const a = answer(r, requests.length - 1);
      if (a === 'hang') return;
      if (a === 'reset') return req.socket.destroy();
      const {
        status,
        headers,
        body: text,
      } = typeof a === 'number' ? { status: a, headers: {}, body: '' } : a;
      if (status >= 200 && status < 300) stored.push(...r.lines);
      res.writeHead(status, headers).end(text);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    stored,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Points m,id=x v=<from+i> at time 1000+from+i: each line is unique. */
function pts(n: number, from = 0): Point[] {
  return Array.from({ length: n }, (_, i) =>
    new Point('m')
      .tag('id', 'x')
      .floatField('v', from + i)
      .timestamp(1_000 + from + i),
  );
}
const valueOf = (line: string): number => Number(/ v=(\S+) /.exec(line)?.[1]);
const until = (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> =>
  waitUntil(cond, ms, what, { every: 5 });
function balanced(s: InfluxWriterStats): void {
  assert.equal(
    s.written + s.dropped + s.buffered,
    s.accepted,
    `accepted == written + dropped + buffered: ${JSON.stringify(s)}`,
  );
}

describe('influx writer (scripted HTTP server)', function () {
  this.timeout(20_000);
  const servers: Scripted[] = [];
  const writers: InfluxWriter[] = [];
  const server = async (answer: (req: Req, i: number) => Answer): Promise<Scripted> => {
    const s = await scriptedServer(answer);
    servers.push(s);
    return s;
  };
  const make = (url: string, cfg: Partial<InfluxWriterConfig> = {}): InfluxWriter => {
    const w = new InfluxWriter({ url: `${url}/`, bucket: 'b', org: 'o', token: 't', ...cfg });
    writers.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close(50);
    for (const s of servers.splice(0)) await s.close();
  });

  it('sends full batches at once and a partial batch after the flush interval, to the v2 write URL', async () => {
    const srv = await server(() => 204);
    const w = make(srv.url, { batchSize: 10, flushIntervalMs: 300 });
    assert.equal(w.write(pts(25)), 25);
    await until(() => srv.requests.length >= 2);
    await sleep(100);
    assert.deepEqual(
      srv.requests.map((r) => r.lines.length),
      [10, 10],
      'the 5 left wait for the interval',
    );
    const r0 = srv.requests[0] as Req;
    assert.equal(r0.url, '/api/v2/write?org=o&bucket=b&precision=ms');
    assert.equal(r0.headers.authorization, 'Token t');
    assert.match(r0.headers['content-type'] ?? '', /^text\/plain/);
    assert.equal(r0.lines[0], 'm,id=x v=0 1000');
    await until(() => srv.requests.length === 3);
    assert.equal(srv.requests[2]?.lines.length, 5);
    await until(() => w.stats().written === 25);
    assert.deepEqual(w.stats(), {
      accepted: 25,
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

  it('connection refused: only the newest maxBufferPoints kept, the oldest dropped and counted; recovery writes them', async () => {
    const srv = await server(() => 204);
    const proxy = new TcpProxy(new URL(srv.url));
    await proxy.open();
    await proxy.close(); // the port now refuses connections
    const states: string[] = [];
    const w = make(`http://127.0.0.1:${proxy.port}`, {
      batchSize: 4,
      maxBufferPoints: 10,
      flushIntervalMs: 20,
      minRetryDelayMs: 5,
      maxRetryDelayMs: 20,
      onStatusChange: (s) => states.push(s),
    });
    for (let i = 0; i < 50; i++) {
      w.write(pts(1, i));
      balanced(w.stats());
    }
    await until(() => w.stats().state === 'down', 5000, 'down');
    const mid = w.stats();
    assert.ok(mid.retries >= 3, 'retried');
    assert.equal(mid.buffered, 10);
    assert.equal(mid.dropped, 40);
    assert.match(mid.lastError ?? '', /ECONNREFUSED/);
    balanced(mid);
    assert.deepEqual(states.slice(0, 2), ['retrying', 'down']);
    await proxy.open(); // recovery
    assert.equal(await w.flush(3000), true, JSON.stringify(w.stats()));
    const s = w.stats();
    assert.equal(s.state, 'ok');
    assert.equal(s.written, 10);
    assert.equal(s.dropped, 40);
    balanced(s);
    assert.equal(states.at(-1), 'ok');
    // the newest ten, each once
    assert.deepEqual(
      srv.stored.map(valueOf).sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => 40 + i),
    );
    await proxy.close();
  });

  it('a hanging server: the request times out, is retried, and nothing is lost', async () => {
    let hang = true;
    const srv = await server(() => (hang ? 'hang' : 204));
    const w = make(srv.url, { batchSize: 5, timeoutMs: 100, minRetryDelayMs: 5, maxRetryDelayMs: 10 });
    w.write(pts(5));
    await until(() => w.stats().retries >= 1);
    assert.equal(w.stats().state, 'retrying');
    assert.match(w.stats().lastError ?? '', /timed out/i);
    hang = false;
    await until(() => w.stats().written === 5);
    balanced(w.stats());
    assert.deepEqual(srv.stored.map(valueOf), [0, 1, 2, 3, 4]);
  });

  it('a batch the server refuses as invalid (400) is dropped and counted as rejected, not retried', async () => {
    const srv = await server(() => ({
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"code":"invalid","message":"unable to parse"}',
    }));
    const w = make(srv.url, { batchSize: 3 });
    w.write(pts(3));
    await until(() => w.stats().rejected === 3);
    await sleep(50);
    assert.equal(srv.requests.length, 1);
    const s = w.stats();
    assert.equal(s.dropped, 3);
    assert.equal(s.state, 'ok');
    assert.match(s.lastError ?? '', /400.*unable to parse/);
    balanced(s);
  });

  it('503, 401 and 429 are retried (Retry-After honoured); a 200 counts as written', async () => {
    const answers: Answer[] = [503, 401, { status: 429, headers: { 'retry-after': '1' } }, 200];
    const srv = await server(() => answers.shift() ?? 204);
    const w = make(srv.url, { batchSize: 2, minRetryDelayMs: 5, maxRetryDelayMs: 2000 });
    w.write(pts(2));
    await until(() => srv.requests.length === 3);
    const t429 = Date.now();
    await until(() => w.stats().written === 2, 5000);
    assert.ok(Date.now() - t429 >= 900, 'waited the Retry-After second');
    assert.equal(w.stats().retries, 3);
    assert.equal(srv.requests.length, 4);
    balanced(w.stats());
  });

  it('write() never throws: nulls skipped, points without a line counted invalid, after close dropped', async () => {
    const srv = await server(() => 204);
    const w = make(srv.url, { batchSize: 100 });
    const junk = [
      null,
      undefined,
      new Point('m').timestamp(1), // no field
      new Point('m').floatField('a', 1), // no time
      new Point().floatField('a', 1).timestamp(1), // no measurement
      { toLineProtocol: () => { throw new Error('boom'); } }, // prettier-ignore
      {},
      ...pts(1),
    ] as unknown as Point[];
    assert.equal(w.write(junk), 1);
    assert.equal(w.stats().invalid, 5);
    assert.equal(w.stats().accepted, 1);
    await w.close(1000);
    assert.equal(w.stats().written, 1);
    assert.equal(w.write(pts(3)), 3);
    const s = w.stats();
    assert.equal(s.dropped, 3);
    balanced(s);
  });

  it('close() on a hanging server gives up after its timeout, counts the rest, leaves no timer or socket', async () => {
    const srv = await server(() => 'hang');
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const w = new InfluxWriter({ url: srv.url, bucket: 'b', batchSize: 5, timeoutMs: 10_000 });
    w.write(pts(12)); // two requests hang, two lines wait in the client's batch
    await until(() => srv.requests.length === 2);
    const t0 = Date.now();
    const s = await w.close(150);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1000, `close kept its timeout (${elapsed} ms)`);
    assert.equal(s.written, 0);
    assert.equal(s.dropped, 12);
    assert.equal(s.buffered, 0);
    balanced(s);
    // the client's sockets are destroyed; the server sees them close
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= baseline,
      2000,
      `resources back to the baseline: ${process.getActiveResourcesInfo().join(', ')}`,
    );
  });

  it('close() flushes what is buffered when the server answers', async () => {
    const srv = await server(() => 204);
    const w = new InfluxWriter({ url: srv.url, bucket: 'b', batchSize: 1000, flushIntervalMs: 60_000 });
    w.write(pts(7));
    const s = await w.close(2000);
    assert.equal(s.written, 7);
    assert.equal(s.dropped, 0);
    assert.deepEqual(srv.stored.map(valueOf), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('ping() reports the server state and never rejects', async () => {
    const srv = await server(() => 204);
    assert.deepEqual(
      { ...(await make(srv.url).ping(2000)), latencyMs: 0 },
      { ok: true, status: 204, latencyMs: 0 },
    );
    const down = await make('http://127.0.0.1:1').ping(2000);
    assert.equal(down.ok, false);
    assert.match(down.error ?? '', /ECONNREFUSED/);
  });

  it('property: under any mix of answers, accepted == written + dropped + buffered at every turn; written == stored', async () => {
    const answer = fc.constantFrom<Answer>(204, 204, 204, 503, 400, 'reset');
    const seen = { retries: 0, rejected: 0, dropped: 0, written: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(answer, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 5, max: 40 }),
        async (script, writes, bound) => {
          const srv = await scriptedServer((_r, i) => script[i % script.length] as Answer);
          const w = new InfluxWriter({
            url: srv.url,
            bucket: 'b',
            batchSize: 4,
            maxBufferPoints: bound,
            flushIntervalMs: 5,
            minRetryDelayMs: 1,
            maxRetryDelayMs: 4,
          });
          let checking = true;
          let turns = 0;
          const check = (): void => {
            if (!checking) return;
            balanced(w.stats());
            assert.ok(w.stats().buffered <= bound + 4 * 4, 'the bound holds (+ 4 batches in flight)');
            turns++;
            setImmediate(check);
          };
          check();
          try {
            let from = 0;
            for (const n of writes) {
              w.write(pts(n, from));
              from += n;
              balanced(w.stats());
              await sleep(n % 3);
            }
            await w.flush(3000);
            const s = await w.close(500);
            checking = false;
            balanced(s);
            assert.equal(s.buffered, 0);
            assert.equal(s.accepted, from);
            // what the server took is exactly what was counted written, each line once
            assert.equal(srv.stored.length, s.written);
            assert.equal(new Set(srv.stored).size, srv.stored.length, 'no line written twice');
            assert.ok(turns > 0);
            for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k] += s[k];
          } finally {
            checking = false;
            await w.close(0);
            await srv.close();
          }
        },
      ),
      { numRuns: 25 },
    );
    // the runs went through failures of every kind, not only successes
    assert.ok(
      Object.values(seen).every((n) => n > 0),
      JSON.stringify(seen),
    );
  });
});
