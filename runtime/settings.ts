// Node-RED settings for WPT-DLM: everything from environment variables, secure by default.
// - the editor always needs a login (WPT_ADMIN_USER + password or bcrypt hash; generated when unset)
// - every `http in` route and WebSocket needs the API token but the public ones (/api/health)
// - the dashboard needs the editor's login
// - credentials are encrypted with WPT_CREDENTIAL_SECRET (generated and kept when unset)
// Used by the launcher (runtime/app.ts) and by the root settings.ts for a stock Node-RED.
import path from 'node:path';
import { envValue } from './env';
import type { ResolvedSecrets } from './secrets';
import { apiAuthMiddleware, apiBody, wsVerifyClient } from './http-guard';
import { dashboardAuth } from './dashboard-auth';

export interface SettingsInput {
  env: NodeJS.ProcessEnv;
  userDir: string;
  /** Root of this package (its package.json has the "node-red" section). */
  packageRoot: string;
  secrets: Pick<ResolvedSecrets, 'credentialSecret' | 'adminUser' | 'adminPasswordHash' | 'apiTokenHash'>;
}

/** Largest request body the API reads. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export function buildSettings(input: SettingsInput): Record<string, unknown> {
  const { env, userDir, packageRoot, secrets } = input;
  const level = envValue(env, 'WPT_LOG_LEVEL') ?? 'info';
  const dashboard = dashboardAuth(secrets.adminUser, secrets.adminPasswordHash);
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
    // Token first (nothing of an unauthorised request is read), then the body.
    httpNodeMiddleware: [apiAuthMiddleware(secrets.apiTokenHash), apiBody(BODY_LIMIT_BYTES)],
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
    dashboard: { middleware: dashboard.middleware, ioMiddleware: dashboard.ioMiddleware },
    // Paths shipped with the package, for nodes that need them.
    // The API token's hash for the package's wpt-api node (when its own Token is empty).
    wptApiTokenHash: secrets.apiTokenHash,
    wptPackageRoot: packageRoot,
    wptFlowsDir: path.join(packageRoot, 'flows'),
  };
}
