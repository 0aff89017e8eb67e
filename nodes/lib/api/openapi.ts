// The OpenAPI 3.1 document of the REST API (served at GET /api/openapi.json). A test keeps
// its paths in step with the `http in` nodes of the shipped flows. Its parts: openapi-common
// (building blocks), openapi-paths-read and openapi-paths-fleet (paths), openapi-schemas
// (components).
import { REGISTRY_PATHS, OPERATOR_PATHS } from './openapi-paths-fleet';
import { AUDIT_PATHS, DRIVER_PATHS, HISTORY_PATHS, SERVICE_PATHS } from './openapi-paths-read';
import { SCHEMAS, SECURITY_SCHEMES } from './openapi-schemas';

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
    ...SERVICE_PATHS,
    ...REGISTRY_PATHS,
    ...HISTORY_PATHS,
    ...DRIVER_PATHS,
    ...OPERATOR_PATHS,
    ...AUDIT_PATHS,
  },
  components: { securitySchemes: SECURITY_SCHEMES, schemas: SCHEMAS },
} as const;

/** `/api/hubs/{hub_id}` → `/api/hubs/:hub_id` (Node-RED's `http in` syntax). */
export function toExpressPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ':$1');
}
