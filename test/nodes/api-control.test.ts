// The operator control plane's REST pieces without a server: who the caller is, the audit log's
// query and rows, the QR code's URL and base, the route → command mapping with the field names
// the caller sent, and the answers of wpt-twin (200/201/204, 400, 404, 409).
import assert from 'node:assert/strict';
import {
  apiActorOf,
  auditRowJson,
  baseUrlOf,
  chargeUrl,
  parseAuditQuery,
  parseBaseUrl,
  parseCommand,
} from '../../nodes/lib/api';
import { restField, runCommand } from '../../nodes/wpt-twin/commands';
import { Twin } from '../../core/twin';

const NOW = Date.parse('2026-11-30T12:00:00Z');

describe('REST operator control (library)', () => {
  it('names the caller from X-WPT-Actor, refusing names it cannot record', () => {
    assert.deepEqual(apiActorOf({}), { ok: true, actor: 'api' });
    assert.deepEqual(apiActorOf({ 'x-wpt-actor': ' night shift ' }), { ok: true, actor: 'api:night shift' });
    for (const bad of ['', '   ', 'a\u0000b', 'x'.repeat(81), ['a', 'b']]) {
      const r = apiActorOf({ 'x-wpt-actor': bad });
      assert.equal(r.ok, false, JSON.stringify(bad));
      assert.match((r as { error: string }).error, /^X-WPT-Actor: /);
    }
  });

  it('parses the audit log query with a message per parameter', () => {
    const r = parseAuditQuery({
      hub_id: 'h1',
      actor: 'api:x',
      since: '2026-11-01',
      limit: '5',
      offset: '10',
    });
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      hubId: 'h1',
      nodeId: undefined,
      vehicleId: undefined,
      actor: 'api:x',
      since: Date.UTC(2026, 10, 1),
      until: undefined,
      limit: 5,
      offset: 10,
    });
    const bad = parseAuditQuery({
      hub_id: 'a/b',
      limit: '0',
      until: '2026-01-01',
      since: '2026-02-01',
      x: '1',
    });
    assert.equal(bad.ok, false);
    const fields = (bad as { errors: string[] }).errors.map((e) => e.split(':')[0]);
    assert.deepEqual(fields.sort(), ['hub_id', 'limit', 'until', 'x']);
  });

  it('shows an audit row with snake_case before/after and ISO time', () => {
    const row = auditRowJson({
      id: 7,
      event_key: 'k',
      ts: new Date(NOW),
      actor: 'api',
      op: 'hub-capacity-override',
      hub_id: 'h1',
      node_id: null,
      vehicle_id: null,
      session_id: null,
      before: { capacityOverride: null },
      after: { capacityOverride: { kw: 30.12345, fromMs: null, untilMs: NOW } },
      note: null,
    });
    assert.deepEqual(row.after, {
      capacity_override: { kw: 30.12345, from: null, until: '2026-11-30T12:00:00.000Z' },
    });
    assert.equal(row.timestamp, '2026-11-30T12:00:00.000Z');
  });

  it('builds the charge URL of a node on this server, from the request or a given base', () => {
    assert.equal(chargeUrl('http://h:1880/', 'h 1', 'n/1'), 'http://h:1880/api/nodes/h%201/n%2F1/charge');
    assert.equal(
      baseUrlOf({ protocol: 'https', headers: { host: 'dlm.example.org' } }),
      'https://dlm.example.org',
    );
    assert.equal(
      baseUrlOf({ protocol: 'http', headers: { host: '127.0.0.1:1880' } }),
      'http://127.0.0.1:1880',
    );
    assert.equal(baseUrlOf({ protocol: 'http', headers: { host: '[::1]:1880' } }), 'http://[::1]:1880');
    assert.equal(baseUrlOf({ headers: { host: 'evil.example/x?y' } }), null);
    assert.equal(baseUrlOf({ headers: {} }), null);
    assert.equal(parseBaseUrl('https://dlm.example.org/sub/'), 'https://dlm.example.org/sub');
    for (const bad of ['ftp://x', 'https://x/?q=1', 'https://u:p@x', 'not a url'])
      assert.equal(parseBaseUrl(bad), null, bad);
  });

  it('maps every route to its command; the body cannot move a command to another id', () => {
    const p = (op: Parameters<typeof parseCommand>[0], params: object, body: unknown) =>
      parseCommand(op, { params: params as Record<string, unknown>, query: {}, body });
    assert.deepEqual(
      p('node-maintenance', { hub_id: 'h1', node_id: 'n1' }, { maintenance: true, hub_id: 'h9' }),
      {
        ok: true,
        command: { op: 'node-maintenance', hub_id: 'h1', node_id: 'n1', maintenance: true },
      },
    );
    assert.deepEqual(p('hub-capacity-override', { hub_id: 'h1' }, { kw: 5, until: '2026-12-01T00:00:00Z' }), {
      ok: true,
      command: {
        op: 'hub-capacity-override',
        hub_id: 'h1',
        override: { kw: 5, until_ms: Date.UTC(2026, 11, 1) },
      },
    });
    assert.deepEqual(p('node-max-power-override-clear', { hub_id: 'h1', node_id: 'n1' }, undefined), {
      ok: true,
      command: { op: 'node-max-power-override', hub_id: 'h1', node_id: 'n1', kw: null },
    });
    assert.deepEqual(p('session-end', { hub_id: 'h1', node_id: 'n1' }, { note: 'stuck' }), {
      ok: true,
      command: { op: 'session-end', hub_id: 'h1', node_id: 'n1', note: 'stuck' },
    });
    assert.deepEqual(p('hub-delete', { hub_id: 'h1' }, [1]), {
      ok: false,
      errors: ['body: must be a JSON object'],
    });
  });

  it('answers as the REST API: 201 created, 200 updated, 204 deleted, 400 with the caller’s field names, 404 (409: e2e)', () => {
    const t = new Twin();
    const run = (cmd: unknown) => runCommand(t, cmd as never, 'api', NOW).answer;
    assert.equal(run({ op: 'hub-upsert', hub_id: 'h1', max_grid_capacity_kw: 50 }).statusCode, 201);
    assert.equal(run({ op: 'hub-upsert', hub_id: 'h1', firmware_version: '1' }).statusCode, 200);
    const bad = run({
      op: 'hub-capacity-override',
      hub_id: 'h1',
      override: { kw: -1, from_ms: 5, until_ms: 1 },
    });
    assert.equal(bad.statusCode, 400);
    const errors = (bad.payload as { errors: string[] }).errors;
    assert.ok(
      errors.some((e) => e.startsWith('kw: ')),
      JSON.stringify(errors),
    );
    const order = run({
      op: 'hub-capacity-override',
      hub_id: 'h1',
      override: { kw: 1, from_ms: 5, until_ms: 1 },
    });
    assert.deepEqual((order.payload as { errors: string[] }).errors, ['until: must be after from']);
    assert.equal(
      run({ op: 'node-maintenance', hub_id: 'h1', node_id: 'nx', maintenance: true }).statusCode,
      404,
    );
    assert.equal(run({ op: 'hub-delete', hub_id: 'h1' }).statusCode, 204);
    assert.equal(run({ op: 'hub-delete', hub_id: 'h1' }).statusCode, 404);
    assert.equal(restField('override.from_ms'), 'from');
    assert.equal(restField('override.until_ms'), 'until');
    assert.equal(restField('override.colour'), 'colour');
    assert.equal(restField('hub_id'), 'hub_id');
  });
});
