// Settings for running the WPT-DLM nodes and shipped flows in a stock Node-RED, with the same
// security as `npm start` (editor login, API token, dashboard login), everything from the
// environment (README › Configuration):
//   node-red -s dist/settings.js        (from a clone, after npm run build)
// The launcher (`npm start`) does not use this file: both build on runtime/settings.ts.
// Generated secrets are stored and printed at once here (the launcher waits for a good start).
import { buildSettings } from './runtime/settings';
import { resolveSecrets } from './runtime/secrets';
import { packageRoot, userDirOf } from './runtime/paths';

const root = packageRoot(__dirname);
const userDir = userDirOf(process.env, root);
const secrets = resolveSecrets(process.env, userDir);
secrets.commit();
if (secrets.generated.adminPassword) {
  console.log(`[wpt] Editor login (shown once): ${secrets.adminUser} / ${secrets.generated.adminPassword}`);
}
if (secrets.generated.apiToken) console.log(`[wpt] API token (shown once): ${secrets.generated.apiToken}`);

export = buildSettings({ env: process.env, userDir, packageRoot: root, secrets });
