// The operators' controls on the dashboard: widget message → operator command (the REST rules),
// who acts, the notice, the control page's rows and the alarms banner.
import assert from 'node:assert/strict';
import {
  basicAuthUser,
  dashboardActor,
  dashboardCommand,
  dashboardNotice,
} from '../../nodes/lib/dashboard-controls';
import {
  dashboardAlarms,
  dashboardControlRows,
  DlmAlarmBook,
  effectiveCapacity,
  type ControlHubInput,
} from '../../nodes/wpt-query/dashboard-control';
import { Twin } from '../../core/twin';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function hub(over: Partial<ControlHubInput> = {}): ControlHubInput {
  return {
    hub_id: 'h1',
    state: 'online',
    stale: false,
    active: true,
    max_grid_capacity_kw: 100,
    capacity_override: null,
    load_kw: 40,
    last_seen: null,
    nodes: [
      {
        node_id: 'n2',
        name: null,
        state: 'idle',
        maintenance: false,
        operator_maintenance: false,
        error_code: 0,
        vehicle_id: null,
        session_id: null,
        power_kw: 0,
        power_limit_kw: 0,
      },
      {
        node_id: 'n1',
        name: 'Pad',
        state: 'charging',
        maintenance: false,
        operator_maintenance: false,
        error_code: 0,
        vehicle_id: 'v1',
        session_id: 's1',
        power_kw: 40.04,
        power_limit_kw: 50.06,
      },
    ],
    ...over,
  };
}

