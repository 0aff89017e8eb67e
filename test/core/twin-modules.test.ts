// The twin's modules on their own (below the Twin façade).
import assert from 'node:assert/strict';
import { hubRefusal, nodeRefusal, vehicleRefusal } from '../../core/twin/bounds';
import { configFrom, DEFAULT_TWIN_CONFIG } from '../../core/twin/config';
import {
  hubAvailable,
  maintenanceOf,
  newHubEntity,
  newNodeEntity,
  vehicleOnNode,
} from '../../core/twin/entities';
import { TwinInputError } from '../../core/twin/errors';
import { isSignOfLife } from '../../core/twin/hubs';
import { checkActor, parseCommand } from '../../core/twin/operator-input';
import { isLater, sessionIdOf, startSession } from '../../core/twin/sessions';
import { openSessionViews, removeNode, TwinState } from '../../core/twin/state';
import { hubView, nodeView } from '../../core/twin/views';
import type { TwinChange } from '../../core/twin';

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const state = (c: Partial<typeof DEFAULT_TWIN_CONFIG> = {}): TwinState => new TwinState(configFrom(c));

describe('core/twin modules', () => {
  it('entities: availability needs a sign of life; maintenance is the hub’s or the operator’s', () => {
    const h = newHubEntity('h');
    assert.equal(hubAvailable(h), false, 'never heard');
    h.lastSeenMs = T0;
    assert.equal(hubAvailable(h), true, 'state unknown but alive');
    h.state = 'offline';
    assert.equal(hubAvailable(h), false);
    h.state = 'online';
    h.stale = true;
    assert.equal(hubAvailable(h), false);
    const n = newNodeEntity(h, 'n');
    assert.equal(maintenanceOf(n), false);
    h.state = 'maintenance';
    assert.equal(maintenanceOf(n), true);
    h.state = 'online';
    n.operatorMaintenance = true;
    assert.equal(maintenanceOf(n), true);
    n.telemetry = Object.freeze({
      ts: 1,
      voltage: 0,
      current: 0,
      powerKw: 0,
      powerLimitKw: 0,
      isOccupied: true,
      vehicleId: 'vt',
      soc: null,
    });
    n.assignedVehicleId = 'va';
    assert.equal(vehicleOnNode(n), 'va', 'an assignment before telemetry');
    n.state = 'charging';
    n.statusVehicleId = 'vs';
    assert.equal(vehicleOnNode(n), 'vs', 'the charging status before an assignment');
  });

  it('views are frozen copies with the operator fields', () => {
    const h = newHubEntity('h');
    const v = hubView(h);
    assert.ok(Object.isFrozen(v));
    assert.deepEqual([v.active, v.capacityOverride, v.registered], [true, null, false]);
    const nv = nodeView(newNodeEntity(h, 'n'));
    assert.deepEqual([nv.maxPowerOverrideKw, nv.registered, nv.operatorEndedVehicleId], [null, false, null]);
  });

  it('state: counts nodes as they come and go; open sessions in start order', () => {
    const st = state();
    const out: TwinChange[] = [];
    const h = st.ensureHub('h', T0, out);
    const a = st.ensureNode(h, 'a', T0, out);
    const b = st.ensureNode(h, 'b', T0, out);
    st.ensureNode(h, 'a', T0, out);
    assert.equal(st.nodeCount, 2);
    assert.deepEqual(
      out.map((c) => c.type),
      ['hub-upserted', 'node-upserted', 'node-upserted'],
    );
    startSession(st, b, 'v1', T0 + 5, out);
    startSession(st, a, 'v2', T0 + 1, out);
    assert.deepEqual(
      openSessionViews(st).map((s) => s.sessionId),
      [sessionIdOf('h', 'a', T0 + 1), sessionIdOf('h', 'b', T0 + 5)],
    );
    assert.equal(st.vehicles.get('v1')?.nodeId, 'b');
    removeNode(st, a);
    assert.equal(st.nodeCount, 1);
    assert.equal(st.sessionNodes.has(a), false);
  });

  it('sessions: the later of two sessions is the later start, then the larger id', () => {
    const s = (startTs: number, sessionId: string) =>
      ({ startTs, sessionId }) as Parameters<typeof isLater>[0];
    assert.equal(isLater(s(2, 'a'), s(1, 'z')), true);
    assert.equal(isLater(s(1, 'b'), s(1, 'a')), true);
    assert.equal(isLater(s(1, 'a'), s(1, 'a')), false);
  });

  it('bounds: an operator may create (within the bounds) what registeredOnly refuses to messages', () => {
    const st = state({ registeredOnly: true, maxHubs: 1 });
    assert.equal(hubRefusal(st, 'h', undefined)?.reason, 'unregistered');
    assert.equal(hubRefusal(st, 'h', undefined, true), null);
    st.ensureHub('h', T0, null);
    assert.equal(hubRefusal(st, 'h2', undefined, true)?.reason, 'limit-hubs');
    const h = st.hubs.get('h')!;
    assert.equal(hubRefusal(st, 'h', h)?.reason, 'unregistered');
    h.registered = true;
    assert.equal(hubRefusal(st, 'h', h), null);
    assert.equal(nodeRefusal(st, 'h', 'n', undefined)?.reason, 'unregistered');
    assert.equal(vehicleRefusal(st, 'v', undefined, true), null);
  });

  it('freshness: only a live message within staleAfterS of its receipt is a sign of life', () => {
    const st = state({ staleAfterS: 10 });
    assert.equal(isSignOfLife(st, T0, T0 + 10_000, false), true);
    assert.equal(isSignOfLife(st, T0, T0 + 10_001, false), false);
    assert.equal(isSignOfLife(st, T0 + 5000, T0, false), true, 'a clock ahead of ours');
    assert.equal(isSignOfLife(st, T0, T0, true), false, 'retained');
  });

  it('config: every key checked, undefined keeps the default', () => {
    assert.deepEqual(configFrom(undefined), DEFAULT_TWIN_CONFIG);
    assert.equal(configFrom({ staleAfterS: undefined }).staleAfterS, 10);
    assert.throws(() => configFrom({ defaultBatteryKwh: 0 }), /defaultBatteryKwh must be > 0/);
    assert.throws(() => configFrom({ criticalSoc: -1 }), /criticalSoc must be a finite number/);
  });

  it('operator input: returns the command as given, or every problem; actors are names', () => {
    const cmd = {
      op: 'node-max-power-override',
      hub_id: 'h',
      node_id: 'n',
      kw: null,
      note: 'back to normal',
    };
    assert.equal(parseCommand(cmd), cmd);
    assert.throws(
      () => parseCommand({ op: 'hub-active', hub_id: 'h', active: true, extra: 1, note: 5 }),
      (e: unknown) =>
        e instanceof TwinInputError &&
        e.field === 'extra' &&
        e.problems.length === 2 &&
        e.problems[1]?.message === 'must be a string of at most 500 characters',
    );
    assert.equal(checkActor('ann (dashboard)'), 'ann (dashboard)');
    assert.throws(() => checkActor('x'.repeat(101)), /actor: must be at most 100 characters/);
    assert.throws(() => checkActor(42), /actor: must be a string/);
  });
});
