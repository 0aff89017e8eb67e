import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apiAuthMiddleware, canonicalPath, isPublicRequest, tokenProblem } from '../../runtime/http-guard';
import { sha256 } from '../../runtime/secrets';

/** A spelling of `path` a client may send that reaches the same place on a lenient server. */
const spelling = (path: string) =>
  fc
    .record({
      upper: fc.array(fc.boolean(), { minLength: path.length, maxLength: path.length }),
      encode: fc.array(fc.boolean(), { minLength: path.length, maxLength: path.length }),
      doubleSlash: fc.boolean(),
      trailing: fc.constantFrom('', '/', '.', '//', './', '%2e', '%2F'),
    })
    .map(({ upper, encode, doubleSlash, trailing }) => {
      let out = '';
      for (let i = 0; i < path.length; i++) {
        let c = path[i]!;
        if (upper[i]) c = c.toUpperCase();
        if (encode[i] && c !== '/') c = '%' + c.charCodeAt(0).toString(16).padStart(2, '0');
        if (c === '/' && doubleSlash && i > 0) c = '//';
        out += c;
      }
      return out + trailing;
    });

function run(
  mw: ReturnType<typeof apiAuthMiddleware>,
  path: string,
  route: string,
  headers: Record<string, string> = {},
) {
  let passed = false;
  const res = {
    statusCode: 200,
    body: '',
    setHeader() {},
    end(b: string) {
      this.body = b;
    },
  };
  mw(
    { url: path, path, route: { path: route }, method: 'GET', headers, on() {}, resume() {} } as never,
    res as never,
    () => (passed = true),
  );
  return { passed, status: passed ? 200 : res.statusCode, body: res.body };
}

describe('runtime: HTTP guard', () => {
  it('spells every way of writing a path the same', () => {
    assert.equal(canonicalPath('/API//Hubs/'), '/api/hubs');
    assert.equal(canonicalPath('/api/%68ubs'), '/api/hubs');
    assert.equal(canonicalPath('/api%2Fhubs'), '/api/hubs');
    assert.equal(canonicalPath('/api/%252e%252e/api/hubs'), '/api/hubs');
    assert.equal(canonicalPath('/api/health/../hubs'), '/api/hubs');
    assert.equal(canonicalPath('/api/health./'), '/api/health');
    assert.equal(canonicalPath('\\api\\health'), '/api/health');
    assert.equal(canonicalPath('/api/%zz'), null);
    assert.equal(canonicalPath('/api/%00health'), null);
    const paths = fc.constantFrom('/api/health', '/api/hubs', '/api/vehicles/ev_1', '/api/nodes/h/n/charge');
    fc.assert(
      fc.property(
        paths.chain((p) => spelling(p).map((v) => [p, v] as const)),
        ([p, v]) => canonicalPath(v) === p,
      ),
    );
  });

  it('lets in without a token only what reaches the public route and normalises to exactly it', () => {
    const mw = apiAuthMiddleware(sha256('good-token-good-token'));
    fc.assert(
      fc.property(spelling('/api/health'), (p) => {
        assert.equal(run(mw, p, '/api/health').passed, true, p);
        // The same spelling that reached another route is not public, whatever it decodes to.
        assert.equal(run(mw, p, '/api/hubs/:hub_id').status, 401, p);
      }),
    );
    for (const p of ['/api/health/x', '/api/healthz', '/api/hubs/..%2Fhealth-', '/api/health%00', '/api']) {
      assert.equal(isPublicRequest({ path: p, route: { path: '/api/health' } } as never), false, p);
    }
    // A route is never public because of what its parameters decode to.
    assert.equal(run(mw, '/api/hubs/..%2F..%2Fapi%2Fhealth', '/api/hubs/:hub_id').status, 401);
    // Deny by default: any route that is not public by name, /api or not.
    for (const route of ['/api/hubs', '/webhook', '/API/HUBS', '/dashboard-data']) {
      assert.equal(run(mw, route, route).status, 401, route);
    }
    assert.ok(run(mw, '/api/hubs', '/api/hubs', { authorization: 'Bearer good-token-good-token' }).passed);
    assert.ok(run(mw, '/api/hubs', '/api/hubs', { 'x-api-key': 'good-token-good-token' }).passed);
  });

  it('tells a missing token from a wrong one', () => {
    const hash = sha256('good-token-good-token');
    const missing = tokenProblem(undefined, hash);
    const wrong = tokenProblem('bad-token-bad-token', hash);
    assert.ok(missing && wrong);
    assert.notEqual(missing, wrong);
    assert.match(missing, /required/);
    assert.match(wrong, /not accepted/);
    assert.equal(tokenProblem('good-token-good-token', hash), null);
  });
});
