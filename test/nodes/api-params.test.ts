// REST API input and output details, as people meet them: dates as ISO-8601 dates too, values
// outside what PostgreSQL stores refused with a 400, sources named, "is required" for a missing
// field, control characters refused, numbers rounded for people (kW/kWh 0.001, % 0.1).
import assert from 'node:assert/strict';
import {
  parseDlmEventQuery,
  parseSessionQuery,
  parseVehicleProfile,
  planChargeRequest,
  sessionRowJson,
  dlmEventRowJson,
  toPeopleJson,
} from '../../nodes/lib/api';
import { Twin } from '../../core/twin';

describe('REST API parameters and views', () => {
  it('takes an ISO-8601 date (its midnight, UTC) as well as a date-time or epoch milliseconds', () => {
    const r = parseDlmEventQuery({ since: '2020-01-01', until: '2020-01-02T12:00:00Z' });
    assert.ok(r.ok);
    assert.equal(r.value.since, Date.UTC(2020, 0, 1));
    assert.equal(r.value.until, Date.UTC(2020, 0, 2, 12));
    const bad = parseDlmEventQuery({ since: '2020-02-30' });
    assert.ok(!bad.ok && /since: 2020-02-30 is not a calendar date/.test(bad.errors.join()));
  });

  it('refuses times PostgreSQL cannot store, with a 400 naming the field', () => {
    for (const from of ['0000-01-01T00:00:00Z', '0000-01-01', '-000001-01-01T00:00:00Z']) {
      const r = parseSessionQuery({ from });
      assert.ok(!r.ok, from);
      assert.match(r.errors.join(), /^from: /, from);
    }
  });

  it('names the sources of DLM events instead of answering an empty list for a typo', () => {
    const r = parseDlmEventQuery({ source: 'bogus' });
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, ['source: must be one of orchestrator, hub']);
    assert.ok(parseDlmEventQuery({ source: 'hub' }).ok);
  });

  it('says "is required" for a charge request without vehicle_id', () => {
    const plan = planChargeRequest(new Twin(), { hub_id: 'h', node_id: 'n' }, {}, Date.now());
    assert.ok(!plan.ok);
    assert.deepEqual((plan.response.payload as { errors: string[] }).errors, ['vehicle_id: is required']);
  });

  it('refuses control characters (NUL …) in a vehicle profile, which PostgreSQL could not store', () => {
    const r = parseVehicleProfile({ vehicle_id: 'ev_1', model: 'x\u0000y' });
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, ['model: must not contain control characters']);
  });

  it('rounds numbers for people: kW and kWh to 0.001, SoC to 0.1', () => {
    const s = sessionRowJson({
      session_id: 's',
      hub_id: 'h',
      node_id: 'n',
      vehicle_id: 'v',
      start_time: new Date(0),
      end_time: null,
      energy_kwh: 2.3380500000000004,
      average_power_kw: 55.55555555,
      peak_power_kw: 77,
      start_soc: 20.04,
      end_soc: 41.06,
      close_reason: null,
    });
    assert.deepEqual([s.energy_kwh, s.average_power_kw, s.start_soc, s.end_soc], [2.338, 55.556, 20, 41.1]);
    const e = dlmEventRowJson({
      hub_id: 'h',
      node_id: 'n',
      trigger_reason: 'REBALANCE',
      original_limit: 38.18181818181818,
      new_limit: 44.21052631578947,
      total_grid_load: 140.0000001,
      available_capacity: 0,
      source: 'orchestrator',
      allocation_id: null,
      policy: null,
      owner_epoch: 7,
      ts: new Date(0),
    });
    assert.deepEqual([e.original_limit, e.new_limit, e.total_grid_load], [38.182, 44.211, 140]);
    assert.equal(e.owner_epoch, 7);
  });

  it('turns twin changes into snake_case JSON with ISO times and rounded numbers (the live feed)', () => {
    const j = toPeopleJson({
      type: 'node-telemetry',
      ts: 0,
      hubId: 'h',
      powerLimitKw: 46.666666,
      soc: 33.333,
      lastSeenMs: 1000,
      startTs: null,
    }) as Record<string, unknown>;
    assert.deepEqual(j, {
      type: 'node-telemetry',
      timestamp: '1970-01-01T00:00:00.000Z',
      hub_id: 'h',
      power_limit_kw: 46.667,
      soc: 33.3,
      last_seen: '1970-01-01T00:00:01.000Z',
      start_time: null,
    });
  });
});
