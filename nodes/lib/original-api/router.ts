// The routes of the original API (ORIGINAL-API.md §4) and their dispatch as Starlette did it:
// the first route whose path and method match; a path that matches only with another method
// is a 405 (with Allow), no path a 404; GET routes answer HEAD; a trailing slash is redirected
// (307). CORS preflights are answered before (cors.ts); failures become the catch-all 500.
import type { Handler, OriginalApiDeps, Req } from './deps';
import { internalError, methodNotAllowed, notFoundRoute, type Resp } from './errors';
import * as fleet from './routes-fleet';
import * as history from './routes-history';
import * as misc from './routes-misc';
import { docsPage, openApiDocument, redocPage } from './openapi';

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  handler: Handler;
  summary: string;
  /** Has a JSON body (for the OpenAPI document). */
  body?: boolean;
}

const r = (
  method: Route['method'],
  path: string,
  handler: Handler,
  summary: string,
  body = false,
): Route => ({
  method,
  path,
  handler,
  summary,
  ...(body ? { body } : {}),
});

/** In the original's order: /sessions/active before /sessions/{session_id} and so on. */
export const ROUTES: readonly Route[] = [
  r('GET', '/', misc.root, 'Service information'),
  r('GET', '/health', misc.health, 'Health of the service and its database'),
  r('GET', '/hubs', fleet.listHubs, 'List hubs'),
  r('POST', '/hubs', fleet.createHub, 'Create a hub', true),
  r('GET', '/hubs/{hub_id}', fleet.getHub, 'Get a hub'),
  r('PATCH', '/hubs/{hub_id}', fleet.updateHub, 'Update a hub', true),
  r('DELETE', '/hubs/{hub_id}', fleet.deleteHub, 'Delete a hub'),
  r('POST', '/hubs/{hub_id}/activate', fleet.activateHub, 'Activate a hub'),
  r('POST', '/hubs/{hub_id}/deactivate', fleet.deactivateHub, 'Deactivate a hub'),
  r('GET', '/nodes', fleet.listNodes, 'List nodes'),
  r('POST', '/nodes', fleet.createNode, 'Create a node', true),
  r('GET', '/nodes/{node_id}', fleet.getNode, 'Get a node'),
  r('PATCH', '/nodes/{node_id}', fleet.updateNode, 'Update a node', true),
  r('DELETE', '/nodes/{node_id}', fleet.deleteNode, 'Delete a node'),
  r(
    'POST',
    '/nodes/{node_id}/maintenance',
    fleet.setNodeMaintenance,
    'Set maintenance (query maintenance=bool)',
  ),
  r('POST', '/nodes/{node_id}/charge', misc.charge, 'Ask to charge a vehicle at a node (QR code)', true),
  r('GET', '/vehicles', fleet.listVehicles, 'List vehicles'),
  r('POST', '/vehicles', fleet.createVehicle, 'Register a vehicle', true),
  r('GET', '/vehicles/{vehicle_id}', fleet.getVehicle, 'Get a vehicle'),
  r('PATCH', '/vehicles/{vehicle_id}', fleet.updateVehicle, 'Update a vehicle', true),
  r('DELETE', '/vehicles/{vehicle_id}', fleet.deleteVehicle, 'Delete a vehicle'),
  r('POST', '/vehicles/{vehicle_id}/register', fleet.registerVehicle, 'Get or register a vehicle', true),
  r('GET', '/sessions', history.listSessions, 'List charging sessions'),
  r('GET', '/sessions/active', history.activeSessions, 'Open charging sessions'),
  r('POST', '/sessions/start', history.startSession, 'The open session of a node', true),
  r('GET', '/sessions/{session_id}', history.getSession, 'Get a charging session'),
  r('POST', '/sessions/{session_id}/end', history.endSession, 'End a charging session', true),
  r('DELETE', '/sessions/{session_id}', history.deleteSession, 'End an open charging session'),
  r('GET', '/dlm/events', history.listDlmEvents, 'List DLM events'),
  r('POST', '/dlm/events', history.createDlmEvent, 'Refused: DLM events are not posted', true),
  r('GET', '/dlm/events/recent', history.recentDlmEvents, 'DLM events of the last hours, newest first'),
  r('GET', '/dlm/events/{dlm_event_id}', history.getDlmEvent, 'Get a DLM event'),
  r('POST', '/recommendations', misc.recommendations, 'Where to charge', true),
  r('GET', '/qr/node/{node_id}', misc.qrCode, 'QR code (PNG) of a node\u2019s charge URL'),
  r('GET', '/openapi.json', async () => ({ status: 200, body: openApiDocument(ROUTES) }), 'This document'),
  r('GET', '/docs', async () => docsPage(), 'Swagger UI'),
  r('GET', '/redoc', async () => redocPage(), 'ReDoc'),
];

interface Compiled {
  route: Route;
  segments: string[];
}
const COMPILED: Compiled[] = ROUTES.map((route) => ({ route, segments: route.path.split('/').slice(1) }));

/** Matches a path (raw, percent-encoded) against a pattern; the decoded parameters, or null. */
function match(segments: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const p = parts[i]!;
    if (s.startsWith('{')) {
      if (p === '') return null;
      try {
        params[s.slice(1, -1)] = decodeURIComponent(p);
      } catch {
        return null;
      }
    } else if (s !== p) return null;
  }
  return params;
}

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'redirect'; location: string }
  | { kind: 'none' };

/** Which route serves `method path` (path without the query). */
export function findRoute(method: string, path: string): RouteMatch {
  const parts = path.split('/').slice(1);
  const allow = new Set<string>();
  const m = method === 'HEAD' ? 'GET' : method;
  for (const c of COMPILED) {
    const params = match(c.segments, parts);
    if (!params) continue;
    if (c.route.method === m) return { kind: 'route', route: c.route, params };
    allow.add(c.route.method);
    if (c.route.method === 'GET') allow.add('HEAD');
  }
  if (allow.size) return { kind: 'method', allow: [...allow].sort() };
  if (path.length > 1 && path.endsWith('/')) {
    const bare = path.replace(/\/+$/, '') || '/';
    if (findRoute(method, bare).kind !== 'none') return { kind: 'redirect', location: bare };
  }
  return { kind: 'none' };
}

/** Answers one request (not a preflight): the route's answer, or 404/405/307, or the catch-all 500. */
export async function dispatch(req: Omit<Req, 'params'>, d: OriginalApiDeps): Promise<Resp> {
  const found = findRoute(req.method, req.path);
  switch (found.kind) {
    case 'none':
      return notFoundRoute();
    case 'method':
      return methodNotAllowed(found.allow);
    case 'redirect': {
      const q = req.query.toString();
      return {
        status: 307,
        body: undefined,
        headers: { Location: q ? `${found.location}?${q}` : found.location },
      };
    }
    case 'route':
      try {
        return await found.route.handler({ ...req, params: found.params }, d);
      } catch (err) {
        return internalError((err instanceof Error ? err.message : String(err)) || 'internal error');
      }
  }
}
