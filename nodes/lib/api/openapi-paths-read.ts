// Paths of the OpenAPI document (openapi.ts) that read service state and history, and the
// driver-facing routes (recommendations, charge requests).
import { schemas } from '../../../core/contract';
import { errors, idParam, jsonOf, page, pageParams, time } from './openapi-common';

/** Health, ingest counts and this document. */
export const SERVICE_PATHS = {
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
} as const;

/** Charging sessions and DLM events. */
export const HISTORY_PATHS = {
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
} as const;

/** Where to charge, and asking to charge. */
export const DRIVER_PATHS = {
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
} as const;

/** The audit log of operator actions. */
export const AUDIT_PATHS = {
  '/api/audit': {
    get: {
      operationId: 'listAuditLog',
      summary: 'Operator actions (who, when, what, before and after), newest first',
      parameters: [
        idParam('hub_id', 'query'),
        idParam('node_id', 'query'),
        idParam('vehicle_id', 'query'),
        { name: 'actor', in: 'query', schema: { type: 'string', maxLength: 100 } },
        time('since', 'actions at or after'),
        time('until', 'actions before'),
        ...pageParams,
      ],
      responses: {
        200: { description: 'A page of the audit log', content: jsonOf(page('AuditEntry')) },
        ...errors(400, 401, 503),
      },
    },
  },
} as const;
