import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import {
  buildTopic,
  decode,
  encodeDlmNotification,
  formatTimestamp,
  isIPv4,
  isIPv6,
  isTopicError,
  parseTimestamp,
  parseTopic,
  PAYLOAD_OF,
  PAYLOAD_NAMES,
  schemas,
  SUBSCRIPTIONS,
  TOPIC_KINDS,
  validatePayload,
} from '../../core/contract';
import type {
  DecodeResult,
  DLMNotification,
  FromSchema,
  HubInfo,
  HubInfoData,
  InboundMessage,
  NodeStatusData,
  NodeTelemetryData,
  TopicKind,
  VehicleRequestData,
  VehicleTelemetry,
  VehicleTelemetryData,
} from '../../core/contract';
import { INVALID_MESSAGES, TOPICS, VALID } from '../fixtures/invalid-messages';

const CAPTURE = join(__dirname, '..', 'fixtures', 'original-hub-capture.txt');

function readCapture(): { topic: string; text: string }[] {
  const raw = readFileSync(CAPTURE, 'utf8');
  return raw
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const i = l.indexOf(' ');
      return { topic: l.slice(0, i), text: l.slice(i + 1) };
    });
}

const NOW = Date.UTC(2026, 10, 26, 8, 0, 0);

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** Independent statement of the topic id rule, for generating ids. */
function isValidTopicId(s: string): boolean {
  return [...s].length <= 50 && s.length > 0 && !hasControlCharacter(s) && !/[/+#]/.test(s);
}

function ok(r: DecodeResult): InboundMessage {
  if (!r.ok) assert.fail(`expected ok, got ${r.errors.map((e) => e.message).join('; ')}`);
  return r.msg;
}

function messages(r: DecodeResult): string[] {
  assert.equal(r.ok, false, 'expected a rejection');
  return r.ok ? [] : r.errors.map((e) => e.message);
}

// ------------------------------------------------------------------ compile-time type checks
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function typeIs<T extends true>(_proof?: T): void {}
typeIs<Equal<HubInfo['location'], { latitude: number; longitude: number; altitude?: number }>>();
typeIs<Equal<HubInfoData['location'], { latitude: number; longitude: number; altitude: number }>>();
typeIs<
  Equal<
    NodeStatusData,
    { state: 'idle' | 'charging' | 'full' | 'faulted'; current_vehicle_id: string | null; error_code: number }
  >
>();
typeIs<Equal<NodeTelemetryData['connected_vehicle_id'], string | null>>();
typeIs<Equal<VehicleTelemetry['speed_kmh'], number | null | undefined>>();
typeIs<Equal<VehicleTelemetryData['speed_kmh'], number | null>>();
typeIs<Equal<VehicleRequestData, { vehicle_id: string; node_id: string; soc_percent: number }>>();
typeIs<Equal<DLMNotification['timestamp'], string>>();
typeIs<Equal<DLMNotification['policy'], string | undefined>>();
typeIs<Equal<FromSchema<{ type: ['integer', 'null'] }>, number | null>>();
typeIs<Equal<FromSchema<{ enum: readonly ['a', 'b'] }>, 'a' | 'b'>>();

describe('core/contract', () => {
  describe('sample capture of the original hub', () => {
    const lines = readCapture();

    it('has the sample lines', () => {
      assert.ok(lines.length >= 50);
    });

    it('decodes every line, as Buffer, as JSON text and as a parsed object', () => {
      for (const { topic, text } of lines) {
        for (const payload of [Buffer.from(text), text, JSON.parse(text) as unknown]) {
          const r = decode(topic, payload, NOW);
          assert.ok(r.ok, `${topic} ${text}: ${r.ok ? '' : r.errors.map((e) => e.message).join('; ')}`);
        }
      }
    });

    it('normalises as specified', () => {
      const decoded = lines.map(({ topic, text }) => ok(decode(topic, Buffer.from(text), NOW)));

      const hub = decoded.find((m) => m.kind === 'hubInfo');
      assert.ok(hub?.kind === 'hubInfo');
      assert.equal(hub.hubId, 'hub_01');
      assert.equal(hub.data.max_grid_capacity_kw, 140);
      assert.deepEqual(hub.data.location, { latitude: 44.6469, longitude: 10.9252, altitude: 50 });
      assert.equal(hub.ts, NOW, 'HubInfo without timestamp gets nowMs');

      const idle = decoded.find((m) => m.kind === 'nodeTelemetry' && m.nodeId === 'node_03');
      assert.ok(idle?.kind === 'nodeTelemetry');
      assert.equal(idle.data.connected_vehicle_id, null, "'n/a' becomes null");
      assert.equal(idle.data.current_vehicle_soc, null, 'SoC 0 without a vehicle becomes null');
      assert.equal(idle.data.is_occupied, false);
      assert.equal(idle.ts, Date.parse('2026-11-26T07:13:45.696Z'));
      assert.equal('timestamp' in idle.data, false);

      const busy = decoded.find(
        (m) => m.kind === 'nodeTelemetry' && m.data.connected_vehicle_id === 'vehicle_02',
      );
      assert.ok(busy?.kind === 'nodeTelemetry');
      assert.equal(busy.data.current_vehicle_soc, 70);
      assert.equal(busy.data.power_kw, 68.7, 'numbers kept as given');

      const overLimit = decoded.find(
        (m) => m.kind === 'nodeTelemetry' && m.data.power_kw === 97.89999999999999,
      );
      assert.ok(overLimit?.kind === 'nodeTelemetry', 'power above its limit is accepted, unrounded');
      assert.equal(overLimit.data.power_limit_kw, 46.67);

      const requests = decoded.filter((m) => m.kind === 'vehicleRequest');
      assert.equal(requests.length, 2);
      assert.equal(requests[0]?.ts, Date.parse('2026-11-26T07:10:00Z'));
      assert.equal(requests[1]?.ts, NOW, 'request without timestamp gets nowMs');
      assert.deepEqual(requests[1]?.data, { vehicle_id: 'vehicle_02', node_id: 'node_02', soc_percent: 70 });
      assert.equal(requests[1]?.kind === 'vehicleRequest' && requests[1].hubId, 'hub_01');

      const vehicle = decoded.find((m) => m.kind === 'vehicleTelemetry');
      assert.ok(vehicle?.kind === 'vehicleTelemetry');
      assert.equal(vehicle.vehicleId, 'vehicle_01');
      assert.equal(vehicle.ts, NOW);
      assert.equal(vehicle.data.battery_level, 35);
      assert.equal(vehicle.data.speed_kmh, 0);

      const status = decoded.find((m) => m.kind === 'nodeStatus' && m.data.state === 'idle');
      assert.ok(status?.kind === 'nodeStatus');
      assert.equal(status.nodeId, 'node_01');
      assert.equal(status.data.current_vehicle_id, null);

      const dlm = decoded.find((m) => m.kind === 'dlmEvent');
      assert.ok(dlm?.kind === 'dlmEvent');
      assert.equal(dlm.data.trigger_reason, 'Priority-based (SoC: 20%, 1 active)');
      assert.equal(dlm.data.original_limit, 78);
      assert.equal(dlm.ts, Date.parse('2026-11-26T07:13:47.282Z'));

      const hubStatus = decoded.find((m) => m.kind === 'hubStatus');
      assert.ok(hubStatus?.kind === 'hubStatus');
      assert.equal(hubStatus.data.state, 'online');
      assert.equal(hubStatus.data.cpu_temp, 72.03275539108958);
    });
  });

  describe('invalid corpus', () => {
    it('has a few hundred cases, each naming a field path', () => {
      assert.ok(INVALID_MESSAGES.length > 300, `only ${INVALID_MESSAGES.length} cases`);
      for (const c of INVALID_MESSAGES) {
        assert.match(c.expect, /^(topic|payload|[A-Za-z]+(\.[a-z_]+)+): \S/, c.name);
      }
    });

    it('rejects every case with an error naming the field', () => {
      for (const c of INVALID_MESSAGES) {
        const r = decode(c.topic, c.payload, NOW);
        const got = messages(r);
        assert.ok(
          got.some((m) => m.includes(c.expect)),
          `${c.name}: expected an error containing ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`,
        );
        for (const e of r.ok ? [] : r.errors) assert.equal(e.message, `${e.path}: ${e.rule}`);
      }
    });

    it('covers every constraint of every inbound schema', () => {
      const expects = INVALID_MESSAGES.map((c) => c.expect);
      const has = (path: string, test: (rule: string) => boolean): boolean =>
        expects.some((e) => e.startsWith(path + ': ') && test(e.slice(path.length + 2)));
      const missing: string[] = [];
      type Node = {
        type?: string | readonly string[];
        properties?: Record<string, Node>;
        required?: readonly string[];
        minimum?: number;
        maximum?: number;
        minLength?: number;
        maxLength?: number;
        enum?: readonly unknown[];
        pattern?: string;
        format?: string;
        anyOf?: readonly Node[];
      };
      const walk = (node: Node, path: string): void => {
        const want = (what: string, test: (rule: string) => boolean): void => {
          if (!has(path, test)) missing.push(`${path} ${what}`);
        };
        want('type', (r) => /^must be (a|an) (string|number|integer|boolean|object)( or null)?$/.test(r));
        if (node.minimum !== undefined) want('minimum', (r) => r === `must be >= ${node.minimum}`);
        if (node.maximum !== undefined) want('maximum', (r) => r === `must be <= ${node.maximum}`);
        if (node.minLength !== undefined)
          want('minLength', (r) => r.startsWith(`must be at least ${node.minLength}`));
        if (node.maxLength !== undefined)
          want('maxLength', (r) => r === `must be at most ${node.maxLength} characters`);
        if (node.enum !== undefined) want('enum', (r) => r === `must be one of ${node.enum?.join(', ')}`);
        if (node.pattern !== undefined) want('pattern', (r) => r === 'must not contain control characters');
        if (node.format !== undefined || node.anyOf !== undefined) {
          want(
            'format',
            (r) => r === 'must be an ISO-8601 date-time' || r === 'must be an IPv4 or IPv6 address',
          );
        }
        const types = typeof node.type === 'string' ? [node.type] : (node.type ?? []);
        if (types.includes('number') || types.includes('integer')) {
          want('finite', (r) => r === 'must be a finite number');
        }
        for (const [key, child] of Object.entries(node.properties ?? {})) {
          const childPath = `${path}.${key}`;
          if (node.required?.includes(key) && key !== 'timestamp') {
            if (!has(childPath, (r) => r === 'is required')) missing.push(`${childPath} required`);
          }
          walk(child, childPath);
        }
      };
      for (const kind of TOPIC_KINDS) {
        const name = PAYLOAD_OF[kind];
        const schema = schemas[name] as Node;
        for (const [key, child] of Object.entries(schema.properties ?? {})) {
          const childPath = `${name}.${key}`;
          if (schema.required?.includes(key) && key !== 'timestamp') {
            if (!has(childPath, (r) => r === 'is required')) missing.push(`${childPath} required`);
          }
          walk(child, childPath);
        }
      }
      assert.deepEqual(missing, []);
    });

    it('reports all errors of a payload, not only the first', () => {
      const got = messages(
        decode(
          'iot/hubs/hub_01/info',
          {
            hub_id: 'hub_02',
            location: { latitude: '44', longitude: 200 },
            max_grid_capacity_kw: Infinity,
            ip_address: '1.2.3',
            firmware_version: 'x'.repeat(21),
          },
          NOW,
        ),
      );
      assert.deepEqual(got, [
        'HubInfo.location.latitude: must be a number',
        'HubInfo.location.longitude: must be <= 180',
        'HubInfo.max_grid_capacity_kw: must be a finite number',
        'HubInfo.ip_address: must be an IPv4 or IPv6 address',
        'HubInfo.firmware_version: must be at most 20 characters',
        "HubInfo.hub_id: must equal the topic's hub_id 'hub_01'",
      ]);
    });

    it('gives one error per broken rule, in the order of the fields in the schema', () => {
      // a wrong type is not also reported as outside the enum; NaN is a number, but not finite
      assert.deepEqual(messages(decode(TOPICS.hubStatus, { state: 1, cpu_temp: NaN }, NOW)), [
        'HubStatus.state: must be a string',
        'HubStatus.cpu_temp: must be a finite number',
      ]);
      // one error for the anyOf of two formats; a missing nested field where it belongs
      assert.deepEqual(
        messages(
          decode(
            TOPICS.hubInfo,
            { ...VALID.hubInfo, location: { longitude: 200 }, ip_address: '1.2.3' },
            NOW,
          ),
        ),
        [
          'HubInfo.location.latitude: is required',
          'HubInfo.location.longitude: must be <= 180',
          'HubInfo.ip_address: must be an IPv4 or IPv6 address',
        ],
      );
      // missing fields interleaved with the others, not listed first
      assert.deepEqual(messages(decode(TOPICS.nodeTelemetry, { current: -1, is_occupied: 'no' }, NOW)), [
        'NodeTelemetry.voltage: is required',
        'NodeTelemetry.current: must be >= 0',
        'NodeTelemetry.power_kw: is required',
        'NodeTelemetry.power_limit_kw: is required',
        'NodeTelemetry.is_occupied: must be a boolean',
      ]);
    });

    it('reports topic and payload errors together, keeping the kind and the valid ids', () => {
      const r = decode(`iot/hubs/hub_01/nodes/${'n'.repeat(60)}/telemetry`, '{"voltage":-1}', NOW);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.kind, 'nodeTelemetry');
      assert.equal(r.hubId, 'hub_01');
      assert.equal(r.nodeId, undefined, 'an invalid id is not echoed');
      const got = r.errors.map((e) => e.message);
      assert.ok(got.includes('topic: node_id must be 1-50 characters'));
      assert.ok(got.includes('NodeTelemetry.voltage: must be >= 0'));
      assert.ok(got.includes('NodeTelemetry.is_occupied: is required'));
    });

    it('gives no kind for an unknown topic', () => {
      const r = decode('foo/bar', '{}', NOW);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.kind, undefined);
    });

    it('honours maxBytes', () => {
      const text = JSON.stringify(VALID.hubStatus);
      assert.ok(decode(TOPICS.hubStatus, text, NOW, { maxBytes: text.length }).ok);
      assert.deepEqual(
        messages(decode(TOPICS.hubStatus, Buffer.from(text), NOW, { maxBytes: text.length - 1 })),
        [`payload: too large (${text.length} bytes, limit ${text.length - 1})`],
      );
    });
  });

  describe('accepted variations', () => {
    it('accepts every VALID fixture payload', () => {
      for (const kind of Object.keys(VALID) as (keyof typeof VALID)[]) {
        ok(decode(TOPICS[kind], JSON.stringify(VALID[kind]), NOW));
      }
    });

    it('accepts unknown extra fields and drops them', () => {
      const payload = {
        ...VALID.vehicleTelemetry,
        geo_location: { latitude: 1, longitude: 2, heading: 90 },
        firmware: 'x',
        nested: { a: [1, 2] },
        __proto__x: 1,
      };
      const m = ok(decode(TOPICS.vehicleTelemetry, JSON.stringify(payload), NOW));
      assert.ok(m.kind === 'vehicleTelemetry');
      assert.deepEqual(m.data, {
        geo_location: { latitude: 1, longitude: 2, altitude: 0 },
        battery_level: 35,
        speed_kmh: 0,
        engine_temp_c: 30,
        is_charging: true,
      });
    });

    it('ignores a "__proto__" key without touching prototypes', () => {
      const m = ok(
        decode(TOPICS.hubStatus, '{"state":"online","cpu_temp":1,"__proto__":{"polluted":true}}', NOW),
      );
      assert.equal(Object.getPrototypeOf(m.data), Object.prototype);
      assert.equal((m.data as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('applies defaults and nulls for missing optional fields', () => {
      const hub = ok(
        decode(
          TOPICS.hubInfo,
          {
            hub_id: 'hub_01',
            location: { latitude: 0, longitude: 0 },
            max_grid_capacity_kw: 0,
            ip_address: '::1',
            firmware_version: '',
          },
          NOW,
        ),
      );
      assert.ok(hub.kind === 'hubInfo');
      assert.equal(hub.data.location.altitude, 0);
      const status = ok(decode(TOPICS.nodeStatus, { state: 'faulted' }, NOW));
      assert.deepEqual(status.data, { state: 'faulted', current_vehicle_id: null, error_code: 0 });
      const node = ok(
        decode(TOPICS.nodeInfo, { node_id: 'node_01', hub_id: 'hub_01', max_power_kw: 11 }, NOW),
      );
      assert.deepEqual(node.data, { node_id: 'node_01', hub_id: 'hub_01', name: null, max_power_kw: 11 });
      const vehicle = ok(
        decode(
          TOPICS.vehicleTelemetry,
          { geo_location: { latitude: 1, longitude: 2 }, battery_level: 0, is_charging: false },
          NOW,
        ),
      );
      assert.deepEqual(vehicle.data, {
        geo_location: { latitude: 1, longitude: 2, altitude: 0 },
        battery_level: 0,
        speed_kmh: null,
        engine_temp_c: null,
        is_charging: false,
      });
      const tel = ok(
        decode(
          TOPICS.nodeTelemetry,
          { voltage: 0, current: 0, power_kw: 0, power_limit_kw: 0, is_occupied: false },
          NOW,
        ),
      );
      assert.deepEqual(tel.data, {
        voltage: 0,
        current: 0,
        power_kw: 0,
        power_limit_kw: 0,
        is_occupied: false,
        connected_vehicle_id: null,
        current_vehicle_soc: null,
      });
      const dlm = ok(
        decode(TOPICS.dlmEvent, { ...VALID.dlmEvent, allocation_id: undefined, policy: undefined }, NOW),
      );
      assert.equal('allocation_id' in dlm.data, false, 'optional non-nullable fields stay absent');
      assert.equal(dlm.kind === 'dlmEvent' && dlm.data.source, 'wpt-dlm');
    });

    it("maps 'n/a' and '' vehicle ids to null, and SoC 0 only when no vehicle", () => {
      const base = { voltage: 1, current: 1, power_kw: 1, power_limit_kw: 2, is_occupied: true };
      const tel = (extra: object): NodeTelemetryData => {
        const m = ok(decode(TOPICS.nodeTelemetry, { ...base, ...extra }, NOW));
        assert.ok(m.kind === 'nodeTelemetry');
        return m.data;
      };
      assert.equal(tel({ connected_vehicle_id: '', current_vehicle_soc: 0 }).current_vehicle_soc, null);
      assert.equal(tel({ connected_vehicle_id: '' }).connected_vehicle_id, null);
      assert.equal(tel({ connected_vehicle_id: null, current_vehicle_soc: 0 }).current_vehicle_soc, null);
      assert.equal(tel({ current_vehicle_soc: 0 }).current_vehicle_soc, null);
      assert.equal(tel({ connected_vehicle_id: 'n/a', current_vehicle_soc: 15 }).current_vehicle_soc, 15);
      const charging = tel({ connected_vehicle_id: 'v1', current_vehicle_soc: 0 });
      assert.equal(charging.connected_vehicle_id, 'v1');
      assert.equal(charging.current_vehicle_soc, 0, 'a connected vehicle at 0 % keeps its SoC');
      for (const none of ['n/a', '', null, undefined]) {
        const m = ok(decode(TOPICS.nodeStatus, { state: 'idle', current_vehicle_id: none }, NOW));
        assert.ok(m.kind === 'nodeStatus');
        assert.equal(m.data.current_vehicle_id, null, String(none));
      }
    });

    it('reads timestamps with fraction, offset or no zone', () => {
      const ts = (t: string): number =>
        ok(decode(TOPICS.hubStatus, { state: 'online', cpu_temp: 1, timestamp: t }, NOW)).ts;
      assert.equal(ts('2026-11-26T07:13:47.282427Z'), Date.UTC(2026, 10, 26, 7, 13, 47, 282));
      assert.equal(ts('2026-11-26T07:13:47Z'), Date.UTC(2026, 10, 26, 7, 13, 47));
      assert.equal(ts('2026-11-26T07:13:47.5Z'), Date.UTC(2026, 10, 26, 7, 13, 47, 500));
      assert.equal(ts('2026-11-26T07:13:47.282427'), Date.UTC(2026, 10, 26, 7, 13, 47, 282), 'no zone = UTC');
      assert.equal(ts('2026-11-26T08:13:47.282+01:00'), Date.UTC(2026, 10, 26, 7, 13, 47, 282));
      assert.equal(ts('2026-11-26T02:13:47-05:00'), Date.UTC(2026, 10, 26, 7, 13, 47));
      assert.equal(ts('2026-11-26T07:13:47.123456789+00:00'), Date.UTC(2026, 10, 26, 7, 13, 47, 123));
      assert.equal(ts('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
      assert.equal(parseTimestamp('0050-01-01T00:00:00Z'), Date.parse('0050-01-01T00:00:00Z'));
    });

    it('accepts IPv4 and IPv6 addresses', () => {
      for (const ip of ['0.0.0.0', '255.255.255.255', '10.0.0.1']) assert.ok(isIPv4(ip), ip);
      for (const ip of [
        '::',
        '::1',
        'fe80::1',
        '2001:db8::8a2e:370:7334',
        '1:2:3:4:5:6:7:8',
        '::ffff:192.168.1.1',
        '1::',
        'ABCD:ef01::',
      ]) {
        assert.ok(isIPv6(ip), ip);
        assert.ok(decode(TOPICS.hubInfo, { ...VALID.hubInfo, ip_address: ip }, NOW).ok, ip);
      }
    });

    it('accepts boundary values and 50-character ids', () => {
      const id50 = 'i'.repeat(50);
      ok(
        decode(
          `iot/hubs/${id50}/nodes/${id50}/info`,
          { node_id: id50, hub_id: id50, max_power_kw: 350, name: 'n'.repeat(100) },
          NOW,
        ),
      );
      ok(decode(`iot/vehicles/${'\u{1F697}'.repeat(50)}/telemetry`, VALID.vehicleTelemetry, NOW));
      ok(decode(TOPICS.hubStatus, { state: 'maintenance', cpu_temp: -40 }, NOW));
      ok(decode(TOPICS.hubStatus, { state: 'offline', cpu_temp: 125 }, NOW));
      ok(decode(TOPICS.vehicleRequest, { vehicle_id: 'v', node_id: 'n', soc_percent: 100.0 }, NOW));
      ok(decode(TOPICS.nodeStatus, { state: 'full', error_code: 9999 }, NOW));
      ok(decode(TOPICS.dlmEvent, { ...VALID.dlmEvent, available_capacity: -12.5, total_grid_load: 0 }, NOW));
      ok(decode(TOPICS.hubStatus, '\ufeff{"state":"online","cpu_temp":1}', NOW));
    });
  });

  describe('validatePayload', () => {
    it('requires timestamps where the contract does, unless timestampOptional', () => {
      const noTs = { state: 'online', cpu_temp: 20 };
      const strict = validatePayload('HubStatus', noTs);
      assert.equal(strict.ok, false);
      assert.deepEqual(!strict.ok && strict.errors, [
        { path: 'HubStatus.timestamp', rule: 'is required', message: 'HubStatus.timestamp: is required' },
      ]);
      const lenient = validatePayload('HubStatus', noTs, { timestampOptional: true });
      assert.ok(lenient.ok);
      assert.equal(lenient.value, noTs, 'returns the validated value itself');
      assert.ok(validatePayload('VehicleRequest', { vehicle_id: 'v', node_id: 'n', soc_percent: 1 }).ok);
    });

    it('validates GeoLocation on its own and rejects non-objects', () => {
      assert.ok(validatePayload('GeoLocation', { latitude: 1, longitude: 1 }).ok);
      for (const v of [null, [], 'x', 1, undefined]) {
        const r = validatePayload('GeoLocation', v);
        assert.deepEqual(!r.ok && r.errors.map((e) => e.message), ['GeoLocation: must be an object']);
      }
    });

    it('does not throw on hostile objects', () => {
      const hostile = new Proxy(
        {},
        {
          get() {
            throw new Error('boom');
          },
        },
      );
      const r = validatePayload('HubStatus', hostile);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? (r.errors[0]?.message ?? '') : '', /^HubStatus: could not be read \(boom\)$/);
      const d = decode(TOPICS.hubStatus, hostile, NOW);
      assert.equal(d.ok, false);
    });
  });

  describe('schemas', () => {
    it('are valid against the draft 2020-12 meta-schema', () => {
      const ajv = new Ajv2020();
      for (const name of PAYLOAD_NAMES) {
        assert.ok(ajv.validateSchema(schemas[name]), `${name}: ${ajv.errorsText(ajv.errors)}`);
      }
      assert.equal(ajv.validateSchema({ type: 'object', properties: { x: { minimum: '5' } } }), false);
    });

    it('are draft 2020-12 JSON Schemas, JSON-serialisable, with required ⊆ properties', () => {
      for (const name of PAYLOAD_NAMES) {
        const s = schemas[name];
        assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
        assert.equal(s.title, name);
        assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
        for (const key of s.required) assert.ok(key in s.properties, `${name}.${key}`);
      }
      assert.deepEqual(Object.keys(schemas.DLMNotification.properties).slice(0, 7), [
        'trigger_reason',
        'original_limit',
        'new_limit',
        'affected_node_id',
        'total_grid_load',
        'available_capacity',
        'timestamp',
      ]);
    });
  });

  describe('topics', () => {
    const samples: [string, TopicKind, { hubId?: string; nodeId?: string; vehicleId?: string }][] = [
      ['iot/hubs/h/info', 'hubInfo', { hubId: 'h' }],
      ['iot/hubs/h/status', 'hubStatus', { hubId: 'h' }],
      ['iot/hubs/h/nodes/n/info', 'nodeInfo', { hubId: 'h', nodeId: 'n' }],
      ['iot/hubs/h/nodes/n/status', 'nodeStatus', { hubId: 'h', nodeId: 'n' }],
      ['iot/hubs/h/nodes/n/telemetry', 'nodeTelemetry', { hubId: 'h', nodeId: 'n' }],
      ['iot/vehicles/v/telemetry', 'vehicleTelemetry', { vehicleId: 'v' }],
      ['iot/hubs/h/requests', 'vehicleRequest', { hubId: 'h' }],
      ['iot/hubs/h/dlm/events', 'dlmEvent', { hubId: 'h' }],
    ];

    /** MQTT topic filter matching (+ and # wildcards). */
    function matches(filter: string, topic: string): boolean {
      const f = filter.split('/');
      const t = topic.split('/');
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true;
        if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
      }
      return f.length === t.length;
    }

    it('parses the 8 topics, builds them back, and each matches exactly its subscription', () => {
      assert.equal(TOPIC_KINDS.length, 8);
      for (const [topic, kind, ids] of samples) {
        assert.deepEqual(parseTopic(topic), { kind, ...ids });
        assert.equal(buildTopic(kind, ids), topic);
        for (const k of TOPIC_KINDS)
          assert.equal(matches(SUBSCRIPTIONS[k], topic), k === kind, `${k} ${topic}`);
      }
      assert.deepEqual(
        TOPIC_KINDS.map((k) => PAYLOAD_OF[k]),
        [
          'HubInfo',
          'HubStatus',
          'NodeInfo',
          'NodeStatus',
          'NodeTelemetry',
          'VehicleTelemetry',
          'VehicleRequest',
          'DLMNotification',
        ],
      );
    });

    it('returns errors for unknown topics and bad ids', () => {
      assert.deepEqual(parseTopic('foo/bar'), { error: "topic: unknown topic 'foo/bar'" });
      assert.deepEqual(parseTopic(`iot/hubs/${'h'.repeat(51)}/info`), {
        error: 'topic: hub_id must be 1-50 characters',
      });
      assert.deepEqual(parseTopic('iot/hubs/a+b/info'), {
        error: "topic: hub_id must not contain '/', '+' or '#'",
      });
      const e = parseTopic('x'.repeat(5000));
      assert.ok(isTopicError(e) && e.error.length < 200, 'long topics are cut in messages');
    });

    it('buildTopic throws on missing or invalid ids', () => {
      assert.throws(() => buildTopic('hubInfo', {}), /topic: hub_id is required/);
      assert.throws(() => buildTopic('nodeStatus', { hubId: 'h' }), /topic: node_id is required/);
      assert.throws(
        () => buildTopic('vehicleTelemetry', { vehicleId: 'a/b' }),
        /vehicle_id must not contain/,
      );
      assert.throws(() => buildTopic('dlmEvent', { hubId: '#' }), /hub_id must not contain/);
      assert.throws(
        () => buildTopic('hubStatus', { hubId: 'x'.repeat(51) }),
        /hub_id must be 1-50 characters/,
      );
      assert.throws(() => buildTopic('hubStatus', { hubId: 'a\tb' }), /control characters/);
    });

    it('round-trips any valid ids (property)', () => {
      const id = fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }).filter((s) => isValidTopicId(s));
      fc.assert(
        fc.property(fc.constantFrom(...TOPIC_KINDS), id, id, id, (kind, hubId, nodeId, vehicleId) => {
          const topic = buildTopic(kind, { hubId, nodeId, vehicleId });
          const parsed = parseTopic(topic);
          assert.ok(!isTopicError(parsed), topic);
          assert.equal(parsed.kind, kind);
          assert.equal(buildTopic(parsed.kind, parsed), topic);
          if (kind === 'vehicleTelemetry') assert.equal(parsed.vehicleId, vehicleId);
          else assert.equal(parsed.hubId, hubId);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('timestamps', () => {
    it('formats with 6 fraction digits and Z', () => {
      assert.equal(formatTimestamp(Date.UTC(2026, 10, 26, 7, 13, 47, 282)), '2026-11-26T07:13:47.282000Z');
      assert.equal(formatTimestamp(0), '1970-01-01T00:00:00.000000Z');
      assert.throws(() => formatTimestamp(NaN), RangeError);
    });

    it('parse(format(ms)) = floor(ms) (property)', () => {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 253402300799999, noNaN: true }), (ms) => {
          assert.equal(parseTimestamp(formatTimestamp(ms)), Math.floor(ms));
        }),
        { numRuns: 500 },
      );
    });

    it('agrees with Date.parse on well-formed RFC 3339 input (property)', () => {
      fc.assert(
        fc.property(
          fc.date({
            min: new Date('1970-01-01T00:00:00Z'),
            max: new Date('2999-12-31T23:59:59Z'),
            noInvalidDate: true,
          }),
          fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
          (d, offMin) => {
            const local = new Date(d.getTime() + offMin * 60000).toISOString().slice(0, 23);
            const sign = offMin < 0 ? '-' : '+';
            const abs = Math.abs(offMin);
            const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
            assert.equal(parseTimestamp(local + off), d.getTime());
            assert.equal(parseTimestamp(local + 'Z'), Date.parse(local + 'Z'));
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('encodeDlmNotification', () => {
    const input = {
      trigger_reason: 'VEHICLE_CONNECTED',
      original_limit: 46.67,
      new_limit: 38.18181818181818,
      affected_node_id: 'node_02',
      total_grid_load: 140.01,
      available_capacity: -3.2,
      ts: Date.UTC(2026, 10, 26, 7, 13, 47, 282),
    };

    it('writes the contract field names, negative capacity as 0, timestamp formatted', () => {
      const text = encodeDlmNotification(input);
      assert.equal(
        text,
        '{"trigger_reason":"VEHICLE_CONNECTED","original_limit":46.67,"new_limit":38.18181818181818,' +
          '"affected_node_id":"node_02","total_grid_load":140.01,"available_capacity":0,' +
          '"timestamp":"2026-11-26T07:13:47.282000Z"}',
      );
    });

    it('includes the extras when set, and decodes back as a valid DLMNotification', () => {
      const text = encodeDlmNotification({
        ...input,
        available_capacity: 12,
        allocation_id: 'a-7',
        policy: 'soc-priority',
        source: 'wpt-dlm',
      });
      const parsed = JSON.parse(text) as Record<string, unknown>;
      assert.equal(parsed.allocation_id, 'a-7');
      assert.ok(validatePayload('DLMNotification', parsed).ok);
      const m = ok(decode(buildTopic('dlmEvent', { hubId: 'hub_01' }), Buffer.from(text), 0));
      assert.ok(m.kind === 'dlmEvent');
      assert.equal(m.ts, input.ts);
      assert.deepEqual(m.data, {
        trigger_reason: 'VEHICLE_CONNECTED',
        original_limit: 46.67,
        new_limit: 38.18181818181818,
        affected_node_id: 'node_02',
        total_grid_load: 140.01,
        available_capacity: 12,
        allocation_id: 'a-7',
        policy: 'soc-priority',
        source: 'wpt-dlm',
      });
    });

    it('throws instead of sending an invalid notification', () => {
      assert.throws(
        () => encodeDlmNotification({ ...input, new_limit: 351 }),
        /DLMNotification.new_limit: must be <= 350/,
      );
      assert.throws(
        () => encodeDlmNotification({ ...input, total_grid_load: NaN }),
        /must be a finite number/,
      );
      assert.throws(() => encodeDlmNotification({ ...input, trigger_reason: '' }), /trigger_reason/);
    });

    it('every in-range notification round-trips through decode (property)', () => {
      const kw = fc.double({ min: 0, max: 350, noNaN: true });
      fc.assert(
        fc.property(
          fc.record({
            trigger_reason: fc.string({ minLength: 1, maxLength: 50 }),
            original_limit: kw,
            new_limit: kw,
            affected_node_id: fc
              .string({ minLength: 1, maxLength: 50 })
              .filter((s) => !hasControlCharacter(s)),
            total_grid_load: fc.double({ min: 0, max: 1e6, noNaN: true }),
            available_capacity: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
            ts: fc.integer({ min: 0, max: 253402300799999 }),
          }),
          (n) => {
            const m = ok(decode('iot/hubs/h/dlm/events', encodeDlmNotification(n), 0));
            assert.ok(m.kind === 'dlmEvent');
            assert.equal(m.ts, n.ts);
            assert.equal(m.data.new_limit, n.new_limit);
            assert.equal(m.data.available_capacity, Math.max(0, n.available_capacity));
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('decode never throws (property)', () => {
    const topic = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom(
        ...Object.values(TOPICS),
        'iot/hubs/+/info',
        'iot/hubs//info',
        'iot/vehicles/#/telemetry',
      ),
      fc
        .tuple(fc.constantFrom(...Object.values(TOPICS)), fc.string({ unit: 'binary', maxLength: 60 }))
        .map(([t, id]) => t.replace('hub_01', id).replace('vehicle_01', id)),
    );
    const payload = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.anything(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .tuple(fc.constantFrom(...Object.values(VALID)), fc.dictionary(fc.string(), fc.anything()))
        .map(([base, extra]) => ({ ...base, ...extra })),
      fc
        .tuple(fc.constantFrom(...Object.values(VALID)), fc.dictionary(fc.string(), fc.jsonValue()))
        .map(([base, extra]) => JSON.stringify({ ...base, ...extra })),
    );

    it('for arbitrary topics and payloads, and always returns errors with messages when rejecting', () => {
      fc.assert(
        fc.property(topic, payload, fc.integer(), (t, p, now) => {
          const r = decode(t, p, now);
          if (r.ok) {
            assert.ok(TOPIC_KINDS.includes(r.msg.kind));
            assert.equal(typeof r.msg.ts, 'number');
          } else {
            assert.ok(r.errors.length > 0);
            for (const e of r.errors) assert.equal(e.message, `${e.path}: ${e.rule}`);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('also when the topic is not even a string', () => {
      for (const t of [undefined, null, 42, {}, Buffer.from('iot/hubs/h/info')]) {
        const r = decode(t as unknown as string, '{}', 0);
        assert.deepEqual(!r.ok && r.errors.map((e) => e.message), ['topic: must be a string']);
      }
    });
  });
});
