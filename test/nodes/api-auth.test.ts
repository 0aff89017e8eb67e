// The API is closed wherever the package runs: every API node checks the token of its wpt-api
// before anything else (stock Node-RED settings, node-red-node-test-helper here). Missing and wrong
// tokens get different 401s, no token configured anywhere gets a 503 saying how to set one, only
// /api/health is public, and the live feed's WebSocket refuses the upgrade without the token.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { nr } from '../helpers/node-red';
import { sha256Hex } from '../../nodes/lib/api';
import { until } from '../helpers/wait';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const apiNode = require('../../nodes/wpt-api/wpt-api');
const queryNode = require('../../nodes/wpt-query/wpt-query');
const recommenderNode = require('../../nodes/wpt-recommender/wpt-recommender');
const chargeNode = require('../../nodes/wpt-charge/wpt-charge');
const commandNode = require('../../nodes/wpt-command/wpt-command');
const feedNode = require('../../nodes/wpt-feed/wpt-feed');
const twinNode = require('../../nodes/wpt-twin/wpt-twin');

const TOKEN = 'a-test-token-of-24-chars';
type Msg = Record<string, unknown>;

/** An http-in-like message: msg.req with headers (and params/query), msg.payload the body. */
const request = (headers: Record<string, string> = {}, extra: Msg = {}): Msg => ({
  req: { headers, params: {}, query: {} },
  payload: {},
  ...extra,
});
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function answers(id: string): Msg[] {
  const got: Msg[] = [];
  nr.getNode(id).on('input', (m) => got.push(m));
  return got;
}

/** Each API node with its answers wired to helper 'res'. */
function apiFlow(api: string | null): unknown[] {
  const withApi = api ? { api } : {};
  return [
    { id: 'f', type: 'wpt-fleet' },
    ...(api ? [{ id: api, type: 'wpt-api' }] : []),
    { id: 'q_hubs', type: 'wpt-query', op: 'hubs', fleet: 'f', ...withApi, wires: [['res']] },
    { id: 'q_health', type: 'wpt-query', op: 'health', fleet: 'f', ...withApi, wires: [['res']] },
    { id: 'rec', type: 'wpt-recommender', fleet: 'f', ...withApi, wires: [['res']] },
    { id: 'charge', type: 'wpt-charge', fleet: 'f', ...withApi, wires: [['mqtt'], ['res']] },
    { id: 'cmd', type: 'wpt-command', op: 'vehicle-upsert', ...withApi, wires: [['twin'], ['res']] },
    { id: 'res', type: 'helper' },
    { id: 'mqtt', type: 'helper' },
    { id: 'twin', type: 'helper' },
  ];
}
const NODES = [fleetNode, apiNode, queryNode, recommenderNode, chargeNode, commandNode];
const PROTECTED = ['q_hubs', 'rec', 'charge', 'cmd'];

