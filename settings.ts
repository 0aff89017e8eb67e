// Node-RED settings for WPT-DLM: everything from environment variables, secure by default.
// - the editor always needs a login (WPT_ADMIN_USER + password or bcrypt hash; generated when unset)
// - every /api route but /api/health needs the API token (WPT_API_TOKEN; generated when unset)
// - credentials are encrypted with WPT_CREDENTIAL_SECRET (generated and kept when unset)
import path from 'node:path';
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import bcrypt from 'bcryptjs';
import { envValue } from './runtime/env';
import { tokenMatches, type ResolvedSecrets } from './runtime/secrets';

export interface SettingsInput {
  env: NodeJS.ProcessEnv;
  userDir: string;
  /** Root of this package (its package.json has the "node-red" section). */
  packageRoot: string;
  secrets: ResolvedSecrets;
}

/** Paths under /api that need no token. */
export const PUBLIC_API_PATHS = new Set(['/api/health']);

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = req.headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

/** Express-style middleware applied by Node-RED to every `http in` route. */
export function apiAuthMiddleware(apiTokenHash: string) {
  return (req: IncomingMessage & { path?: string }, res: ServerResponse, next: () => void): void => {
    const p = req.path ?? new URL(req.url ?? '/', 'http://x').pathname;
    const isApi = p === '/api' || p.startsWith('/api/');
    if (!isApi || PUBLIC_API_PATHS.has(p.replace(/\/+$/, '')) || req.method === 'OPTIONS') return next();
    if (tokenMatches(presentedToken(req), apiTokenHash)) return next();
    res.statusCode = 401;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('WWW-Authenticate', 'Bearer realm="wpt-dlm"');
    res.end(
      JSON.stringify({
        error: 'unauthorized',
        status: 401,
        message: 'API token required: send "Authorization: Bearer <token>" (see WPT_API_TOKEN)',
      }),
    );
  };
}

/**
 * JSON bodies of /api routes, parsed before Node-RED's own parser: a body that is not JSON or
 * too large gets a JSON 400/413 that names the body (Node-RED's `http in` would answer a
 * plain-text 500). Sets `req.body` and `req._body`, which Node-RED's parser then skips.
 */
export function apiJsonBody(limitBytes = 1024 * 1024) {
  return (
    req: IncomingMessage & { body?: unknown; _body?: boolean },
    res: ServerResponse,
    next: () => void,
  ): void => {
    const type = String(req.headers['content-type'] ?? '');
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (
      req._body ||
      !(p === '/api' || p.startsWith('/api/')) ||
      !/^application\/([\w.+-]+\+)?json\b/i.test(type)
    ) {
      return next();
    }
    const fail = (status: number, message: string) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: 'bad_request', status, message, errors: [message] }));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limitBytes) {
        done = true;
        fail(413, `body: too large (more than ${limitBytes} bytes)`);
        req.resume();
        return;
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
          return fail(400, `body: not valid JSON (${(err as Error).message})`);
        }
      }
      req._body = true;
      next();
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        fail(400, 'body: could not be read');
      }
    });
  };
}

/**
 * WebSocket upgrades of `websocket in/out` nodes do not pass through httpNodeMiddleware:
 * paths under /api need the token too (header, or `?token=` since browsers cannot set headers).
 */
