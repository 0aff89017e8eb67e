// The API token, checked by the package's own nodes before anything else: the REST API is closed
// wherever the package runs, also in a Node-RED whose settings know nothing of it. Only a hash of
// the token is needed (sha256, hex); a presented token is hashed and compared in constant time.
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export function sha256Hex(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Shortest token accepted (characters). */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The hash of a configured token: `sha256:<64 hex>` (or the bare 64 hex) is taken as a hash,
 * anything else as the token itself (at least MIN_TOKEN_LENGTH characters). Null when unusable.
 */
export function tokenHashOf(configured: string | undefined | null): string | null {
  const v = (configured ?? '').trim();
  if (!v) return null;
  const m = /^(?:sha256:)?([0-9a-f]{64})$/i.exec(v);
  if (m) return m[1]!.toLowerCase();
  return v.length >= MIN_TOKEN_LENGTH ? sha256Hex(v) : null;
}

/** The token a request presents: `Authorization: Bearer <token>` or `X-API-Key: <token>`. */
export function presentedToken(headers: IncomingHttpHeaders | undefined): string | undefined {
  if (!headers) return undefined;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key ? key : undefined;
}

/** Constant-time check of a presented token against a sha256 hex hash. */
export function tokenMatches(presented: string | undefined, expectedHash: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(sha256Hex(presented), 'hex');
  const b = Buffer.from(expectedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export type AuthOutcome =
  { ok: true } | { ok: false; statusCode: 401 | 503; error: 'unauthorized' | 'unavailable'; message: string };

/** Decides a request: no token configured → closed (503, saying how to set one); else 401 unless it matches. */
export function authorize(headers: IncomingHttpHeaders | undefined, tokenHash: string | null): AuthOutcome {
  if (!tokenHash) {
    return {
      ok: false,
      statusCode: 503,
      error: 'unavailable',
      message:
        'the API has no token configured and stays closed: set the token of the wpt-api configuration node (or WPT_API_TOKEN)',
    };
  }
  const presented = presentedToken(headers);
  if (presented === undefined) {
    return {
      ok: false,
      statusCode: 401,
      error: 'unauthorized',
      message: 'API token required: send "Authorization: Bearer <token>" or "X-API-Key: <token>"',
    };
  }
  if (!tokenMatches(presented, tokenHash)) {
    return { ok: false, statusCode: 401, error: 'unauthorized', message: 'API token not accepted' };
  }
  return { ok: true };
}

/** The path a request asks for, as a server compares it: decoded, without a trailing slash. */
export function requestPath(url: string | undefined): string {
  const raw = (url ?? '/').split(/[?#]/, 1)[0] || '/';
  let p: string;
  try {
    p = decodeURIComponent(raw);
  } catch {
    p = raw;
  }
  return p.replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
}
