// The original API's pure modules: JSON as Pydantic prints it, Pydantic's input checks and
// errors, CORS, the client allow-list and token, the route table.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ROUTES,
  checkBody,
  checkQuery,
  corsHeaders,
  decideAccess,
  errorsText,
  findRoute,
  float,
  isoUtc,
  parseAllowList,
  pathInt,
  preflight,
  serialize,
  validationError,
} from '../../nodes/lib/original-api';
import { sha256Hex } from '../../nodes/lib/api';

describe('original API: JSON and times as the original printed them', () => {
  it('prints floats as floats, ints as ints, keeps nulls and drops undefined', () => {
    assert.equal(
      serialize({ a: float(22), b: float(0.5), c: 3, d: null, e: undefined, f: [float(-1), 'x', true] }),
      '{"a":22.0,"b":0.5,"c":3,"d":null,"f":[-1.0,"x",true]}',
    );
    assert.equal(serialize(float(1e21)), '1e+21');
    assert.equal(serialize(float(-0)), '-0.0');
    assert.equal(serialize(float(Number.NaN)), 'null');
  });

  it('a float serialised and parsed back is the same number (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        assert.ok(Object.is(JSON.parse(serialize({ x: float(x) })).x, x));
      }),
    );
  });

  it('datetimes: UTC, Z, microseconds only when not zero', () => {
    assert.equal(isoUtc(Date.parse('2026-01-15T10:31:07Z')), '2026-01-15T10:31:07Z');
    assert.equal(isoUtc(Date.parse('2026-01-15T10:31:07.123Z')), '2026-01-15T10:31:07.123000Z');
    assert.equal(isoUtc(new Date('2026-01-15T10:31:07.120Z')), '2026-01-15T10:31:07.120000Z');
  });
});

describe('original API: input checks and errors (Pydantic, lax mode)', () => {
  const spec = {
    id: { kind: 'str', min: 1, max: 5, required: true },
    n: { kind: 'int', ge: 0, le: 10, default: 3 },
    x: { kind: 'float', gt: 0, nullable: true },
    b: { kind: 'bool', default: false },
  } as const;

  it('applies defaults, converts as Pydantic does, lists what was sent', () => {
    const r = checkBody({ id: 'ab', x: '2.5', b: 'yes', other: 1 }, spec);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { id: 'ab', n: 3, x: 2.5, b: true });
    assert.deepEqual([...r.present].sort(), ['b', 'id', 'x']);
    const ints = checkBody({ id: 'a', n: 4.0, x: null }, spec);
    assert.ok(ints.ok && ints.value.n === 4 && ints.value.x === null);
  });

  it('reports every problem with its type, location and message', () => {
    const r = checkBody({ id: '', n: 2.5, x: 0, b: 'maybe' }, spec);
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.type, e.loc.join('.'), e.msg]),
      [
        ['string_too_short', 'body.id', 'String should have at least 1 character'],
        ['int_from_float', 'body.n', 'Input should be a valid integer, got a number with a fractional part'],
        ['greater_than', 'body.x', 'Input should be greater than 0'],
        ['bool_parsing', 'body.b', 'Input should be a valid boolean, unable to interpret input'],
      ],
    );
    const missing = checkBody({}, spec);
    assert.ok(!missing.ok);
    assert.deepEqual(missing.errors[0], {
      type: 'missing',
      loc: ['body', 'id'],
      msg: 'Field required',
      input: null,
    });
    const none = checkBody(undefined, spec);
    assert.ok(!none.ok && none.errors[0]!.type === 'missing' && none.errors[0]!.loc.join() === 'body');
    const arr = checkBody([1], spec);
    assert.ok(!arr.ok && arr.errors[0]!.type === 'model_attributes_type');
    const long = checkBody({ id: 'abcdef' }, spec);
    assert.ok(!long.ok && long.errors[0]!.msg === 'String should have at most 5 characters');
  });

  it('query strings: the last of repeated values, ints and bools from text', () => {
    const q = checkQuery(new URLSearchParams('n=1&n=7&b=off'), { n: spec.n, b: spec.b });
    assert.ok(q.ok);
    assert.deepEqual(q.value, { n: 7, b: false });
    const bad = checkQuery(new URLSearchParams('n=seven'), { n: spec.n });
    assert.ok(!bad.ok && bad.errors[0]!.type === 'int_parsing' && bad.errors[0]!.loc.join() === 'query,n');
    assert.deepEqual(pathInt('session_id', '42'), { ok: true, value: 42 });
    const p = pathInt('session_id', '4x');
    assert.ok(!p.ok && p.errors[0]!.loc.join() === 'path,session_id');
  });

  it('the 422 body: error, the list as one string (Python repr), code', () => {
    const r = validationError([
      { type: 'missing', loc: ['body', 'hub_id'], msg: 'Field required', input: null },
    ]);
    assert.equal(r.status, 422);
    assert.deepEqual(r.body, {
      error: 'Validation Error',
      detail: "[{'type': 'missing', 'loc': ('body', 'hub_id'), 'msg': 'Field required', 'input': None}]",
      code: 'VALIDATION_ERROR',
    });
    assert.equal(
      errorsText([{ type: 't', loc: ['body'], msg: "it's", input: { a: [true, 1.5] } }]),
      "[{'type': 't', 'loc': ('body',), 'msg': 'it\\'s', 'input': {'a': [True, 1.5]}}]",
    );
  });
});

