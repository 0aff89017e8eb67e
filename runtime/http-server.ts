// The launcher's HTTP server: Node-RED's editor (httpAdmin) and node routes (httpNode) on one port.
// - /api and /dashboard go straight to the node routes (no editor session or static files);
// - every /api request, however its path is spelled (case, %-encoding, //, ./..), needs the
//   API token before it goes anywhere, but /api/health (runtime/http-guard.ts); the `http in`
//   routes check it again themselves (httpNodeMiddleware), so does a stock Node-RED;
// - until the flows run, /api/health answers 503 {"status":"starting"} and every other /api
//   route 503 (instead of 404: the routes do not exist yet);
// - what no route handled is a JSON 404, and a route middleware's error a JSON 4xx/500.
import http from 'node:http';
import { PUBLIC_ROUTES, canonicalPath, discardBody, presentedToken, tokenProblem } from './http-guard';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;

export interface NodeRedHttp {
  httpAdmin: Handler;
  httpNode: Handler;
}

export interface LauncherServer {
  server: http.Server;
  /** The flows run: hand /api to them. */
  ready(): void;
}

function sendJson(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function notFound(req: http.IncomingMessage, res: http.ServerResponse): void {
  sendJson(res, 404, { error: 'not_found', status: 404, message: `no route for ${req.method} ${req.url}` });
}

/** What no route handled: 404; or the error of a route's middleware, as JSON like every API answer. */
const fallback = (req: http.IncomingMessage, res: http.ServerResponse) => (err?: unknown) => {
  if (!err) return notFound(req, res);
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
  const raw = e.status ?? e.statusCode ?? 500;
  const status = raw >= 400 && raw < 600 ? raw : 500;
  const message =
    e.type === 'entity.parse.failed'
      ? 'body: not valid JSON'
      : e.type === 'entity.too.large'
        ? 'body: too large'
        : status < 500
          ? (e.message ?? 'bad request')
          : 'internal error';
  sendJson(res, status, { error: status < 500 ? 'bad_request' : 'internal', status, message });
};

const pathOnly = (url: string | undefined) => (url ?? '/').split('?')[0]!;

export function createLauncherServer(RED: NodeRedHttp, apiTokenHash: string): LauncherServer {
  let running = false;
  const server = http.createServer((req, res) => {
    const raw = pathOnly(req.url);
    const canonical = canonicalPath(raw);
    // A path that cannot be decoded is refused like any API path: it may be one.
    const api = canonical === null || canonical === '/api' || canonical.startsWith('/api/');
    if (api && !(canonical !== null && PUBLIC_ROUTES.has(canonical))) {
      const problem = tokenProblem(presentedToken(req), apiTokenHash);
      if (problem) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="wpt-dlm"');
        sendJson(res, 401, { error: 'unauthorized', status: 401, message: problem });
        return discardBody(req);
      }
    }
    if (!running && api) {
      res.setHeader('Retry-After', '1');
      if (canonical === '/api/health') return sendJson(res, 503, { status: 'starting' });
      return sendJson(res, 503, {
        error: 'starting',
        status: 503,
        message: 'starting: try again in a moment',
      });
    }
    if (api || canonical === '/dashboard' || canonical!.startsWith('/dashboard/')) {
      RED.httpNode(req, res, fallback(req, res));
    } else {
      RED.httpAdmin(req, res, () => RED.httpNode(req, res, fallback(req, res)));
    }
  });
  return {
    server,
    ready() {
      running = true;
    },
  };
}
