// The operators' controls on Dashboard 2.0: what a widget message asks for (msg.topic = the
// command op, msg.payload = its fields, ids included), who asks (the dashboard user), and the
// notice an operator reads once wpt-twin has answered. The commands themselves are the REST
// API's (parseCommand): one set of rules, checked by the twin.
import { COMMAND_OPS, parseCommand, type CommandOp } from './api/commands';
import type { OperatorCommand } from '../../core/twin';

const ID_KEYS = ['hub_id', 'node_id', 'vehicle_id'] as const;

/** The user name of an HTTP Basic Authorization header, or null. */
export function basicAuthUser(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = i < 0 ? '' : decoded.slice(0, i);
  // eslint-disable-next-line no-control-regex
  return user && user.length <= 80 && !/[\u0000-\u001f\u007f-\u009f]/.test(user) ? user : null;
}

/**
 * Who acts on the dashboard, for the audit log: `dashboard:<user>` when the dashboard's login
 * named one (msg._client.user, set by the wpt-dashboard-user plugin), else `dashboard`.
 */
export function dashboardActor(client: unknown): string {
  const user = (client as { user?: { username?: unknown } } | undefined)?.user?.username;
  // eslint-disable-next-line no-control-regex
  return typeof user === 'string' && user && user.length <= 80 && !/[\u0000-\u001f\u007f-\u009f]/.test(user)
    ? `dashboard:${user}`
    : 'dashboard';
}

export type DashboardCommand = { ok: true; command: OperatorCommand } | { ok: false; errors: string[] };

/** The command a dashboard widget asks for: msg.topic names the op, msg.payload holds its fields. */
export function dashboardCommand(topic: unknown, payload: unknown): DashboardCommand {
  if (typeof topic !== 'string' || !(COMMAND_OPS as readonly string[]).includes(topic))
    return { ok: false, errors: [`topic: must be one of ${COMMAND_OPS.join(', ')}`] };
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    return { ok: false, errors: ['payload: must be an object with the command’s fields'] };
  const params: Record<string, unknown> = {};
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload as Record<string, unknown>))
    if ((ID_KEYS as readonly string[]).includes(k)) params[k] = v;
    else body[k] = v;
  return parseCommand(topic as CommandOp, { params, query: {}, body });
}

function target(c: Record<string, unknown>): string {
  if (typeof c.vehicle_id === 'string') return `vehicle ${c.vehicle_id}`;
  if (typeof c.node_id === 'string') return `node ${String(c.hub_id)}/${c.node_id}`;
  return `hub ${String(c.hub_id)}`;
}

/** What a command did, in words, for an operator (the answer was a success). */
function done(c: OperatorCommand): string {
  const t = target(c as unknown as Record<string, unknown>);
  switch (c.op) {
    case 'hub-upsert':
    case 'node-upsert':
    case 'vehicle-upsert':
      return 'priority' in c && c.priority !== undefined
        ? `${t}: ${c.priority ? 'priority' : 'no priority'}`
        : `${t} saved`;
    case 'hub-delete':
    case 'node-delete':
    case 'vehicle-delete':
      return `${t} removed`;
    case 'hub-active':
      return `${t} ${c.active ? 'activated' : 'deactivated: every node gets 0 kW'}`;
    case 'hub-capacity-override':
      return c.override ? `${t}: capacity limited to ${c.override.kw} kW` : `${t}: capacity override cleared`;
    case 'node-maintenance':
      return `${t} ${c.maintenance ? 'in maintenance: limit 0 kW' : 'back in service'}`;
    case 'node-max-power-override':
      return c.kw === null ? `${t}: power cap cleared` : `${t}: power capped at ${c.kw} kW`;
    case 'session-end':
      return `${t}: session ended`;
  }
}

export interface DashboardNotice {
  /** The text of a ui-notification. */
  text: string;
  /** 'success' or 'error' (for the notification's colour). */
  level: 'success' | 'error';
}

/** The notice of a command's answer (statusCode, payload as wpt-twin answers) or of a refusal. */
export function dashboardNotice(command: unknown, statusCode: number, payload: unknown): DashboardNotice {
  if (statusCode < 300 && command && typeof command === 'object')
    return { text: done(command as OperatorCommand), level: 'success' };
  const p = payload as { message?: unknown } | undefined;
  const why = typeof p?.message === 'string' ? p.message : `status ${statusCode}`;
  return { text: `Not done: ${why}`, level: 'error' };
}
