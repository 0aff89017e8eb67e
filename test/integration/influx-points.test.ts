// Points of twin changes, DLM commands and hub load, as line protocol (pure; no server
// needed: influx-vm.test.ts writes them to a real one).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MEASUREMENTS,
  MEASUREMENT_NAMES,
  Point,
  TimeSeriesPoints,
  changePoint,
  cleanText,
  dlmAllocationPoint,
  hubLoadPoint,
  hubStatusPoint,
  isDlmCommand,
  nodeTelemetryPoint,
  safeTag,
  storedTag,
  toLine,
  type NodeTelemetryChange,
} from '../../adapters/influx';
import { decode } from '../../core/contract';
import type { DlmCommand } from '../../core/dlm';
import { Twin } from '../../core/twin';
import { readCapture } from '../helpers/runtime';
import { reportChange } from '../helpers/report-changes';

// A reference parser with the semantics of the v2 line protocol spec (and of
// VictoriaMetrics): `\` before `,` `=` space or `\` escapes it, elsewhere it is literal.
function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    const n = s[i + 1];
    if (c === '\\' && n !== undefined && ',= \\'.includes(n)) {
      out += n;
      i++;
    } else out += c;
  }
  return out;
}
function splitUnescaped(s: string, sep: string, quotes = false): string[] {
  const parts: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
      continue;
    }
    if (quotes && c === '"') inQ = !inQ;
    if (c === sep && !inQ) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}
