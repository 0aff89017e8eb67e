// The original API's OpenAPI document (GET /openapi.json) and its two viewers (/docs, /redoc),
// as FastAPI served them: pages that load Swagger UI and ReDoc from a CDN.
import type { Resp } from './errors';
import { ORIGINAL_SERVICE, ORIGINAL_VERSION } from './routes-misc';

interface RouteDoc {
  method: string;
  path: string;
  summary: string;
  body?: boolean;
}

const INT_PARAMS = new Set(['session_id', 'dlm_event_id']);

export function openApiDocument(routes: readonly RouteDoc[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.path === '/openapi.json' || r.path === '/docs' || r.path === '/redoc') continue;
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: INT_PARAMS.has(m[1]!) ? { type: 'integer' } : { type: 'string' },
    }));
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = {
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } } }
        : {}),
      responses: {
        200: { description: 'Successful Response' },
        422: { description: 'Validation Error' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: ORIGINAL_SERVICE,
      version: ORIGINAL_VERSION,
      description:
        'The original WPT-DLM API, served by WPT-DLM on Node-RED for the original driver app and operator dashboard. ' +
        'Shapes and errors as the original; writes are operator commands on the fleet\u2019s digital twin (audited).',
    },
    paths,
  };
}

const page = (title: string, head: string, body: string): Resp => ({
  status: 200,
  body: Buffer.from(
    `<!DOCTYPE html><html><head><title>${title}</title><meta charset="utf-8"/>` +
      `<meta name="viewport" content="width=device-width, initial-scale=1">${head}</head><body>${body}</body></html>`,
  ),
  headers: { 'Content-Type': 'text/html; charset=utf-8' },
});

export function docsPage(): Resp {
  return page(
    `${ORIGINAL_SERVICE} - Swagger UI`,
    '<link type="text/css" rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">',
    '<div id="swagger-ui"></div>' +
      '<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>' +
      '<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true, ' +
      'presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]})</script>',
  );
}

export function redocPage(): Resp {
  return page(
    `${ORIGINAL_SERVICE} - ReDoc`,
    '<style>body{margin:0;padding:0}</style>',
    '<redoc spec-url="/openapi.json"></redoc>' +
      '<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>',
  );
}
