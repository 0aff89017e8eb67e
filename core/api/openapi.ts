// The OpenAPI 3.1 document of the REST API (served at GET /api/openapi.json). A test keeps
// its paths in step with the `http in` nodes of the shipped flows.
import { schemas } from '../contract';

const err = { $ref: '#/components/schemas/Error' };
const jsonOf = (schema: unknown) => ({ 'application/json': { schema } });
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          {
            400: 'Bad input: one line per field',
            401: 'API token missing or wrong',
            404: 'Unknown id',
            409: 'Conflict',
            503: 'Unavailable',
          }[c] ?? 'Error',
        content: jsonOf(err),
      },
    ]),
  );
const idParam = (name: string, where: 'path' | 'query' = 'path', description?: string) => ({
  name,
  in: where,
  required: where === 'path',
  ...(description ? { description } : {}),
  schema: { type: 'string', minLength: 1, maxLength: 50 },
});
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
const time = (name: string, description: string) => ({
  name,
  in: 'query',
  description: `${description} (ISO-8601 or epoch milliseconds)`,
  schema: { type: 'string' },
});
const page = (item: string) => ({
  type: 'object',
  required: ['items', 'total', 'limit', 'offset'],
  properties: {
    items: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
});

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'WPT-DLM REST API',
    version: '1.0.0',
    description:
      'Live state of the hubs, nodes and vehicles, charging history, DLM events, recommendations and charge requests. ' +
      'Every route but /api/health needs the API token: `Authorization: Bearer <token>` (or `X-API-Key`). ' +
      'Live changes: WebSocket at /api/ws (same token as `?token=` or header); send {"hub_id": "…"} or {"vehicle_id": "…"} to filter.',
  },
  servers: [{ url: '/' }],
  security: [{ bearerAuth: [] }, { apiKey: [] }],
  paths: {
    '/api/health': {
      get: {
        operationId: 'getHealth',
        summary: 'State of each dependency (MQTT, PostgreSQL, InfluxDB)',
        security: [],
        responses: {
          200: {
            description: 'Required dependencies up',
            content: jsonOf({ $ref: '#/components/schemas/Health' }),
          },
          503: {
            description: 'A required dependency is down',
            content: jsonOf({ $ref: '#/components/schemas/Health' }),
          },
        },
      },
    },
    '/api/ingest': {
      get: {
        operationId: 'getIngestCounts',
        summary: 'Messages accepted and rejected per topic kind',
        responses: { 200: { description: 'Counts', content: jsonOf({ type: 'object' }) }, ...errors(401) },
      },
    },
    '/api/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        responses: {
          200: { description: 'OpenAPI 3.1', content: jsonOf({ type: 'object' }) },
          ...errors(401),
        },
      },
    },
    '/api/hubs': {
      get: {
        operationId: 'listHubs',
        summary: 'Hubs with live load, capacity, utilisation and their nodes',
        responses: {
          200: {
            description: 'All hubs',
            content: jsonOf({
              type: 'object',
              properties: {
                items: { type: 'array', items: { $ref: '#/components/schemas/Hub' } },
                total: { type: 'integer' },
              },
            }),
          },
          ...errors(401),
        },
      },
    },
    '/api/hubs/{hub_id}': {
      get: {
        operationId: 'getHub',
        summary: 'One hub, live',
        parameters: [idParam('hub_id')],
        responses: {
          200: { description: 'The hub', content: jsonOf({ $ref: '#/components/schemas/Hub' }) },
          ...errors(400, 401, 404),
        },
      },
    },
    '/api/vehicles': {
      get: {
        operationId: 'listVehicles',
        summary: 'Vehicles with live SoC, class and position',
        responses: {
          200: {
            description: 'All vehicles',
            content: jsonOf({
              type: 'object',
              properties: {
                items: { type: 'array', items: { $ref: '#/components/schemas/Vehicle' } },
                total: { type: 'integer' },
              },
            }),
          },
          ...errors(401),
        },
      },
      post: {
        operationId: 'registerVehicle',
        summary: 'Register a vehicle or update its profile',
        requestBody: { required: true, content: jsonOf({ $ref: '#/components/schemas/VehicleProfile' }) },
        responses: {
          200: { description: 'Updated', content: jsonOf({ $ref: '#/components/schemas/Vehicle' }) },
          201: { description: 'Registered', content: jsonOf({ $ref: '#/components/schemas/Vehicle' }) },
          ...errors(400, 401, 503),
        },
      },
    },
    '/api/vehicles/{vehicle_id}': {
      get: {
        operationId: 'getVehicle',
        summary: 'One vehicle: live SoC, class, position, open session',
        parameters: [idParam('vehicle_id')],
        responses: {
          200: { description: 'The vehicle', content: jsonOf({ $ref: '#/components/schemas/Vehicle' }) },
          ...errors(400, 401, 404),
        },
      },
    },
    '/api/sessions': {
      get: {
        operationId: 'listSessions',
        summary: 'Charging sessions, newest first',
        parameters: [
          idParam('hub_id', 'query'),
          idParam('node_id', 'query'),
          idParam('vehicle_id', 'query'),
          { name: 'active', in: 'query', schema: { type: 'boolean' } },
          time('from', 'sessions still open or ended at/after'),
          time('to', 'sessions started before'),
          ...pageParams,
        ],
        responses: {
          200: { description: 'A page of sessions', content: jsonOf(page('Session')) },
          ...errors(400, 401, 503),
        },
      },
    },
    '/api/dlm/events': {
      get: {
        operationId: 'listDlmEvents',
        summary: 'DLM events (ours and those of hubs running their own DLM), newest first',
        parameters: [
          idParam('hub_id', 'query'),
          idParam('node_id', 'query'),
          time('since', 'events at or after'),
          time('until', 'events before'),
          idParam('source', 'query', 'orchestrator (this one) or hub (a hub running its own DLM)'),
          ...pageParams,
        ],
        responses: {
          200: { description: 'A page of events', content: jsonOf(page('DlmEvent')) },
          ...errors(400, 401, 503),
        },
      },
    },
    '/api/recommendations': {
      post: {
        operationId: 'recommend',
        summary: 'Where to charge: the hub and node where the vehicle is charged soonest',
        requestBody: {
          required: true,
          content: jsonOf({ $ref: '#/components/schemas/RecommendationRequest' }),
        },
        responses: {
          200: {
            description: 'The best node and alternatives',
            content: jsonOf({ $ref: '#/components/schemas/RecommendationResponse' }),
          },
          ...errors(400, 401, 404),
        },
      },
    },
    '/api/nodes/{hub_id}/{node_id}/charge': {
      post: {
        operationId: 'requestCharge',
        summary: 'Ask to charge a vehicle at a node: publishes a VehicleRequest (QoS 1)',
        parameters: [idParam('hub_id'), idParam('node_id')],
        requestBody: {
          required: true,
          content: jsonOf({
            type: 'object',
            required: ['vehicle_id'],
            properties: {
              vehicle_id: { type: 'string', minLength: 1, maxLength: 50 },
              soc_percent: {
                type: 'integer',
                minimum: 0,
                maximum: 100,
                description: 'only when the tracked SoC is unknown',
              },
            },
          }),
        },
        responses: {
          202: {
            description: 'Published',
            content: jsonOf({
              type: 'object',
              properties: { topic: { type: 'string' }, request: schemas.VehicleRequest },
            }),
          },
          ...errors(400, 401, 404, 409),
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer' },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'status', 'message'],
        properties: {
          error: { type: 'string' },
          status: { type: 'integer' },
          message: { type: 'string' },
          errors: { type: 'array', items: { type: 'string' } },
        },
      },
      Health: {
        type: 'object',
        properties: {
          status: { enum: ['ok', 'degraded', 'down'] },
          time: { type: 'string' },
          dependencies: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              properties: {
                state: { enum: ['ok', 'down', 'off'] },
                required: { type: 'boolean' },
                error: { type: 'string' },
              },
            },
          },
        },
      },
      Node: {
        type: 'object',
        properties: {
          node_id: { type: 'string' },
          name: { type: ['string', 'null'] },
          max_power_kw: { type: ['number', 'null'] },
          state: { enum: ['idle', 'charging', 'full', 'faulted', 'unknown'] },
          maintenance: { type: 'boolean' },
          error_code: { type: 'integer' },
          vehicle_id: { type: ['string', 'null'] },
          soc: { type: ['number', 'null'] },
          soc_class: { type: ['string', 'null'] },
          power_kw: { type: ['number', 'null'] },
          power_limit_kw: { type: ['number', 'null'] },
          session_id: { type: ['string', 'null'] },
          last_seen: { type: ['string', 'null'] },
        },
      },
      Hub: {
        type: 'object',
        properties: {
          hub_id: { type: 'string' },
          location: { type: ['object', 'null'] },
          max_grid_capacity_kw: { type: ['number', 'null'] },
          state: { enum: ['online', 'offline', 'maintenance', 'unknown'] },
          stale: { type: 'boolean' },
          available: { type: 'boolean' },
          load_kw: { type: 'number' },
          utilisation: { type: ['number', 'null'] },
          nodes: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
        },
      },
      Vehicle: {
        type: 'object',
        properties: {
          vehicle_id: { type: 'string' },
          soc: { type: ['number', 'null'] },
          soc_source: { type: ['string', 'null'] },
          soc_class: { enum: ['critical', 'normal'] },
          priority: { type: 'boolean' },
          battery_capacity_kwh: { type: ['number', 'null'] },
          model: { type: ['string', 'null'] },
          manufacturer: { type: ['string', 'null'] },
          driver: { type: ['string', 'null'] },
          position: { type: ['object', 'null'] },
          open_session: { oneOf: [{ $ref: '#/components/schemas/Session' }, { type: 'null' }] },
        },
      },
      VehicleProfile: {
        type: 'object',
        required: ['vehicle_id'],
        properties: {
          vehicle_id: { type: 'string', minLength: 1, maxLength: 50 },
          model: { type: ['string', 'null'], maxLength: 100 },
          manufacturer: { type: ['string', 'null'], maxLength: 100 },
          driver: { type: ['string', 'null'], maxLength: 100 },
          battery_capacity_kwh: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1000 },
          priority: { type: 'boolean' },
        },
      },
      Session: {
        type: 'object',
        properties: {
          session_id: { type: 'string' },
          hub_id: { type: 'string' },
          node_id: { type: 'string' },
          vehicle_id: { type: ['string', 'null'] },
          start_time: { type: 'string' },
          end_time: { type: ['string', 'null'] },
          energy_kwh: { type: 'number' },
          average_power_kw: { type: ['number', 'null'] },
          peak_power_kw: { type: ['number', 'null'] },
          start_soc: { type: ['number', 'null'] },
          end_soc: { type: ['number', 'null'] },
          close_reason: { type: ['string', 'null'] },
          active: { type: 'boolean' },
        },
      },
      DlmEvent: {
        type: 'object',
        properties: {
          hub_id: { type: 'string' },
          node_id: { type: 'string' },
          trigger_reason: { type: 'string' },
          original_limit: { type: ['number', 'null'] },
          new_limit: { type: 'number' },
          total_grid_load: { type: ['number', 'null'] },
          available_capacity: { type: ['number', 'null'] },
          source: { type: 'string' },
          allocation_id: { type: ['string', 'null'] },
          policy: { type: ['string', 'null'] },
          timestamp: { type: 'string' },
        },
      },
      RecommendationRequest: {
        type: 'object',
        required: ['latitude', 'longitude', 'battery_level'],
        properties: {
          latitude: { type: 'number', minimum: -90, maximum: 90 },
          longitude: { type: 'number', minimum: -180, maximum: 180 },
          battery_level: { type: 'number', minimum: 0, maximum: 100 },
          vehicle_id: { type: 'string' },
          target_soc: { type: 'number', default: 80 },
          battery_capacity_kwh: { type: 'number', default: 60 },
          limit: { type: 'integer', default: 3, maximum: 20 },
        },
      },
      Recommendation: {
        type: 'object',
        description: 'A superset of the original API fields',
        properties: {
          hub_id: { type: 'string' },
          node_id: { type: 'string' },
          hub_latitude: { type: 'number' },
          hub_longitude: { type: 'number' },
          distance_km: { type: 'number' },
          estimated_wait_time_min: { type: 'number' },
          available_power_kw: { type: 'number' },
          drive_time_min: { type: 'number' },
          charge_time_min: { type: 'number' },
          total_time_min: { type: 'number' },
          arrival_soc: { type: 'number' },
          target_soc: { type: 'number' },
          nameplate_power_kw: { type: 'number' },
        },
      },
      RecommendationResponse: {
        type: 'object',
        properties: {
          best: { $ref: '#/components/schemas/Recommendation' },
          alternatives: { type: 'array', items: { $ref: '#/components/schemas/Recommendation' } },
        },
      },
    },
  },
} as const;

/** `/api/hubs/{hub_id}` → `/api/hubs/:hub_id` (Node-RED's `http in` syntax). */
export function toExpressPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ':$1');
}