describe('dashboard controls', () => {
  describe('dashboardCommand', () => {
    it('turns a widget message into the operator command of the same REST op', () => {
      assert.deepEqual(
        dashboardCommand('node-maintenance', { hub_id: 'h1', node_id: 'n1', maintenance: true }),
        { ok: true, command: { op: 'node-maintenance', hub_id: 'h1', node_id: 'n1', maintenance: true } },
      );
      assert.deepEqual(dashboardCommand('hub-capacity-override', { hub_id: 'h1', kw: 30 }), {
        ok: true,
        command: { op: 'hub-capacity-override', hub_id: 'h1', override: { kw: 30 } },
      });
      assert.deepEqual(dashboardCommand('hub-deactivate', { hub_id: 'h1' }), {
        ok: true,
        command: { op: 'hub-active', hub_id: 'h1', active: false },
      });
      assert.deepEqual(dashboardCommand('vehicle-upsert', { vehicle_id: 'v1', priority: true }), {
        ok: true,
        command: { op: 'vehicle-upsert', vehicle_id: 'v1', priority: true },
      });
    });

    it('refuses an unknown topic and a payload that is not an object, naming them', () => {
      const r = dashboardCommand('reboot', {});
      assert.equal(r.ok, false);
      assert.match((r as { errors: string[] }).errors[0]!, /^topic: must be one of hub-upsert/);
      const p = dashboardCommand('hub-activate', 'h1');
      assert.match((p as { errors: string[] }).errors[0]!, /^payload:/);
    });

    it('gives commands the twin checks field by field', () => {
      const r = dashboardCommand('node-maintenance', { hub_id: 'h1', node_id: 'n1', maintenance: 'yes' });
      assert.equal(r.ok, true);
      const t = new Twin();
      assert.throws(
        () => t.operate((r as { command: unknown }).command, 'dashboard', NOW),
        (e: Error & { problems?: Array<{ field: string }> }) => e.problems?.[0]?.field === 'maintenance',
      );
    });
  });

  describe('who acts', () => {
    it('reads the user of an HTTP Basic header, nothing else', () => {
      const basic = (s: string) => 'Basic ' + Buffer.from(s).toString('base64');
      assert.equal(basicAuthUser(basic('operator:secret:with:colons')), 'operator');
      assert.equal(basicAuthUser(basic('nouser')), null);
      assert.equal(basicAuthUser(basic(':pw')), null);
      assert.equal(basicAuthUser(basic('a\u0001b:pw')), null);
      assert.equal(basicAuthUser('Bearer abc'), null);
      assert.equal(basicAuthUser(undefined), null);
    });

    it('names the dashboard user for the audit log, else "dashboard"', () => {
      assert.equal(dashboardActor({ socketId: 'x', user: { username: 'ada' } }), 'dashboard:ada');
      assert.equal(dashboardActor({ socketId: 'x' }), 'dashboard');
      assert.equal(dashboardActor(undefined), 'dashboard');
      assert.equal(dashboardActor({ user: { username: 'x'.repeat(81) } }), 'dashboard');
    });
  });

  describe('dashboardNotice', () => {
    it('says what was done, or why not', () => {
      const ok = (c: unknown) => dashboardNotice(c, 200, {}).text;
      assert.equal(
        ok({ op: 'node-maintenance', hub_id: 'h1', node_id: 'n1', maintenance: true }),
        'node h1/n1 in maintenance: limit 0 kW',
      );
      assert.equal(
        ok({ op: 'hub-capacity-override', hub_id: 'h1', override: { kw: 30 } }),
        'hub h1: capacity limited to 30 kW',
      );
      assert.equal(
        ok({ op: 'hub-capacity-override', hub_id: 'h1', override: null }),
        'hub h1: capacity override cleared',
      );
      assert.equal(
        ok({ op: 'vehicle-upsert', vehicle_id: 'v1', priority: false }),
        'vehicle v1: no priority',
      );
      assert.equal(ok({ op: 'session-end', hub_id: 'h1', node_id: 'n1' }), 'node h1/n1: session ended');
      const bad = dashboardNotice({ op: 'session-end' }, 404, { message: 'node h1/n1 has no open session' });
      assert.deepEqual(bad, { text: 'Not done: node h1/n1 has no open session', level: 'error' });
    });
  });

  describe('dashboardControlRows', () => {
    it('gives hubs and nodes by id with 0.1 kW, the capacity in use and what the operator set', () => {
      const rows = dashboardControlRows(
        [
          hub({ hub_id: 'h10' }),
          hub({ capacity_override: { kw: 30, from: null, until: '2026-11-30T13:00:00.000Z' } }),
        ],
        [
          {
            vehicle_id: 'v2',
            priority: true,
            soc: 33.333,
            soc_class: 'critical',
            is_charging: false,
            hub_id: null,
            node_id: null,
          },
          {
            vehicle_id: 'v1',
            priority: false,
            soc: 50,
            soc_class: 'normal',
            is_charging: true,
            hub_id: 'h1',
            node_id: 'n1',
          },
        ],
        NOW,
      );
      assert.deepEqual(
        rows.hubs.map((h) => h.hub_id),
        ['h1', 'h10'],
      );
      const h1 = rows.hubs[0]!;
      assert.equal(h1.effective_kw, 30);
      assert.equal(h1.override_kw, 30);
      assert.equal(h1.override_window, 'until 2026-11-30T13:00:00.000Z');
      assert.equal(h1.limits_kw, 50.1);
      assert.deepEqual(
        h1.nodes.map((n) => [n.node_id, n.power_kw, n.limit_kw, n.session]),
        [
          ['n1', 40, 50.1, true],
          ['n2', 0, 0, false],
        ],
      );
      assert.equal(rows.hubs[1]!.effective_kw, 100);
      assert.deepEqual(
        rows.vehicles.map((v) => [v.vehicle_id, v.soc_pct, v.charging_at]),
        [
          ['v1', 50, 'h1 / n1'],
          ['v2', 33.3, ''],
        ],
      );
    });

    it('uses an override only inside its window, and 0 for an inactive hub', () => {
      const later = { kw: 10, from: '2026-11-30T13:00:00Z', until: null };
      assert.equal(effectiveCapacity(hub({ capacity_override: later }), NOW), 100);
      assert.equal(
        effectiveCapacity(hub({ capacity_override: later }), Date.parse('2026-11-30T13:00:00Z')),
        10,
      );
      const over = { kw: 10, from: null, until: '2026-11-30T11:00:00Z' };
      assert.equal(effectiveCapacity(hub({ capacity_override: over }), NOW), 100);
      assert.equal(
        effectiveCapacity(hub({ capacity_override: { kw: 500, from: null, until: null } }), NOW),
        100,
      );
      assert.equal(effectiveCapacity(hub({ active: false }), NOW), 0);
      assert.equal(effectiveCapacity(hub({ max_grid_capacity_kw: null }), NOW), null);
    });
  });

  describe('dashboardAlarms', () => {
    it('lists hubs offline or stale, overloads, faulted nodes, stores down and DLM alarms; errors first', () => {
      const faulted = hub({ hub_id: 'h3' });
      faulted.nodes = [{ ...faulted.nodes[0]!, state: 'faulted', error_code: 42 }];
      const book = new DlmAlarmBook();
      book.apply({
        state: 'raised',
        alarm: 'hub-waiting-for-info',
        hub_id: 'h5',
        message: 'waiting for hub info',
      });
      const alarms = dashboardAlarms(
        [
          hub({ hub_id: 'h1', state: 'offline' }),
          hub({ hub_id: 'h2', stale: true }),
          faulted,
          hub({ hub_id: 'h4', load_kw: 30.6, capacity_override: { kw: 30, from: null, until: null } }),
          hub({ hub_id: 'h5' }),
        ],
        { postgres: 'down', influxdb: 'down' },
        book.list(),
        NOW,
      );
      assert.deepEqual(
        alarms.map((a) => [a.level, a.key]),
        [
          ['error', 'postgres'],
          ['error', 'offline:h1'],
          ['error', 'faulted:h3/n2'],
          ['error', 'overload:h4'],
          ['warning', 'influxdb'],
          ['warning', 'stale:h2'],
          ['warning', 'dlm:hub-waiting-for-info:h5:'],
        ],
      );
      assert.equal(alarms[3]!.text, 'hub h4 overloaded: 30.6 kW drawn, 30 kW allowed');
      assert.match(alarms[2]!.text, /faulted \(error 42\)/);
    });

    it('judges overload by the load drawn, not by the limits a hub set itself before the DLM', () => {
      const h = hub({ load_kw: 60 });
      h.nodes = h.nodes.map((n) => ({ ...n, power_limit_kw: 78 })); // Σ own limits 156 > 100
      assert.deepEqual(dashboardAlarms([h], {}, [], NOW), []);
      assert.deepEqual(dashboardAlarms([hub({ load_kw: 100.5 })], {}, [], NOW), [], 'within the tolerance');
      assert.equal(dashboardAlarms([hub({ active: false, load_kw: 5 })], {}, [], NOW)[0]?.key, 'overload:h1');
    });

    it('keeps the DLM alarms raised until cleared, and forgets removed hubs', () => {
      const book = new DlmAlarmBook();
      const a = { alarm: 'hub-ignores-commands', hub_id: 'h1', node_id: 'n1', message: 'ignores' };
      assert.equal(book.apply({ ...a, state: 'raised' }), true);
      assert.equal(book.apply({ ...a, hub_id: 'h2', state: 'raised' }), true);
      assert.equal(book.apply({ nonsense: true }), false);
      assert.equal(book.list().length, 2);
      book.apply({ ...a, state: 'cleared' });
      assert.deepEqual(
        book.list().map((x) => x.hub_id),
        ['h2'],
      );
      book.keepHubs(new Set(['h1']));
      assert.deepEqual(book.list(), []);
    });
  });
});
