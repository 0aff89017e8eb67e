// Point mapping and line protocol (pure; no server needed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  MEASUREMENTS,
  MEASUREMENT_NAMES,
  cleanText,
  dlmAllocationPoint,
  escapeKey,
  formatTimestamp,
  hubLoadPoint,
  hubStatusPoint,
  nodeStatusPoint,
  nodeTelemetryPoint,
  toLineProtocol,
  vehicleTelemetryPoint,
  type InfluxPoint,
} from '../../adapters/influx';

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

describe('influx points: mapping', () => {
  it('node_telemetry carries tags, numeric, boolean and string fields as Telegraf wrote them', () => {
    const p = nodeTelemetryPoint({
      hubId: 'hub_01',
      nodeId: 'node_01',
      ts: TS,
      data: {
        voltage: 8.553,
        current: 0.069,
        power_kw: 59.1,
        power_limit_kw: 78,
        is_occupied: true,
        connected_vehicle_id: 'vehicle_01',
        current_vehicle_soc: 20,
      },
    });
    assert.ok(p);
    assert.equal(
      toLineProtocol(p),
      'node_telemetry,hub_id=hub_01,node_id=node_01 voltage=8.553,current=0.069,power_kw=59.1,power_limit_kw=78,' +
        `is_occupied=true,current_vehicle_soc=20,connected_vehicle_id="vehicle_01" ${TS}`,
    );
  });

  it('leaves out absent/null/mistyped fields; no point without any field, id or valid time', () => {
    const p = nodeTelemetryPoint({
      hubId: 'h',
      nodeId: 'n',
      ts: TS,
      data: {
        voltage: 1,
        current: null,
        power_kw: Number.NaN,
        connected_vehicle_id: null,
        current_vehicle_soc: null,
      },
    });
    assert.deepEqual(p?.fields, { voltage: 1 });
    assert.equal(nodeTelemetryPoint({ hubId: 'h', nodeId: 'n', ts: TS, data: {} }), null);
    assert.equal(hubStatusPoint({ hubId: '', ts: TS, data: { cpu_temp: 1 } }), null);
    assert.equal(hubStatusPoint({ hubId: 'h', ts: Number.NaN, data: { cpu_temp: 1 } }), null);
    // a wrong runtime type (e.g. a string where a number belongs) is not written
    const bad = { cpu_temp: '72' } as unknown as { cpu_temp: number };
    assert.equal(hubStatusPoint({ hubId: 'h', ts: TS, data: bad }), null);
  });

  it('vehicle_telemetry flattens geo_location with _', () => {
    const p = vehicleTelemetryPoint({
      vehicleId: 'vehicle_01',
      ts: TS,
      data: {
        geo_location: { latitude: 44.64, longitude: 10.92, altitude: 50 },
        battery_level: 35,
        speed_kmh: 0,
        engine_temp_c: 30,
        is_charging: true,
      },
    });
    assert.deepEqual(p, {
      measurement: 'vehicle_telemetry',
      tags: { vehicle_id: 'vehicle_01' },
      fields: {
        geo_location_latitude: 44.64,
        geo_location_longitude: 10.92,
        geo_location_altitude: 50,
        battery_level: 35,
        speed_kmh: 0,
        engine_temp_c: 30,
        is_charging: true,
      },
      ts: TS,
    });
  });

  it('dlm_allocation from a DLMNotification; node from affected_node_id; reason as a tag', () => {
    const p = dlmAllocationPoint({
      hubId: 'hub_01',
      ts: TS,
      data: {
        trigger_reason: 'Priority-based (SoC: 20%, 1 active)',
        original_limit: 78,
        new_limit: 44.2,
        affected_node_id: 'node_02',
        total_grid_load: 140.01,
        available_capacity: 0,
      },
    });
    assert.ok(p);
    assert.deepEqual(p.tags, {
      hub_id: 'hub_01',
      node_id: 'node_02',
      trigger_reason: 'Priority-based (SoC: 20%, 1 active)',
    });
    assert.deepEqual(p.fields, {
      limit_kw: 44.2,
      original_limit_kw: 78,
      total_grid_load_kw: 140.01,
      available_capacity_kw: 0,
    });
    const parsed = parseLine(toLineProtocol(p) as string);
    assert.equal(parsed.tags.trigger_reason, 'Priority-based (SoC: 20%, 1 active)');
  });

  it('hub_load computes utilisation when absent (and not with zero capacity)', () => {
    assert.deepEqual(hubLoadPoint({ hubId: 'h', ts: TS, data: { load_kw: 70, capacity_kw: 140 } })?.fields, {
      load_kw: 70,
      capacity_kw: 140,
      utilisation: 0.5,
    });
    assert.deepEqual(hubLoadPoint({ hubId: 'h', ts: TS, data: { load_kw: 5, capacity_kw: 0 } })?.fields, {
      load_kw: 5,
      capacity_kw: 0,
    });
  });

  it('maps every hub-status, node-status, telemetry and DLM line of the original capture', () => {
    const file = path.join(__dirname, '../../../shared/samples/original-hub-capture.txt');
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const seen = new Set<string>();
    for (const l of lines) {
      const sp = l.indexOf(' ');
      const topic = l.slice(0, sp).split('/');
      const payload = JSON.parse(l.slice(sp + 1)) as Record<string, unknown>;
      const ts = typeof payload.timestamp === 'string' ? Date.parse(payload.timestamp) : TS;
      const data = payload as never;
      let p: InfluxPoint | null;
      const [, kind, id1, a, id2, b] = topic;
      if (kind === 'hubs' && a === 'status') p = hubStatusPoint({ hubId: id1 as string, ts, data });
      else if (kind === 'hubs' && a === 'dlm') p = dlmAllocationPoint({ hubId: id1 as string, ts, data });
      else if (kind === 'hubs' && a === 'nodes' && b === 'status')
        p = nodeStatusPoint({ hubId: id1 as string, nodeId: id2 as string, ts, data });
      else if (kind === 'hubs' && a === 'nodes' && b === 'telemetry')
        p = nodeTelemetryPoint({ hubId: id1 as string, nodeId: id2 as string, ts, data });
      else if (kind === 'vehicles' && a === 'telemetry')
        p = vehicleTelemetryPoint({ vehicleId: id1 as string, ts, data });
      else continue;
      assert.ok(p, `a point for ${l}`);
      seen.add(p.measurement);
      const spec = MEASUREMENTS[p.measurement as keyof typeof MEASUREMENTS];
      assert.deepEqual(Object.keys(p.tags).sort(), [...spec.tags].sort());
      for (const [k, v] of Object.entries(p.fields)) {
        const type = spec.fields[k];
        assert.ok(type, `${p.measurement}.${k} is declared in MEASUREMENTS`);
        assert.equal(typeof v, type === 'float' ? 'number' : type, `${p.measurement}.${k} type`);
      }
      // every numeric/boolean field of the payload (flattened) is there
      for (const [k, v] of Object.entries(payload)) {
        if (typeof v === 'number' && p.measurement !== 'dlm_allocation') assert.equal(p.fields[k], v, k);
      }
      const parsed = parseLine(toLineProtocol(p) as string);
      assert.equal(parsed.ts, String(Math.floor(ts)));
    }
    assert.deepEqual([...seen].sort(), [
      'dlm_allocation',
      'hub_status',
      'node_status',
      'node_telemetry',
      'vehicle_telemetry',
    ]);
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

describe('influx points: line protocol', () => {
  it('formats ms and ns timestamps (ns keeps the sub-millisecond part)', () => {
    assert.equal(formatTimestamp(1764141227697.25, 'ms'), '1764141227697');
    assert.equal(formatTimestamp(1764141227697.25, 'ns'), '1764141227697250000');
    assert.equal(formatTimestamp(0, 'ns'), '0');
  });

  it('escapes hostile ids so they stay one tag of one line', () => {
    const id = 'a b,c=d"e\\f\ng\u00e9\u26a1';
    const line = toLineProtocol({
      measurement: 'm',
      tags: { hub_id: id },
      fields: { x: 1 },
      ts: 5,
    }) as string;
    assert.equal(line, 'm,hub_id=a\\ b\\,c\\=d"e\\\\f\\\\ng\u00e9\u26a1 x=1 5');
    assert.equal(parseLine(line).tags.hub_id, 'a b,c=d"e\\f\\ng\u00e9\u26a1');
  });

  it('a trailing backslash never escapes the separator after it', () => {
    assert.equal(escapeKey('e\\'), 'e\\\\u005c');
    const line = toLineProtocol({
      measurement: 'm',
      tags: { a: 'x\\', b: 'y' },
      fields: { f: 1 },
      ts: 1,
    }) as string;
    assert.deepEqual(parseLine(line).tags, { a: 'x\\u005c', b: 'y' });
  });

  it('string fields are quoted with quotes, backslashes and newlines escaped', () => {
    const line = toLineProtocol({
      measurement: 'm',
      tags: {},
      fields: { s: 'a"b\\c\n" x=1\nm2 f=2 3' },
      ts: 1,
    }) as string;
    assert.equal(line, 'm s="a\\"b\\\\c\\\\n\\" x=1\\\\nm2 f=2 3" 1');
    const p = parseLine(line);
    assert.equal(unquote(p.fields.s as string), 'a"b\\c\\n" x=1\\nm2 f=2 3');
  });

  it('property: any id gives exactly one line whose tags read back as the cleaned id', () => {
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
        const p = nodeTelemetryPoint({
          hubId: hub,
          nodeId: node,
          ts: TS,
          data: { power_kw: v, is_occupied: false, connected_vehicle_id: node },
        });
        assert.ok(p);
        const line = toLineProtocol(p, 'ns') as string;
        const parsed = parseLine(line);
        const expect = (s: string): string => {
          const c = cleanText(s);
          return c.endsWith('\\') ? `${c.slice(0, -1)}\\u005c` : c;
        };
        assert.equal(parsed.measurement, 'node_telemetry');
        assert.deepEqual(parsed.tags, { hub_id: expect(hub), node_id: expect(node) });
        assert.deepEqual(Object.keys(parsed.fields), ['power_kw', 'is_occupied', 'connected_vehicle_id']);
        assert.equal(Number(parsed.fields.power_kw), v === 0 ? 0 : v);
        assert.equal(unquote(parsed.fields.connected_vehicle_id as string), cleanText(node));
        assert.equal(parsed.ts, `${TS}000000`);
        // what InfluxDB 1.x/2.x scanners need: no escaped text ends in a lone backslash
        for (const s of [hub, node]) assert.ok(!escapeKey(s).endsWith('\\'), JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
  });
});
