// Node-RED settings for WPT-DLM: everything from environment variables, secure by default.
// - the editor always needs a login (WPT_ADMIN_USER + password or bcrypt hash; generated when unset)
// - every /api route but /api/health needs the API token (WPT_API_TOKEN; generated when unset)
// - credentials are encrypted with WPT_CREDENTIAL_SECRET (generated and kept when unset)
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
    httpNodeMiddleware: apiAuthMiddleware(secrets.apiTokenHash),
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
    dashboard: { path: 'dashboard' },
    // Paths shipped with the package, for nodes that need them.
    wptPackageRoot: packageRoot,
    wptFlowsDir: path.join(packageRoot, 'flows'),
  };
}
