// The operators' dashboard (Dashboard 2.0) is protected by the editor's login: its HTTP routes
// and its socket.io connection (settings.dashboard.middleware / ioMiddleware).
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import bcrypt from 'bcryptjs';

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
