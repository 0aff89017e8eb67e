// wpt-command: turns a REST request (from `http in`) into an operator command for wpt-twin,
// the one node that changes the twin. The request is checked field by field here: a bad one is
// answered at once with a 400 on output 2 (for `http response`); a good one leaves on output 1
// with msg.command and msg.actor, for a `link call` to wpt-twin, whose answer (msg.payload,
// msg.statusCode) goes to `http response`.
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import { nodeStatus, compact } from '../lib/status';
import { apiGuard, respond } from '../lib/api-guard';
import {
  COMMAND_OPS,
  apiActorOf,
  badRequest,
  isOperatorCommand,
  parseCommand,
  type CommandOp,
} from '../lib/api';
import { dashboardActor, dashboardCommand, dashboardNotice } from '../lib/dashboard-controls';

/** The operation of a wpt-command that takes the dashboard's widgets (op in msg.topic). */
const DASHBOARD_OP = 'dashboard';

/**
 * op "dashboard": a widget message (msg.topic = the command op, msg.payload = its fields) leaves
 * on output 1 as msg.command, with msg.actor = the dashboard user, for the link call to
 * wpt-twin; the twin's answer, wired back in here, and every refusal leave on output 2 as a
 * notice (msg.payload text, msg.level) for a ui-notification. HTTP requests are not taken.
 */
function dashboardNode(RED: NodeAPI, node: Node): void {
  let sent = 0;
  let refused = 0;
  const status = nodeStatus(node, () => ({
    fill: 'green',
    shape: 'dot',
    text: RED._('wpt-command.status.counts', {
      op: DASHBOARD_OP,
      sent: compact(sent),
      refused: compact(refused),
    }),
  }));
  const notice = (msg: NodeMessageInFlow, statusCode: number, payload: unknown) => {
    const n = dashboardNotice(msg.command, statusCode, payload);
    const out = msg as NodeMessageInFlow & { level?: string };
    out.payload = n.text;
    out.level = n.level;
    delete out.statusCode;
    delete out.headers;
    return out;
  };
  node.on('input', (msg: NodeMessageInFlow, send, done) => {
    if (msg.req) {
      refused++;
      status.refresh();
      return done(new Error(RED._('wpt-command.errors.http')));
    }
    if (typeof msg.statusCode === 'number' && isOperatorCommand(msg.command)) {
      // The twin's answer, back from the link call.
      if (msg.statusCode >= 300) refused++;
      send([null, notice(msg, msg.statusCode, msg.payload)]);
      status.refresh();
      return done();
    }
    const r = dashboardCommand(msg.topic, msg.payload);
    if (r.ok) {
      sent++;
      msg.command = r.command;
      msg.actor = dashboardActor(msg._client);
      send([msg, null]);
    } else {
      refused++;
      delete msg.command;
      send([null, notice(msg, 400, { message: r.errors.join('; ') })]);
    }
    status.refresh();
    done();
  });
  node.on('close', () => status.stop());
}

export = function register(RED: NodeAPI): void {
  function WptCommandNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    if (def.op === DASHBOARD_OP) return dashboardNode(RED, node);
    const op = (COMMAND_OPS as readonly string[]).includes(String(def.op)) ? (def.op as CommandOp) : null;
    if (!op) {
      const message = RED._('wpt-command.errors.op', { op: String(def.op), ops: COMMAND_OPS.join(', ') });
      node.status({ fill: 'red', shape: 'ring', text: RED._('wpt-command.status.op') });
      node.on('input', (_m, _s, done) => done(new Error(message)));
      return;
    }
    const guard = apiGuard(RED, def, { jsonBody: true });
    let sent = 0;
    let refused = 0;
    const status = nodeStatus(node, () => ({
      fill: 'green',
      shape: 'dot',
      text: RED._('wpt-command.status.counts', { op, sent: compact(sent), refused: compact(refused) }),
    }));
    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const denied = guard.check(msg);
      if (denied) {
        refused++;
        send([null, respond(msg, denied.response, denied.headers)]);
        status.refresh();
        return done();
      }
      const req = (msg.req ?? {}) as {
        params?: Record<string, unknown>;
        query?: Record<string, unknown>;
        headers?: Record<string, unknown>;
      };
      // An HTTP request: the caller, by its X-WPT-Actor header. Another message (a dashboard
      // widget, an inject) keeps the msg.actor it brings.
      const who = msg.req
        ? apiActorOf(req.headers)
        : { ok: true as const, actor: typeof msg.actor === 'string' && msg.actor ? msg.actor : 'api' };
      const r = parseCommand(op, { params: req.params ?? {}, query: req.query ?? {}, body: msg.payload });
      if (r.ok && who.ok) {
        sent++;
        msg.command = r.command;
        msg.actor = who.actor;
        send([msg, null]);
      } else {
        refused++;
        const answer = badRequest([...(who.ok ? [] : [who.error]), ...(r.ok ? [] : r.errors)]);
        msg.payload = answer.payload;
        msg.statusCode = answer.statusCode;
        msg.headers = {
          ...(msg.headers as object | undefined),
          'Content-Type': 'application/json; charset=utf-8',
        };
        send([null, msg]);
      }
      status.refresh();
      done();
    });
    node.on('close', () => status.stop());
  }
  RED.nodes.registerType('wpt-command', WptCommandNode);
};