interface Parsed {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  ts: string;
}
function parseLine(line: string): Parsed {
  assert.ok(!line.includes('\n') && !line.includes('\r'), 'a line never holds a newline');
  // quotes only matter in the field section (as in the InfluxDB and VictoriaMetrics scanners)
  const [series, ...rest] = splitUnescaped(line, ' ');
  const parts = splitUnescaped(rest.join(' '), ' ', true);
  assert.equal(parts.length, 2, `three sections in ${JSON.stringify(line)}`);
  const [fieldText, ts] = parts as [string, string];
  const [m, ...tagParts] = splitUnescaped(series as string, ',');
  const tags: Record<string, string> = {};
  for (const t of tagParts) {
    const kv = splitUnescaped(t, '=');
    assert.equal(kv.length, 2, `one = in tag ${JSON.stringify(t)}`);
    tags[unescape(kv[0] as string)] = unescape(kv[1] as string);
  }
  const fields: Record<string, string> = {};
  for (const f of splitUnescaped(fieldText, ',', true)) {
    const i = f.indexOf('=');
    fields[unescape(f.slice(0, i))] = f.slice(i + 1);
  }
  return { measurement: unescape(m as string), tags, fields, ts };
}
function unquote(v: string): string {
  assert.ok(v.startsWith('"') && v.endsWith('"'));
  return v.slice(1, -1).replace(/\\([\\"])/g, '$1');
}

const TS = Date.parse('2026-11-26T07:13:47.697Z');
const line = (p: Point | null | undefined): string => {
  assert.ok(p, 'a point');
  const l = toLine(p);
  assert.ok(l, 'a line');
  return l;
};
function telemetry(over: Partial<NodeTelemetryChange> = {}): NodeTelemetryChange {
  return {
    type: 'node-telemetry',
    ts: TS,
    hubId: 'hub_01',
    nodeId: 'node_01',
    powerKw: 59.1,
    powerLimitKw: 78,
    voltage: 8.553,
    current: 0.069,
    isOccupied: true,
    vehicleId: 'vehicle_01',
    soc: 20,
    ...over,
  };
}
const command: DlmCommand = {
  hubId: 'hub_01',
  nodeId: 'node_02',
  originalLimitKw: 78,
  newLimitKw: 44.2,
  reason: 'PRIORITY_SHIFT',
  allocationId: 'a-1',
  ts: TS,
  totalGridLoadKw: 140.01,
  attempt: 1,
  availableCapacityKw: 0,
};

describe('influx points: twin changes and DLM commands → line protocol', () => {
  it('node_telemetry from the twin’s own change, with the fields Telegraf wrote (floats, boolean, string)', () => {
    const twin = new Twin();
    const r = decode(
      'iot/hubs/hub_01/nodes/node_01/telemetry',
      {
        voltage: 8.553,
        current: 0.069,
        power_kw: 59.1,
        power_limit_kw: 78,
        is_occupied: true,
        connected_vehicle_id: 'vehicle_01',
        current_vehicle_soc: 20,
        timestamp: new Date(TS).toISOString(),
      },
      TS,
    );
    assert.ok(r.ok);
    const changes = twin.apply(r.msg, TS);
    const tel = changes.filter((c) => c.type === 'node-telemetry');
    assert.equal(tel.length, 1);
    assert.equal(
      line(changePoint(tel[0] as NodeTelemetryChange)),
      'node_telemetry,hub_id=hub_01,node_id=node_01 connected_vehicle_id="vehicle_01",current=0.069,' +
        `current_vehicle_soc=20,is_occupied=T,power_kw=59.1,power_limit_kw=78,voltage=8.553 ${TS}`,
    );
  });

  it('hub_status, node_status, vehicle_telemetry (geo_location flattened with _), dlm_allocation, hub_load', () => {
    assert.equal(
      line(
        changePoint({
          type: 'hub-status',
          ts: TS,
          hubId: 'hub_01',
          state: 'online',
          cpuTempC: 72.5,
        } as never),
      ),
      `hub_status,hub_id=hub_01 cpu_temp=72.5,state="online" ${TS}`,
    );
    const ns = {
      type: 'node-status',
      ts: TS,
      hubId: 'h',
      nodeId: 'n',
      state: 'faulted',
      errorCode: 17,
      vehicleId: null,
    };
    assert.equal(line(changePoint(ns)), `node_status,hub_id=h,node_id=n error_code=17,state="faulted" ${TS}`);
    const vt = {
      type: 'vehicle-telemetry',
      ts: TS,
      vehicleId: 'vehicle_01',
      position: { latitude: 44.64, longitude: 10.92, altitude: -12.5 },
      batteryLevel: 35,
      speedKmh: null,
      engineTempC: 30,
      isCharging: false,
    };
    assert.equal(
      line(changePoint(vt)),
      'vehicle_telemetry,vehicle_id=vehicle_01 battery_level=35,engine_temp_c=30,geo_location_altitude=-12.5,' +
        `geo_location_latitude=44.64,geo_location_longitude=10.92,is_charging=F ${TS}`,
    );
    assert.equal(
      line(dlmAllocationPoint(command)),
      'dlm_allocation,hub_id=hub_01,node_id=node_02,trigger_reason=PRIORITY_SHIFT available_capacity_kw=0,' +
        `limit_kw=44.2,original_limit_kw=78,total_grid_load_kw=140.01 ${TS}`,
    );
    assert.equal(
      line(hubLoadPoint({ hubId: 'h', ts: TS, loadKw: 70, capacityKw: 140, utilisation: 0.5, nodes: 2 })),
      `hub_load,hub_id=h capacity_kw=140,load_kw=70,utilisation=0.5 ${TS}`,
    );
    // capacity unknown: load only
    assert.equal(
      line(hubLoadPoint({ hubId: 'h', ts: TS, loadKw: 5, capacityKw: null, utilisation: null, nodes: 1 })),
      `hub_load,hub_id=h load_kw=5 ${TS}`,
    );
  });

  it('leaves out null/non-finite fields; no point without an id, a field or a finite time', () => {
    assert.equal(
      line(nodeTelemetryPoint(telemetry({ vehicleId: null, soc: null, current: Number.NaN }))),
      `node_telemetry,hub_id=hub_01,node_id=node_01 is_occupied=T,power_kw=59.1,power_limit_kw=78,voltage=8.553 ${TS}`,
    );
    assert.equal(nodeTelemetryPoint(telemetry({ hubId: '' })), null);
    assert.equal(nodeTelemetryPoint(telemetry({ ts: Number.NaN })), null);
    assert.equal(
      hubStatusPoint({ type: 'hub-status', ts: TS, hubId: 'h', state: 7 as never, cpuTempC: null }),
      null,
    );
    assert.equal(dlmAllocationPoint({ ...command, nodeId: '' }), null);
    // a change type that is not a time series
    assert.equal(changePoint({ type: 'hub-state' }), undefined);
    assert.equal(changePoint({ type: 'session-opened' }), undefined);
    // a point made elsewhere without a time or a field makes no line
    assert.equal(toLine(new Point('m').floatField('x', 1)), undefined);
    assert.equal(toLine(new Point('m').timestamp(TS)), undefined);
  });

  it('maps every status and telemetry message of the original capture, every decoded number and boolean kept', () => {
    const flat = (o: Record<string, unknown>, prefix = ''): Array<[string, number | boolean]> =>
      Object.entries(o).flatMap(([k, v]): Array<[string, number | boolean]> => {
        if (v !== null && typeof v === 'object') return flat(v as Record<string, unknown>, `${prefix}${k}_`);
        return typeof v === 'number' || typeof v === 'boolean' ? [[`${prefix}${k}`, v]] : [];
      });
    const seen = new Set<string>();
    for (const { topic, payload } of readCapture()) {
      const r = decode(topic, payload, TS);
      assert.ok(r.ok, topic);
      const c = reportChange(r.msg);
      if (!c) continue;
      const parsed = parseLine(line(changePoint(c)));
      seen.add(parsed.measurement);
      const spec = MEASUREMENTS[parsed.measurement as keyof typeof MEASUREMENTS];
      assert.deepEqual(Object.keys(parsed.tags).sort(), [...spec.tags].sort(), topic);
      for (const [k, v] of Object.entries(parsed.fields)) {
        const type = spec.fields[k];
        assert.ok(type, `${parsed.measurement}.${k} is declared in MEASUREMENTS`);
        if (type === 'string') assert.ok(v.startsWith('"'), k);
        else if (type === 'boolean') assert.match(v, /^[TF]$/, k);
        else assert.ok(Number.isFinite(Number(v)), k);
      }
      // every number and boolean of the payload, with the name Telegraf flattened it to (as
      // decoded: a soc of 0 next to the "n/a" vehicle means no vehicle, and is left out)
      for (const [k, v] of flat(r.msg.data as Record<string, unknown>)) {
        const got = parsed.fields[k];
        assert.ok(got !== undefined, `${topic}: ${k}`);
        assert.equal(got, typeof v === 'boolean' ? (v ? 'T' : 'F') : String(v), `${topic}: ${k}`);
      }
      assert.equal(parsed.ts, String(r.msg.ts));
    }
    assert.deepEqual([...seen].sort(), ['hub_status', 'node_status', 'node_telemetry', 'vehicle_telemetry']);
  });

  it('MEASUREMENTS lists the six measurements with their tags', () => {
    assert.deepEqual(MEASUREMENT_NAMES, [
      'hub_status',
      'node_status',
      'node_telemetry',
      'vehicle_telemetry',
      'dlm_allocation',
      'hub_load',
    ]);
    assert.deepEqual(MEASUREMENTS.node_telemetry.tags, ['hub_id', 'node_id']);
    assert.equal(MEASUREMENTS.hub_status.fields.state, 'string');
  });
});

describe('influx points: TimeSeriesPoints (change lists and commands as they come on wires)', () => {
  it('one point per report change, hub load per hub, nothing for other changes; skipped counted', () => {
    const caps: Record<string, number> = { hub_01: 140 };
    const s = new TimeSeriesPoints({ hubLoadIntervalMs: 1000, capacityOf: (h) => caps[h] });
    const list = [
      telemetry({ nodeId: 'n1', powerKw: 40 }),
      { type: 'node-state', ts: TS, hubId: 'hub_01', nodeId: 'n1' },
      telemetry({ nodeId: 'n2', powerKw: 30, ts: TS + 1 }),
      { type: 'hub-status', ts: TS, hubId: 'hub_01', state: 'online', cpuTempC: 40 },
      telemetry({ hubId: '' }), // cannot be written
    ];
    const r = s.fromChanges(list, 1_000_000);
    assert.equal(r.skipped, 1);
    assert.deepEqual(
      r.points.map((p) => line(p).split(' ')[0]),
      [
        'node_telemetry,hub_id=hub_01,node_id=n1',
        'node_telemetry,hub_id=hub_01,node_id=n2',
        'hub_status,hub_id=hub_01',
        'hub_load,hub_id=hub_01',
      ],
    );
    assert.equal(
      line(r.points[3]),
      `hub_load,hub_id=hub_01 capacity_kw=140,load_kw=70,utilisation=0.5 ${TS + 1}`,
    );
    // within the interval the new load waits; due() gives it once the interval passed
    assert.equal(
      s.fromChanges([telemetry({ nodeId: 'n1', powerKw: 50, ts: TS + 2 })], 1_000_500).points.length,
      1,
    );
    assert.deepEqual(s.due(1_000_900), []);
    assert.deepEqual(s.due(1_001_000).map(line), [
      `hub_load,hub_id=hub_01 capacity_kw=140,load_kw=80,utilisation=0.5714285714285714 ${TS + 2}`,
    ]);
    assert.equal(
      line(s.fromCommand(command)).split(' ')[0],
      'dlm_allocation,hub_id=hub_01,node_id=node_02,trigger_reason=PRIORITY_SHIFT',
    );
  });

  it('recognises DLM commands by shape', () => {
    assert.equal(isDlmCommand(command), true);
    assert.equal(isDlmCommand({ ...command, ts: '2026' }), false);
    assert.equal(isDlmCommand(null), false);
  });
});

describe('influx points: escaping', () => {
  it('hostile ids stay one tag of one line', () => {
    const id = 'a b,c=d"e\\f\ng\u00e9\u26a1';
    const l = line(nodeTelemetryPoint(telemetry({ hubId: id, vehicleId: null })));
    assert.ok(
      l.startsWith('node_telemetry,hub_id=a\\ b\\,c\\=d"e\\\\f\\\\ng\u00e9\u26a1,node_id=node_01 '),
      l,
    );
    assert.deepEqual(parseLine(l).tags, { hub_id: 'a b,c=d"e\\f\\ng\u00e9\u26a1', node_id: 'node_01' });
  });

  it('a trailing backslash never escapes the separator after it', () => {
    assert.equal(safeTag('e\\'), 'e\\\\u005c');
    const l = line(nodeTelemetryPoint(telemetry({ hubId: 'x\\', nodeId: 'y' })));
    assert.deepEqual(parseLine(l).tags, { hub_id: 'x\\u005c', node_id: 'y' });
    assert.equal(storedTag('x\\'), 'x\\u005c');
  });

  it('string fields are quoted with quotes, backslashes and newlines escaped', () => {
    const l = line(nodeTelemetryPoint(telemetry({ vehicleId: 'a"b\\c\n" x=1\nm2 f=2 3' })));
    assert.ok(!l.includes('\n'));
    assert.equal(unquote(parseLine(l).fields.connected_vehicle_id as string), 'a"b\\c\\n" x=1\\nm2 f=2 3');
  });

  it('property: any ids give exactly one line whose tags read back as storedTag(id)', () => {
    const hostile = fc.string({
      unit: fc.constantFrom(
        ' ',
        ',',
        '=',
        '"',
        "'",
        '\\',
        '\n',
        '\r',
        '\t',
        '\u0000',
        'a',
        'Z',
        '\u00e9',
        '\u26a1',
        '#',
      ),
      minLength: 1,
      maxLength: 20,
    });
    const id = fc.oneof(hostile, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }));
    fc.assert(
      fc.property(id, id, fc.double({ noNaN: true, noDefaultInfinity: true }), (hub, node, v) => {
        const l = line(
          nodeTelemetryPoint(telemetry({ hubId: hub, nodeId: node, powerKw: v, vehicleId: node })),
        );
        const parsed = parseLine(l);
        assert.equal(parsed.measurement, 'node_telemetry');
        assert.deepEqual(parsed.tags, { hub_id: storedTag(hub), node_id: storedTag(node) });
        assert.equal(Number(parsed.fields.power_kw), v === 0 ? 0 : v);
        assert.equal(unquote(parsed.fields.connected_vehicle_id as string), cleanText(node));
        assert.equal(parsed.ts, String(TS));
        // what InfluxDB 1.x/2.x scanners need: no escaped text ends in a lone backslash
        for (const s of [hub, node])
          assert.ok(!safeTag(s).endsWith('\\') || safeTag(s).endsWith('\\\\'), JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
  });
});
