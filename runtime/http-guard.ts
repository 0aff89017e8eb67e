// What every request that reaches an `http in` route or a WebSocket node goes through, in the
// launcher and in a stock Node-RED that uses our settings (httpNodeMiddleware and
// webSocketNodeVerifyClient apply to those routes only, never to the editor or the dashboard):
// 1. the API token, deny by default: a route is public only by name (PUBLIC_ROUTES), and only
//    when the request's path, however it is spelled, normalises to exactly that name;
// 2. the body: too large → JSON 413, not JSON on an /api route → JSON 415, unparsable → JSON 400.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tokenMatches } from './secrets';

/** The only routes that answer without the token. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/api/health']);

type Req = IncomingMessage & {
  path?: string;
  route?: { path?: unknown };
  body?: unknown;
  _body?: boolean;
};

/**
 * One spelling for every way of writing a path: percent-decoded (until nothing changes, at most
 * three times), `\` read as `/`, runs of `/` collapsed, `.`/`..` segments resolved, dots and
 * slashes at the end of a segment dropped, lower case. null when it cannot be decoded (or holds a
 * NUL): such a path is never public.
 */
export function canonicalPath(raw: string): string | null {
  let p = raw;
  for (let i = 0; i < 3; i++) {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      return null;
    }
    if (d === p) break;
    p = d;
  }
  if (/%[0-9a-f]{2}/i.test(p) || p.includes('\0')) return null;
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    const s = seg.replace(/[.\s]+$/, '');
    if (s === '') {
      if (seg === '..') out.pop();
      continue;
    }
    out.push(s.toLowerCase());
  }
  return '/' + out.join('/');
}

function pathOf(req: Req): string {
  if (typeof req.path === 'string') return req.path;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Public: the route that matched is public by name and the path normalises to exactly it. */
export function isPublicRequest(req: Req): boolean {
  const canonical = canonicalPath(pathOf(req));
  if (canonical === null || !PUBLIC_ROUTES.has(canonical)) return false;
  const route = req.route?.path;
  return route === undefined || route === canonical;
}

/** The token sent as `Authorization: Bearer …` or `X-API-Key: …`. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = req.headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

/** Why a request is not let in, or null when it is. Missing and wrong tokens read differently. */
export function tokenProblem(token: string | undefined, apiTokenHash: string): string | null {
  if (token === undefined) {
    return 'API token required: send "Authorization: Bearer <token>" or "X-API-Key: <token>" (WPT_API_TOKEN)';
  }
  if (!tokenMatches(token, apiTokenHash)) {
    return 'API token not accepted: it is not the configured token (WPT_API_TOKEN; `npm run reset-login` makes a new one)';
  }
  return null;
}

/** Past this much of a refused body, the connection is closed instead of read to its end. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops the rest of a request body that was answered already, so that the client,
 * which may still be sending, gets to read the answer; a body too large even for that ends the
 * connection.
 */
export function discardBody(req: IncomingMessage): void {
  let seen = 0;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** httpNodeMiddleware, first: the token on every `http in` route but the public ones. */
export function apiAuthMiddleware(apiTokenHash: string) {
  return (req: Req, res: ServerResponse, next: () => void): void => {
    if (isPublicRequest(req)) return next();
    const problem = tokenProblem(presentedToken(req), apiTokenHash);
    if (problem === null) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="wpt-dlm"');
    sendJson(res, 401, { error: 'unauthorized', status: 401, message: problem });
    discardBody(req);
  };
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

function isApiRoute(req: Req): boolean {
  const route = typeof req.route?.path === 'string' ? req.route.path : pathOf(req);
  const c = canonicalPath(route);
  return c !== null && (c === '/api' || c.startsWith('/api/'));
}

/**
 * httpNodeMiddleware, second: reads JSON bodies itself (Node-RED's parsers would answer a
 * plain-text 500), so that an oversize body is a JSON 413 on any route, a body that is not JSON
 * on an /api route a 415 that names its Content-Type, unparsable JSON a 400. Sets `req.body`
 * and `req._body`, which Node-RED's parsers then skip.
 */
export function apiBody(limitBytes = 1024 * 1024) {
  return (req: Req, res: ServerResponse, next: () => void): void => {
    if (req._body) return next();
    const length = Number(req.headers['content-length'] ?? NaN);
    const hasBody = (Number.isFinite(length) && length > 0) || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    const fail = (status: number, error: string, message: string) => {
      sendJson(res, status, { error, status, message, errors: [message] });
      discardBody(req);
    };
    const tooLarge = `body: too large (more than ${limitBytes} bytes)`;
    if (Number.isFinite(length) && length > limitBytes) return fail(413, 'payload_too_large', tooLarge);
    const type = String(req.headers['content-type'] ?? '');
    if (!JSON_TYPE.test(type)) {
      if (!isApiRoute(req)) return next();
      const named = type.trim() === '' ? 'no Content-Type' : `Content-Type "${type.trim()}"`;
      return fail(415, 'unsupported_media_type', `body: ${named} is not accepted; send application/json`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limitBytes) {
        done = true;
        return fail(413, 'payload_too_large', tooLarge);
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        req.body = {};
      } else {
        try {
          req.body = JSON.parse(text);
        } catch (err) {
          return fail(400, 'bad_request', `body: not valid JSON (${(err as Error).message})`);
        }
      }
      req._body = true;
      next();
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        fail(400, 'bad_request', 'body: could not be read');
      }
    });
  };
}

/**
 * webSocketNodeVerifyClient: upgrades of `websocket in/out` nodes do not pass through
 * httpNodeMiddleware. Every one needs the token (header, or `?token=` since browsers cannot
 * set headers on a WebSocket).
 */
export function wsVerifyClient(apiTokenHash: string) {
  return (
    info: { req: IncomingMessage },
    cb: (ok: boolean, code?: number, message?: string) => void,
  ): void => {
    const url = new URL(info.req.url ?? '/', 'http://x');
    const token = presentedToken(info.req) ?? url.searchParams.get('token') ?? undefined;
    const problem = tokenProblem(token, apiTokenHash);
    if (problem === null) cb(true);
    else cb(false, 401, problem);
  };
}
