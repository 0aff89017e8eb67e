// wpt-api: config node of the REST API: its token. Every API node of the package (wpt-query,
// wpt-recommender, wpt-charge, wpt-command, wpt-feed) checks the token of each HTTP request
// against it before anything else, so the API is closed wherever the package runs. The token
// is a credential (encrypted with the flows' credentials), best given as its hash
// `sha256:<hex>`; without one the node falls back on the launcher's settings or the
// WPT_API_TOKEN environment variable, and with none at all the API refuses every request and
// says how to set one. /api/health is the only public route (wpt-query, operation health).
import type { NodeAPI, Props } from '../lib/node-red';
import { registerNode } from '../lib/node-red';
import type { ApiConfigNode } from '../lib/config-nodes';
import { authorize, tokenHashOf } from '../lib/api';

export = function register(RED: NodeAPI): void {
  function WptApiNode(this: ApiConfigNode, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fromCredential = tokenHashOf(node.credentials?.token);
    const settings = (RED.settings as unknown as { wptApiTokenHash?: unknown }).wptApiTokenHash;
    const fromSettings = typeof settings === 'string' ? tokenHashOf(settings) : null;
    const fromEnv = tokenHashOf(process.env.WPT_API_TOKEN);
    node.tokenHash = fromCredential ?? fromSettings ?? fromEnv;
    node.tokenSource = fromCredential ? 'credential' : fromSettings ? 'settings' : fromEnv ? 'env' : null;
    if (node.credentials?.token && !fromCredential) node.warn(RED._('wpt-api.errors.short'));
    if (!node.tokenHash) node.warn(RED._('wpt-api.errors.none'));
    node.authorize = (headers) => authorize(headers, node.tokenHash);
  }
  registerNode(RED, 'wpt-api', WptApiNode, { credentials: { token: { type: 'password' } } });
};
