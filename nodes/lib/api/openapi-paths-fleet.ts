// Paths of the OpenAPI document (openapi.ts) that register, change and remove hubs, nodes and
// vehicles: the fleet registry and the operator commands.
import { command, errors, idParam, jsonOf, NOTE } from './openapi-common';

/** Hubs and vehicles: live views, registration, removal. */
export const REGISTRY_PATHS = {
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
    put: command(
      'upsertHub',
      'Register a hub or update its settings (absent fields keep their value, null clears)',
      'Hub',
      [idParam('hub_id')],
      {
        type: 'object',
        properties: {
          location: {
            type: ['object', 'null'],
            required: ['latitude', 'longitude'],
            properties: {
              latitude: { type: 'number', minimum: -90, maximum: 90 },
              longitude: { type: 'number', minimum: -180, maximum: 180 },
              altitude: { type: 'number' },
            },
          },
          max_grid_capacity_kw: { type: ['number', 'null'], minimum: 0, maximum: 1000 },
          ip_address: { type: ['string', 'null'] },
          firmware_version: { type: ['string', 'null'], maxLength: 20 },
          note: NOTE,
        },
      },
      true,
    ),
    delete: command(
      'deleteHub',
      'Remove a hub and its nodes (their open sessions close, reason operator)',
      null,
      [idParam('hub_id')],
    ),
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
    put: command(
      'upsertVehicle',
      'Register a vehicle or update its profile (priority makes it critical for the DLM)',
      'Vehicle',
      [idParam('vehicle_id')],
      {
        type: 'object',
        properties: {
          model: { type: ['string', 'null'], maxLength: 100 },
          manufacturer: { type: ['string', 'null'], maxLength: 100 },
          driver: { type: ['string', 'null'], maxLength: 100 },
          battery_capacity_kwh: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1000 },
          priority: { type: 'boolean' },
          note: NOTE,
        },
      },
      true,
    ),
    delete: command('deleteVehicle', 'Remove a vehicle (409 while it charges: end its session first)', null, [
      idParam('vehicle_id'),
    ]),
  },
} as const;

/** Operator commands on hubs and nodes, and the node’s QR code. */
export const OPERATOR_PATHS = {
  '/api/hubs/{hub_id}/activate': {
    post: command('activateHub', 'Put a hub back in service (its nodes are allocated again)', 'Hub', [
      idParam('hub_id'),
    ]),
  },
  '/api/hubs/{hub_id}/deactivate': {
    post: command(
      'deactivateHub',
      'Take a hub out of service: every node gets 0 kW, it is never recommended nor assigned',
      'Hub',
      [idParam('hub_id')],
    ),
  },
  '/api/hubs/{hub_id}/capacity-override': {
    put: command(
      'overrideHubCapacity',
      'Lower (or raise) the capacity the DLM uses: min(hub-reported, kw) while from ≤ now < until',
      'Hub',
      [idParam('hub_id')],
      {
        type: 'object',
        required: ['kw'],
        properties: {
          kw: { type: 'number', minimum: 0, maximum: 1000 },
          from: { type: ['string', 'null'], format: 'date-time', description: 'default: in force at once' },
          until: { type: ['string', 'null'], format: 'date-time', description: 'default: open-ended' },
          note: NOTE,
        },
      },
    ),
    delete: command('clearHubCapacityOverride', 'End the capacity override', 'Hub', [idParam('hub_id')]),
  },
  '/api/nodes/{hub_id}/{node_id}': {
    put: command(
      'upsertNode',
      'Register a node of a known hub or update its settings (absent fields keep their value, null clears)',
      'Node',
      [idParam('hub_id'), idParam('node_id')],
      {
        type: 'object',
        properties: {
          name: { type: ['string', 'null'], maxLength: 100 },
          max_power_kw: { type: ['number', 'null'], minimum: 0, maximum: 350 },
          note: NOTE,
        },
      },
      true,
    ),
    delete: command('deleteNode', 'Remove a node (its open session closes, reason operator)', null, [
      idParam('hub_id'),
      idParam('node_id'),
    ]),
  },
  '/api/nodes/{hub_id}/{node_id}/maintenance': {
    put: command(
      'setNodeMaintenance',
      'Switch a node to maintenance (limit 0, never assigned) or back',
      'Node',
      [idParam('hub_id'), idParam('node_id')],
      {
        type: 'object',
        required: ['maintenance'],
        properties: { maintenance: { type: 'boolean' }, note: NOTE },
      },
    ),
  },
  '/api/nodes/{hub_id}/{node_id}/max-power-override': {
    put: command(
      'overrideNodeMaxPower',
      'Cap a node: the DLM uses min(reported maximum, kw)',
      'Node',
      [idParam('hub_id'), idParam('node_id')],
      {
        type: 'object',
        required: ['kw'],
        properties: { kw: { type: ['number', 'null'], minimum: 0, maximum: 350 }, note: NOTE },
      },
    ),
    delete: command('clearNodeMaxPowerOverride', 'End the node’s cap', 'Node', [
      idParam('hub_id'),
      idParam('node_id'),
    ]),
  },
  '/api/nodes/{hub_id}/{node_id}/session/end': {
    post: command(
      'endSession',
      'Close the node’s open session (reason operator; the note is its reason text)',
      'Session',
      [idParam('hub_id'), idParam('node_id')],
      { type: 'object', properties: { note: NOTE } },
    ),
  },
  '/api/nodes/{hub_id}/{node_id}/qr.png': {
    get: {
      operationId: 'getNodeQrCode',
      summary:
        'QR code (PNG) of the node’s charge URL on this server: {base}/api/nodes/{hub_id}/{node_id}/charge',
      parameters: [
        idParam('hub_id'),
        idParam('node_id'),
        { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50, default: 8 } },
        {
          name: 'base_url',
          in: 'query',
          description: 'the server URL to encode (default: the one the request reached)',
          schema: { type: 'string', format: 'uri' },
        },
      ],
      responses: {
        200: {
          description: 'The PNG',
          content: { 'image/png': { schema: { type: 'string', format: 'binary' } } },
        },
        ...errors(400, 401, 404),
      },
    },
  },
} as const;