describe('API nodes: the token is checked by the package itself', function () {
  this.timeout(15000);
  const savedEnv = process.env.WPT_API_TOKEN;
  before(() => nr.startServer());
  after(() => nr.stopServer());
  beforeEach(() => delete process.env.WPT_API_TOKEN);
  afterEach(async () => {
    await nr.unload();
    if (savedEnv === undefined) delete process.env.WPT_API_TOKEN;
    else process.env.WPT_API_TOKEN = savedEnv;
  });

  it('refuses a missing token and a wrong one (different messages) on every protected node; serves the right one', async () => {
    await nr.load(NODES, apiFlow('api'), { api: { token: TOKEN } });
    const res = answers('res');
    const twin = answers('twin');
    for (const id of PROTECTED) {
      const n = res.length;
      nr.getNode(id).receive(request());
      nr.getNode(id).receive(request(bearer('wrong-token-wrong-token')));
      await until(() => res.length === n + 2, 2000, id);
      const [missing, wrong] = [res[n]!, res[n + 1]!];
      assert.equal(missing.statusCode, 401, id);
      assert.equal(wrong.statusCode, 401, id);
      assert.match((missing.payload as { message: string }).message, /API token required/);
      assert.match((wrong.payload as { message: string }).message, /API token not accepted/);
      assert.equal((missing.headers as Record<string, string>)['WWW-Authenticate'], 'Bearer realm="wpt-dlm"');
    }
    assert.equal(twin.length, 0, 'no command went to the twin');
    const n = res.length;
    nr.getNode('q_hubs').receive(request(bearer(TOKEN)));
    nr.getNode('q_hubs').receive(request({ 'x-api-key': TOKEN }));
    nr.getNode('cmd').receive(request(bearer(TOKEN), { payload: { vehicle_id: 'ev_1' } }));
    await until(() => res.length === n + 2 && twin.length === 1, 2000, 'served');
    assert.deepEqual([res[n]?.statusCode, res[n + 1]?.statusCode], [200, 200]);
    assert.deepEqual((twin[0]?.command as { op: string }).op, 'vehicle-upsert');
  });

  it('keeps /api/health public', async () => {
    await nr.load(NODES, apiFlow('api'), { api: { token: TOKEN } });
    const res = answers('res');
    nr.getNode('q_health').receive(request());
    await until(() => res.length === 1);
    assert.notEqual(res[0]?.statusCode, 401);
  });

  it('accepts the token given as its hash (sha256:…), and WPT_API_TOKEN when the node has none', async () => {
    await nr.load(NODES, apiFlow('api'), { api: { token: `sha256:${sha256Hex(TOKEN)}` } });
    let res = answers('res');
    nr.getNode('q_hubs').receive(request(bearer(TOKEN)));
    await until(() => res.length === 1);
    assert.equal(res[0]?.statusCode, 200);
    await nr.unload();

    process.env.WPT_API_TOKEN = TOKEN;
    await nr.load(NODES, apiFlow('api'));
    res = answers('res');
    nr.getNode('q_hubs').receive(request(bearer(TOKEN)));
    await until(() => res.length === 1);
    assert.equal(res[0]?.statusCode, 200);
  });

  it('is closed, saying how to set a token, when none is configured or a node has no wpt-api', async () => {
    await nr.load(NODES, apiFlow('api'));
    let res = answers('res');
    for (const id of PROTECTED) nr.getNode(id).receive(request(bearer(TOKEN)));
    await until(() => res.length === PROTECTED.length);
    for (const m of res) {
      assert.equal(m.statusCode, 503);
      assert.match((m.payload as { message: string }).message, /no token configured.*wpt-api.*WPT_API_TOKEN/);
    }
    await nr.unload();
    await nr.load(NODES, apiFlow(null));
    res = answers('res');
    for (const id of PROTECTED) nr.getNode(id).receive(request(bearer(TOKEN)));
    await until(() => res.length === PROTECTED.length);
    for (const m of res) assert.equal(m.statusCode, 503);
  });

  it('serves messages that are not HTTP requests (an inject for the dashboard) without a token', async () => {
    await nr.load(NODES, apiFlow('api'), { api: { token: TOKEN } });
    const res = answers('res');
    nr.getNode('q_hubs').receive({ payload: '' });
    await until(() => res.length === 1);
    assert.equal(res[0]?.statusCode, 200);
  });
});

