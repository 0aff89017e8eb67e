import assert from 'node:assert/strict';
import {
  dashboardEventRows,
  OWN_LIMITS_CORRECTED,
  dashboardHubRows,
  dashboardLoadPoints,
  dashboardNodeRows,
  dashboardVehicleRows,
  reasonMeaning,
  type DashboardHubInput,
  type DashboardVehicleInput,
} from '../../nodes/wpt-query/dashboard';
import { hubJson, vehicleJson, type TwinReader } from '../../nodes/lib/api/views';
import type { HubView, NodeView, VehicleView } from '../../core/twin';

type NodeIn = DashboardHubInput['nodes'][number];

function node(id: string, over: Partial<NodeIn> = {}): NodeIn {
  return {
    node_id: id,
    name: null,
    max_power_kw: 11,
    state: 'idle',
    maintenance: false,
    error_code: 0,
    vehicle_id: null,
    soc: null,
    soc_class: null,
    power_kw: null,
    power_limit_kw: null,
    ...over,
  };
}

function hub(id: string, over: Partial<DashboardHubInput> = {}): DashboardHubInput {
  return {
    hub_id: id,
    location: { latitude: 44.65, longitude: 10.925, altitude: 0 },
    max_grid_capacity_kw: 22,
    state: 'online',
    stale: false,
    load_kw: 0,
    utilisation: 0,
    last_seen: '2025-01-01T00:00:00.000Z',
    nodes: [],
    ...over,
  };
}