export function wsVerifyClient(apiTokenHash: string) {
  return (
    info: { req: IncomingMessage },
    cb: (ok: boolean, code?: number, message?: string) => void,
  ): void => {
    const url = new URL(info.req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/api')) return cb(true);
    const token = presentedToken(info.req) ?? url.searchParams.get('token') ?? undefined;
    if (tokenMatches(token, apiTokenHash)) cb(true);
    else cb(false, 401, 'API token required');
  };
}

/**
 * The operators' dashboard needs the editor login too (HTTP Basic: the browser asks once and
 * sends it with every request of the page, including socket.io's). A bcrypt check costs tens
 * of milliseconds, so a successful Authorization header is remembered (as its hash) for
 * `ttlMs`; at most `max` of them.
 */
export function dashboardAuth(user: string, passwordHash: string, ttlMs = 10 * 60_000, max = 100) {
  const good = new Map<string, number>();
  const check = (header: string | undefined, now = Date.now()): boolean => {
    if (!header || !/^Basic\s+/i.test(header)) return false;
    const key = crypto.createHash('sha256').update(header).digest('hex');
    const until = good.get(key);
    if (until !== undefined && until > now) return true;
    const decoded = Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return false;
    const ok = decoded.slice(0, i) === user && bcrypt.compareSync(decoded.slice(i + 1), passwordHash);
    if (ok) {
      good.set(key, now + ttlMs);
      while (good.size > max) good.delete(good.keys().next().value as string);
    }
    return ok;
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (check(req.headers.authorization)) return next();
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', 'Basic realm="WPT-DLM dashboard", charset="UTF-8"');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('Login required: the WPT-DLM editor user and password.');
  };
  type IoSocket = {
    request: IncomingMessage;
    handshake: { xdomain: boolean };
    client: { conn: { close(): void } };
    disconnect(close: boolean): void;
  };
  // Also keeps what Dashboard 2.0's default socket.io middleware does: no direct WebSocket
  // without the polling handshake, no cross-domain clients.
  const ioMiddleware = (socket: IoSocket, next: (err?: Error) => void): void => {
    if ((socket.request.url ?? '').includes('transport=websocket')) {
      socket.client.conn.close();
      return;
    }
    if (!check(socket.request.headers.authorization)) return next(new Error('unauthorized'));
    if (socket.handshake.xdomain === false) return next();
    socket.disconnect(true);
  };
  return { middleware, ioMiddleware, check };
}

export function buildSettings(input: SettingsInput): Record<string, unknown> {
  const { env, userDir, packageRoot, secrets } = input;
  const level = envValue(env, 'WPT_LOG_LEVEL') ?? 'info';
  return {
    uiPort: Number(envValue(env, 'PORT') ?? 1880),
    uiHost: envValue(env, 'WPT_HTTP_HOST') ?? '0.0.0.0',
    userDir,
    flowFile: 'flows.json',
    flowFilePretty: true,
    credentialSecret: secrets.credentialSecret,
    // Our own package is loaded from its folder; Dashboard 2.0 and other installed
    // Node-RED packages are found in node_modules beside Node-RED.
    nodesDir: [packageRoot],
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    adminAuth: {
      type: 'credentials',
      users: [{ username: secrets.adminUser, password: secrets.adminPasswordHash, permissions: '*' }],
      sessionExpiryTime: 8 * 3600,
    },
    // Token first (nothing of an unauthorised request is read), then the JSON body.
    httpNodeMiddleware: [apiAuthMiddleware(secrets.apiTokenHash), apiJsonBody(1024 * 1024)],
    webSocketNodeVerifyClient: wsVerifyClient(secrets.apiTokenHash),
    httpNodeCors: undefined,
    apiMaxLength: '1mb',
    logging: { console: { level, metrics: false, audit: false } },
    editorTheme: {
      page: { title: 'WPT-DLM' },
      header: { title: 'WPT-DLM' },
      projects: { enabled: false },
      tours: false,
    },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: true },
    runtimeState: { enabled: false, ui: false },
    functionExternalModules: false,
    exportGlobalContextKeys: false,
    externalModules: { autoInstall: false, palette: { allowInstall: true } },
    mqttReconnectTime: 2000,
    dashboard: (() => {
      const auth = dashboardAuth(secrets.adminUser, secrets.adminPasswordHash);
      return { middleware: auth.middleware, ioMiddleware: auth.ioMiddleware };
    })(),
    // Paths shipped with the package, for nodes that need them.
    wptPackageRoot: packageRoot,
    wptFlowsDir: path.join(packageRoot, 'flows'),
  };
}