describe('node: wpt-feed (its own WebSocket, closed without the token)', function () {
  this.timeout(15000);
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  const wsUrl = (query = '') => `${nr.url().replace(/^http/, 'ws')}/api/ws${query}`;
  /** Opens a socket; resolves with the first frame (JSON) or the refusal's status code. */
  function open(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ ws?: WebSocket; first?: Msg; status?: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.once('message', (d) => resolve({ ws, first: JSON.parse(d.toString()) as Msg }));
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.once('error', () => undefined);
    });
  }

  it('refuses the upgrade without a token (401) or with a wrong one; with it: a snapshot at once, then changes, filtered', async () => {
    await nr.load(
      [fleetNode, apiNode, feedNode, twinNode],
      [
        { id: 'f', type: 'wpt-fleet' },
        { id: 'api', type: 'wpt-api' },
        { id: 't', type: 'wpt-twin', fleet: 'f', wires: [['feed'], [], []] },
        { id: 'feed', type: 'wpt-feed', fleet: 'f', api: 'api', path: '/api/ws' },
      ],
      { api: { token: TOKEN } },
    );
    assert.equal((await open(wsUrl())).status, 401);
    assert.equal((await open(wsUrl('?token=nope-nope-nope-nope'))).status, 401);
    nr.getNode('t').receive({ topic: 'iot/hubs/hub_a/status', payload: '{"state":"online","cpu_temp":40}' });
    await until(
      () => (nr.getNode('f') as unknown as { twin: { stats(): { hubs: number } } }).twin.stats().hubs === 1,
    );
    const { ws, first } = await open(wsUrl(`?token=${TOKEN}`));
    assert.ok(ws);
    try {
      assert.equal(first?.type, 'snapshot');
      assert.deepEqual(
        (first?.hubs as Array<{ hub_id: string }>).map((h) => h.hub_id),
        ['hub_a'],
      );
      const frames: Msg[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Msg));
      ws.send(JSON.stringify({ hub_id: 'hub_b' }));
      await until(() => frames.some((f) => f.type === 'subscribed'));
      nr.getNode('t').receive({
        topic: 'iot/hubs/hub_a/status',
        payload: '{"state":"online","cpu_temp":41}',
      });
      nr.getNode('t').receive({
        topic: 'iot/hubs/hub_b/status',
        payload: '{"state":"online","cpu_temp":42}',
      });
      await until(() => frames.some((f) => f.type === 'changes'));
      await new Promise((r) => setTimeout(r, 100));
      const changes = frames.filter((f) => f.type === 'changes').flatMap((f) => f.changes as Msg[]);
      assert.ok(changes.length > 0);
      assert.ok(
        changes.every((c) => c.hub_id === 'hub_b'),
        JSON.stringify(changes),
      );
      assert.ok(
        changes.every((c) => !('hubId' in c)),
        'snake_case',
      );
    } finally {
      ws.close();
    }
    // The Authorization header works too.
    const h = await open(wsUrl(), bearer(TOKEN));
    assert.equal(h.first?.type, 'snapshot');
    h.ws?.close();
  });

  it('is closed (503) without a wpt-api or a token configured', async () => {
    await nr.load(
      [fleetNode, apiNode, feedNode],
      [
        { id: 'f', type: 'wpt-fleet' },
        { id: 'feed', type: 'wpt-feed', fleet: 'f', path: '/api/ws' },
      ],
    );
    assert.equal((await open(wsUrl(`?token=${TOKEN}`))).status, 503);
  });
});

describe('API nodes: a body that is not JSON', function () {
  this.timeout(15000);
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('gets a 415 naming the Content-Type, not field errors of its form-decoded strings', async () => {
    await nr.load(NODES, apiFlow('api'), { api: { token: TOKEN } });
    const res = answers('res');
    for (const id of ['rec', 'charge', 'cmd']) {
      nr.getNode(id).receive({
        req: {
          method: 'POST',
          headers: { ...bearer(TOKEN), 'content-type': 'application/x-www-form-urlencoded' },
          params: {},
          query: {},
        },
        payload: { latitude: '44.6', longitude: '10.9', battery_level: '30' },
      });
    }
    await until(() => res.length === 3);
    for (const m of res) {
      assert.equal(m.statusCode, 415);
      assert.match(
        (m.payload as { message: string }).message,
        /must be JSON.*application\/x-www-form-urlencoded/,
      );
    }
  });
});
