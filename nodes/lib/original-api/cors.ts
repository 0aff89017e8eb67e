// CORS as the original's Starlette middleware did it (allow_origins=["*"], allow_methods=["*"],
// allow_headers=["*"], allow_credentials=True): a preflight (OPTIONS with Origin and
// Access-Control-Request-Method), on any path, is answered 200 `OK` echoing the Origin; every
// other answer carries `Access-Control-Allow-Origin: *` and `Access-Control-Allow-Credentials:
// true` (the Origin echoed, with `Vary: Origin`, when the request carries a Cookie).
import type { IncomingHttpHeaders } from 'node:http';
import type { Resp } from './errors';

export const CORS_METHODS = 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT';
export const CORS_MAX_AGE = '600';

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return (
    method === 'OPTIONS' &&
    !!one(headers.origin) &&
    one(headers['access-control-request-method']) !== undefined
  );
}

export function preflight(headers: IncomingHttpHeaders): Resp {
  const h: Record<string, string> = {
    'Access-Control-Allow-Origin': one(headers.origin) ?? '*',
    Vary: 'Origin',
    'Access-Control-Allow-Methods': CORS_METHODS,
    'Access-Control-Max-Age': CORS_MAX_AGE,
    'Access-Control-Allow-Credentials': 'true',
    'Content-Type': 'text/plain; charset=utf-8',
  };
  const requested = one(headers['access-control-request-headers']);
  if (requested !== undefined) h['Access-Control-Allow-Headers'] = requested;
  return { status: 200, body: Buffer.from('OK'), headers: h };
}

/** The CORS headers of an ordinary answer. */
export function corsHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const origin = one(headers.origin);
  if (origin && headers.cookie)
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      Vary: 'Origin',
    };
  return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Credentials': 'true' };
}