describe('original API: CORS (Starlette, every origin, credentials)', () => {
  it('answers a preflight with the Origin, the methods, the requested headers, max age 600', () => {
    const r = preflight({
      origin: 'http://localhost:3000',
      'access-control-request-method': 'DELETE',
      'access-control-request-headers': 'content-type,x-y',
    });
    assert.equal(r.status, 200);
    assert.equal(String(r.body), 'OK');
    assert.deepEqual(
      { ...r.headers, 'Content-Type': undefined },
      {
        'Access-Control-Allow-Origin': 'http://localhost:3000',
        Vary: 'Origin',
        'Access-Control-Allow-Methods': 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT',
        'Access-Control-Max-Age': '600',
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Headers': 'content-type,x-y',
        'Content-Type': undefined,
      },
    );
  });

  it('ordinary answers: * with credentials; the Origin echoed when a cookie is sent', () => {
    assert.deepEqual(corsHeaders({ origin: 'http://a' }), {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Credentials': 'true',
    });
    assert.deepEqual(corsHeaders({ origin: 'http://a', cookie: 'x=1' }), {
      'Access-Control-Allow-Origin': 'http://a',
      'Access-Control-Allow-Credentials': 'true',
      Vary: 'Origin',
    });
  });
});

describe('original API: who may connect', () => {
  it('loopback only by default; exactly the listed networks when configured', () => {
    const d = parseAllowList('');
    assert.equal(d.configured, false);
    assert.ok(d.allows('127.0.0.1') && d.allows('::1') && d.allows('::ffff:127.0.0.5'));
    assert.ok(!d.allows('10.0.0.1') && !d.allows(undefined));
    const l = parseAllowList('10.0.0.0/8, 192.168.1.0/24 2001:db8::/32');
    assert.equal(l.text, '10.0.0.0/8, 192.168.1.0/24, 2001:db8::/32');
    assert.ok(l.allows('10.200.1.1') && l.allows('::ffff:192.168.1.77') && l.allows('2001:db8::5'));
    assert.ok(!l.allows('127.0.0.1') && !l.allows('192.168.2.1'));
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '::1/129'])
      assert.throws(() => parseAllowList(bad), /allow-list entry/);
  });

  it('a client is admitted by its address or by the token; a wrong token is 401, else 403', () => {
    const allow = parseAllowList('10.0.0.0/8');
    const hash = sha256Hex('a-token-of-16-chars');
    assert.deepEqual(decideAccess('10.1.1.1', {}, null, allow, null), { ok: true });
    assert.deepEqual(
      decideAccess('127.0.0.1', { authorization: 'Bearer a-token-of-16-chars' }, null, allow, hash),
      {
        ok: true,
      },
    );
    assert.deepEqual(decideAccess('8.8.8.8', {}, 'a-token-of-16-chars', allow, hash), { ok: true });
    const wrong = decideAccess('8.8.8.8', { 'x-api-key': 'nope' }, null, allow, hash);
    assert.ok(!wrong.ok && wrong.status === 401);
    const out = decideAccess('8.8.8.8', {}, null, allow, hash);
    assert.ok(!out.ok && out.status === 403 && /8\.8\.8\.8 is not allowed/.test(out.detail));
    const noTokenConfigured = decideAccess('8.8.8.8', { authorization: 'Bearer x' }, null, allow, null);
    assert.ok(!noTokenConfigured.ok && noTokenConfigured.status === 403);
  });
});

describe('original API: routes', () => {
  it('every route answers its own method and path, GET routes also HEAD', () => {
    for (const r of ROUTES) {
      const path = r.path.replace(/\{[^}]+\}/g, 'x1');
      const m = findRoute(r.method, path);
      assert.ok(m.kind === 'route', `${r.method} ${r.path}`);
      if (r.method === 'GET') assert.equal(findRoute('HEAD', path).kind, 'route');
    }
  });

  it('first match wins (/sessions/active before /sessions/{id}); 405 lists the methods; 404; 307', () => {
    const a = findRoute('GET', '/sessions/active');
    assert.ok(a.kind === 'route' && a.route.path === '/sessions/active');
    const s = findRoute('GET', '/sessions/start');
    assert.ok(s.kind === 'route' && s.route.path === '/sessions/{session_id}', 'as FastAPI: a 422 later');
    assert.deepEqual(findRoute('PATCH', '/sessions/5'), { kind: 'method', allow: ['DELETE', 'GET', 'HEAD'] });
    assert.deepEqual(findRoute('POST', '/sessions'), { kind: 'method', allow: ['GET', 'HEAD'] });
    assert.deepEqual(findRoute('GET', '/nope'), { kind: 'none' });
    assert.deepEqual(findRoute('GET', '/hubs/'), { kind: 'redirect', location: '/hubs' });
    const enc = findRoute('GET', '/hubs/h%20one');
    assert.ok(enc.kind === 'route' && enc.params.hub_id === 'h one');
  });
});