describe('dashboard views (wpt-query)', () => {
  describe('dashboardHubRows', () => {
    it('gives load against capacity, utilisation in %, nodes charging and the limits they charge with', () => {
      const rows = dashboardHubRows([
        hub('hub-1', {
          load_kw: 16.5,
          utilisation: 0.75,
          nodes: [
            node('n1', { state: 'charging', power_kw: 9, power_limit_kw: 11 }),
            node('n2', { state: 'charging', power_kw: 7.5, power_limit_kw: 7.5 }),
            node('n3', { power_limit_kw: 11 }),
          ],
        }),
      ]);
      assert.deepEqual(rows, [
        {
          hub_id: 'hub-1',
          location: '44.6500, 10.9250',
          state: 'online',
          load_kw: 16.5,
          capacity_kw: 22,
          utilisation_pct: 75,
          utilisation_bar: 75,
          charging: '2 / 3',
          allocated_kw: 18.5,
          last_seen: '2025-01-01T00:00:00.000Z',
        },
      ]);
    });

    it('orders hubs by id with numbers in natural order, whatever the input order', () => {
      const ids = dashboardHubRows([hub('hub-10'), hub('hub-2'), hub('hub-1')]).map((r) => r.hub_id);
      assert.deepEqual(ids, ['hub-1', 'hub-2', 'hub-10']);
    });

    it('marks a silent hub stale, keeps offline, and has no utilisation without a capacity', () => {
      const rows = dashboardHubRows([
        hub('a', { stale: true }),
        hub('b', { stale: true, state: 'offline' }),
        hub('c', { max_grid_capacity_kw: null, utilisation: null, location: null, load_kw: 3 }),
      ]);
      assert.deepEqual(
        rows.map((r) => r.state),
        ['stale', 'offline', 'online'],
      );
      assert.equal(rows[2]!.utilisation_pct, null);
      assert.equal(rows[2]!.utilisation_bar, 0);
      assert.equal(rows[2]!.capacity_kw, null);
      assert.equal(rows[2]!.location, '');
    });

    it('shows an overload above 100 % but keeps the bar within 0…100', () => {
      const [r] = dashboardHubRows([hub('h', { load_kw: 24.2, utilisation: 1.1 })]);
      assert.equal(r!.utilisation_pct, 110);
      assert.equal(r!.utilisation_bar, 100);
    });
  });

  describe('dashboardNodeRows', () => {
    it('lists the nodes of every hub by hub then node, with state, vehicle, SoC, power and limit', () => {
      const rows = dashboardNodeRows([
        hub('hub-2', { nodes: [node('node-1', { state: 'faulted', error_code: 42 })] }),
        hub('hub-1', {
          nodes: [
            node('node-10', { maintenance: true }),
            node('node-2', {
              name: 'Pad 2',
              state: 'charging',
              vehicle_id: 'ev-7',
              soc: 41.256,
              soc_class: 'normal',
              power_kw: 10.987,
              power_limit_kw: 11,
            }),
          ],
        }),
      ]);
      assert.deepEqual(
        rows.map((r) => `${r.hub_id}/${r.node_id}:${r.state}`),
        ['hub-1/node-2:charging', 'hub-1/node-10:maintenance', 'hub-2/node-1:faulted (42)'],
      );
      assert.deepEqual(rows[0], {
        hub_id: 'hub-1',
        node_id: 'node-2',
        name: 'Pad 2',
        state: 'charging',
        vehicle_id: 'ev-7',
        soc_pct: 41.3,
        soc_class: 'normal',
        power_kw: 11,
        limit_kw: 11,
        max_power_kw: 11,
      });
      // No vehicle: empty cells, not "null".
      assert.equal(rows[1]!.vehicle_id, '');
      assert.equal(rows[1]!.soc_class, '');
      assert.equal(rows[1]!.power_kw, null);
    });
  });

  describe('dashboardVehicleRows', () => {
    const v = (id: string, over: Partial<DashboardVehicleInput> = {}): DashboardVehicleInput => ({
      vehicle_id: id,
      soc: 50,
      soc_class: 'normal',
      priority: false,
      model: null,
      is_charging: false,
      speed_kmh: 0,
      hub_id: null,
      node_id: null,
      last_seen: null,
      ...over,
    });

    it('says where a vehicle charges, and whether it drives or is parked otherwise', () => {
      const rows = dashboardVehicleRows([
        v('ev-3', { speed_kmh: 42 }),
        v('ev-1', {
          is_charging: true,
          hub_id: 'hub-1',
          node_id: 'node-2',
          soc: 12.345,
          soc_class: 'critical',
        }),
        v('ev-2', { priority: true, model: 'Model X' }),
      ]);
      assert.deepEqual(
        rows.map((r) => [r.vehicle_id, r.activity, r.charging_at]),
        [
          ['ev-1', 'charging', 'hub-1 / node-2'],
          ['ev-2', 'parked', ''],
          ['ev-3', 'driving', ''],
        ],
      );
      assert.equal(rows[0]!.soc_pct, 12.3);
      assert.equal(rows[0]!.soc_class, 'critical');
      assert.equal(rows[1]!.priority, 'priority');
      assert.equal(rows[0]!.priority, '');
      assert.equal(rows[1]!.model, 'Model X');
    });

    it('keeps an unknown SoC unknown', () => {
      assert.equal(dashboardVehicleRows([v('x', { soc: null })])[0]!.soc_pct, null);
    });
  });

  describe('dashboardEventRows', () => {
    it('shows the reason in words and the change of limit, in the order given', () => {
      const rows = dashboardEventRows([
        {
          hub_id: 'hub-1',
          node_id: 'node-2',
          trigger_reason: 'VEHICLE_CONNECTED',
          original_limit: 11,
          new_limit: 7.25,
          total_grid_load: 18.4,
          available_capacity: 3.6,
          source: 'orchestrator',
          timestamp: '2025-01-01T00:00:02.000Z',
        },
        {
          hub_id: 'hub-1',
          node_id: 'node-1',
          trigger_reason: 'SOMETHING_NEW',
          original_limit: null,
          new_limit: 0,
          total_grid_load: null,
          available_capacity: null,
          source: 'hub',
          timestamp: '2025-01-01T00:00:01.000Z',
        },
      ]);
      assert.deepEqual(rows[0], {
        time: '2025-01-01T00:00:02.000Z',
        hub_id: 'hub-1',
        node_id: 'node-2',
        reason: 'VEHICLE_CONNECTED',
        meaning: 'a vehicle connected',
        change: '11.0 → 7.3',
        original_kw: 11,
        new_kw: 7.3,
        grid_load_kw: 18.4,
        available_kw: 3.6,
        source: 'orchestrator',
      });
      assert.equal(rows[1]!.change, '– → 0.0');
      assert.equal(rows[1]!.meaning, '');
      assert.equal(rows[1]!.source, 'hub');
    });

    it('shows our cut of limits a hub set itself above capacity (at start) as a correction, not an overload', () => {
      const e = {
        hub_id: 'hub-1',
        node_id: 'node-1',
        trigger_reason: 'REBALANCE',
        original_limit: 78,
        new_limit: 46.7,
        total_grid_load: 171.3,
        available_capacity: 0,
        source: 'orchestrator',
        timestamp: '2025-01-01T00:00:02.000Z',
      };
      const caps = new Map([['hub-1', 140]]);
      assert.equal(dashboardEventRows([e], caps)[0]!.meaning, OWN_LIMITS_CORRECTED);
      // Within capacity, a hub's own event, an increase, an unknown capacity: the reason's meaning.
      assert.equal(
        dashboardEventRows([{ ...e, total_grid_load: 140 }], caps)[0]!.meaning,
        'periodic rebalance',
      );
      assert.equal(dashboardEventRows([{ ...e, source: 'hub' }], caps)[0]!.meaning, 'periodic rebalance');
      assert.equal(dashboardEventRows([{ ...e, new_limit: 80 }], caps)[0]!.meaning, 'periodic rebalance');
      assert.equal(dashboardEventRows([e])[0]!.meaning, 'periodic rebalance');
    });

    it('knows every trigger reason of the design, and nothing inherited from Object', () => {
      for (const r of [
        'VEHICLE_CONNECTED',
        'VEHICLE_DISCONNECTED',
        'CHARGING_COMPLETE',
        'PRIORITY_SHIFT',
        'CAPACITY_CHANGED',
        'NODE_FAULT',
        'NODE_MAINTENANCE',
        'GRID_OVERLOAD',
        'REBALANCE',
        'RESYNC',
      ]) {
        assert.notEqual(reasonMeaning(r), '', r);
      }
      assert.equal(reasonMeaning('toString'), '');
      assert.equal(reasonMeaning('__proto__'), '');
    });
  });

  describe('dashboardLoadPoints', () => {
    it('gives per hub its load then its capacity at the given time, hubs by id', () => {
      const pts = dashboardLoadPoints(
        [hub('hub-2', { load_kw: 5.555 }), hub('hub-1', { load_kw: 10, max_grid_capacity_kw: 30 })],
        1_700_000_000_000,
      );
      assert.deepEqual(pts, [
        { t: 1_700_000_000_000, hub_id: 'hub-1', measure: 'load', series: 'hub-1 load', kw: 10 },
        { t: 1_700_000_000_000, hub_id: 'hub-1', measure: 'capacity', series: 'hub-1 capacity', kw: 30 },
        { t: 1_700_000_000_000, hub_id: 'hub-2', measure: 'load', series: 'hub-2 load', kw: 5.6 },
        { t: 1_700_000_000_000, hub_id: 'hub-2', measure: 'capacity', series: 'hub-2 capacity', kw: 22 },
      ]);
    });

    it('gives only the load of a hub whose capacity is not known yet, and nothing without hubs', () => {
      const pts = dashboardLoadPoints([hub('h', { max_grid_capacity_kw: null, load_kw: 1 })], 5);
      assert.deepEqual(
        pts.map((p) => p.measure),
        ['load'],
      );
      assert.deepEqual(dashboardLoadPoints([], 5), []);
    });

    it('gives the fleet total instead of a series per hub for a large fleet', () => {
      const many = Array.from({ length: 13 }, (_, i) =>
        hub(`h${i}`, { load_kw: 1, max_grid_capacity_kw: 10 }),
      );
      assert.deepEqual(dashboardLoadPoints(many, 7), [
        { t: 7, hub_id: '*', measure: 'load', series: 'all 13 hubs load', kw: 13 },
        { t: 7, hub_id: '*', measure: 'capacity', series: 'all 13 hubs capacity', kw: 130 },
      ]);
      assert.equal(dashboardLoadPoints(many.slice(0, 12), 7).length, 24);
    });
  });

  describe('agrees with the REST API views', () => {
    it('takes hubJson / vehicleJson output as they are, with the same load and capacity', () => {
      const hv: HubView = {
        hubId: 'hub-1',
        location: { latitude: 1, longitude: 2, altitude: 0 },
        maxGridCapacityKw: 20,
        ipAddress: null,
        firmwareVersion: null,
        state: 'online',
        cpuTempC: null,
        lastSeenMs: 1_700_000_000_000,
        stale: false,
        offlineSinceMs: null,
        available: true,
        infoTs: null,
        statusTs: null,
        registered: false,
        active: true,
        capacityOverride: null,
      };
      const nv: NodeView = {
        hubId: 'hub-1',
        nodeId: 'node-1',
        name: null,
        maxPowerKw: 11,
        state: 'charging',
        errorCode: 0,
        statusVehicleId: 'ev-1',
        maintenance: false,
        operatorMaintenance: false,
        maxPowerOverrideKw: null,
        operatorEndedVehicleId: null,
        telemetry: {
          ts: 1_700_000_000_000,
          voltage: 400,
          current: 20,
          powerKw: 8.123,
          powerLimitKw: 11,
        } as NodeView['telemetry'],
        assignedVehicleId: null,
        assignedAtMs: null,
        assignedTs: null,
        assignedSoc: null,
        vehicleId: 'ev-1',
        sessionId: null,
        lastSeenMs: null,
        infoTs: null,
        statusTs: null,
        registered: false,
      };
      const vv = {
        vehicleId: 'ev-1',
        position: null,
        speedKmh: 0,
        engineTempC: null,
        isCharging: true,
        soc: 33.333,
        socSource: 'vehicle',
        socTs: null,
        socReported: 33.333,
        socReportedTs: null,
        socReportedSource: 'vehicle',
        energySinceReportKwh: 0,
        socClass: 'normal',
        priority: false,
        batteryKwh: null,
        model: null,
        manufacturer: null,
        driver: null,
        lastSeenMs: null,
        telemetryTs: null,
        hubId: 'hub-1',
        nodeId: 'node-1',
      } as unknown as VehicleView;
      const twin: TwinReader = {
        hubs: () => [hv],
        hub: () => hv,
        nodesOf: () => [nv],
        vehicle: () => vv,
        vehicles: () => [vv],
        openSession: () => undefined,
        openSessions: () => [],
      };
      const api = hubJson(twin, hv);
      const [row] = dashboardHubRows([api]);
      // Same numbers, to 0.1 kW for people.
      assert.equal(api.load_kw, 8.123);
      assert.equal(row!.load_kw, 8.1);
      assert.equal(row!.capacity_kw, api.max_grid_capacity_kw);
      assert.equal(row!.utilisation_pct, Math.round(api.utilisation! * 1000) / 10);
      const [n] = dashboardNodeRows([api]);
      assert.equal(n!.soc_pct, 33.3);
      assert.equal(n!.power_kw, 8.1);
      const [v] = dashboardVehicleRows([vehicleJson(twin, vv)]);
      assert.equal(v!.charging_at, 'hub-1 / node-1');
    });
  });
});
