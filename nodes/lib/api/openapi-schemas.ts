// Components of the OpenAPI document (openapi.ts): security schemes and the schemas its paths
// refer to as #/components/schemas/<Name>.

export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
} as const;

export const SCHEMAS = {
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
  AuditEntry: {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      timestamp: { type: 'string' },
      actor: { type: 'string', description: 'api, api:<X-WPT-Actor>, dashboard:<user>, original-api' },
      op: { type: 'string' },
      hub_id: { type: ['string', 'null'] },
      node_id: { type: ['string', 'null'] },
      vehicle_id: { type: ['string', 'null'] },
      session_id: { type: ['string', 'null'] },
      before: { type: ['object', 'null'] },
      after: { type: ['object', 'null'] },
      note: { type: ['string', 'null'] },
    },
  },
  Health: {
    type: 'object',
    properties: {
      status: { enum: ['ok', 'degraded', 'down'] },
      role: {
        enum: ['active', 'standby'],
        description:
          'standby: another orchestrator uses this database (one instance, cluster mode off); this one answers reads, refuses operator commands and takes over when the other is gone',
      },
      time: { type: 'string' },
      dependencies: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          properties: {
            state: { enum: ['ok', 'down', 'off'] },
            required: { type: 'boolean' },
            error: { type: 'string' },
            latency_ms: { type: 'number', description: 'PostgreSQL: the health query\u2019s round trip' },
            points: {
              type: 'object',
              description: 'InfluxDB: lines written, dropped (lost for good) and waiting since the start',
              properties: {
                written: { type: 'integer' },
                dropped: { type: 'integer' },
                buffered: { type: 'integer' },
              },
            },
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
      maintenance: { type: 'boolean', description: 'the hub\u2019s or the operator\u2019s' },
      operator_maintenance: { type: 'boolean' },
      max_power_override_kw: { type: ['number', 'null'] },
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
      active: { type: 'boolean' },
      capacity_override: {
        type: ['object', 'null'],
        properties: {
          kw: { type: 'number' },
          from: { type: ['string', 'null'] },
          until: { type: ['string', 'null'] },
        },
      },
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
      owner_epoch: {
        type: ['integer', 'null'],
        minimum: 0,
        description:
          'Cluster mode: the hub owner\u2019s lease epoch when it sent the event (grows at every change of owner); null otherwise (single instance, a hub\u2019s own event, an older row)',
      },
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
} as const;
