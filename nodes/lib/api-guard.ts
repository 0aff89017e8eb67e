// The first thing every API node does with an HTTP request (msg.req): check the token of its
// wpt-api configuration. Messages that are not HTTP requests (an inject, a dashboard timer) carry
// no msg.req and pass. Also the one way API nodes put an answer on a message for `http response`.
import type { NodeAPI, NodeMessage, Props } from './node-red';
import { configNode } from './node-red';
import type { ApiConfigNode } from './config-nodes';
import { apiError, type ApiResponse } from './api';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Puts an API answer on the message: JSON body, status code, Content-Type (and extra headers). */
export function respond(msg: NodeMessage, r: ApiResponse, headers: Record<string, string> = {}): NodeMessage {
  msg.payload = r.payload;
  msg.statusCode = r.statusCode;
  msg.headers = { ...(msg.headers as object | undefined), 'Content-Type': JSON_TYPE, ...headers };
  return msg;
}

export interface ApiGuard {
  /** null when the message may be served; else the refusal to answer with. */
  check(msg: NodeMessage): { response: ApiResponse; headers: Record<string, string> } | null;
}

/**
 * The guard of one API node: `def.api` names its wpt-api; `isPublic` only for GET /api/health.
 * Without a wpt-api every HTTP request is refused: the API is never open by omission.
 */
export function apiGuard(
  RED: NodeAPI,
  def: Props,
  opts: { isPublic?: boolean; jsonBody?: boolean } = {},
): ApiGuard {
  const api = configNode<ApiConfigNode>(RED, def.api);
  return {
    check(msg) {
      const req = msg.req as
        { headers?: import('node:http').IncomingHttpHeaders; method?: string } | undefined;
      if (!req || opts.isPublic) return null;
      if (!api) {
        return {
          response: apiError(
            503,
            'unavailable',
            'this API node has no wpt-api configuration: the API stays closed (set its API property)',
          ),
          headers: {},
        };
      }
      const a = api.authorize(req.headers);
      if (a.ok) {
        // A body that is not JSON is the caller's mistake: say so, rather than that its
        // (form-decoded, all-string) fields have the wrong types.
        const type = String(req.headers?.['content-type'] ?? '');
        const hasBody = req.method !== 'GET' && req.method !== 'DELETE';
        if (opts.jsonBody && hasBody && type && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
          return {
            response: apiError(
              415,
              'unsupported_media_type',
              `Content-Type: the body must be JSON (application/json), not ${type.split(';')[0]}`,
            ),
            headers: {},
          };
        }
        return null;
      }
      const headers: Record<string, string> = {};
      if (a.statusCode === 401) headers['WWW-Authenticate'] = 'Bearer realm="wpt-dlm"';
      return { response: apiError(a.statusCode, a.error, a.message), headers };
    },
  };
}
