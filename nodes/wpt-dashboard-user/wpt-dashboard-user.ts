// wpt-dashboard-user: a Dashboard 2.0 plugin that names the operator behind each dashboard
// message. The dashboard is behind a login (HTTP Basic, the editor's user: runtime/
// dashboard-auth.ts); this hook reads the user name of the socket's Authorization header and puts
// it in msg._client.user.username, so wpt-command (op dashboard) records `dashboard:<user>` in
// the audit log. Without such a header nothing is added (the actor is then `dashboard`).
import type { NodeAPI } from '../lib/node-red';
import { basicAuthUser } from '../lib/dashboard-controls';

interface Conn {
  request?: { headers?: Record<string, unknown> };
}

export = function register(RED: NodeAPI): void {
  const plugins = (RED as unknown as { plugins: { registerPlugin(id: string, def: object): void } }).plugins;
  plugins.registerPlugin('wpt-dashboard-user', {
    type: 'node-red-dashboard-2',
    hooks: {
      onAddConnectionCredentials(conn: Conn, msg: Record<string, unknown>) {
        const user = basicAuthUser(conn?.request?.headers?.authorization);
        if (!user || !msg) return msg;
        msg._client = { ...((msg._client as object | undefined) ?? {}), user: { username: user } };
        return msg;
      },
    },
  });
};
