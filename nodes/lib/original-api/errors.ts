// Answers of the original API as plain data, and its errors as FastAPI sent them:
// `{"detail": …}` for not-found and the like, 422 `{"error":"Validation Error","detail":…,
// "code":"VALIDATION_ERROR"}` with the error list as one string, and the catch-all 500
// `{"error":"Internal Server Error","detail":…,"code":"INTERNAL_ERROR"}` (sent without CORS
// headers, as the original's was).

/** An answer: status, body (JSON value, or a Buffer sent as is), extra headers. */
export interface Resp {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** False for the catch-all 500, which the original sent without CORS headers. */
  cors?: boolean;
}

/** One validation problem, as Pydantic reports it. */
export interface PyError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
}

export const ok = (body: unknown, status = 200): Resp => ({ status, body });
export const noContent = (): Resp => ({ status: 204, body: undefined });
export const detail = (status: number, text: string, headers?: Record<string, string>): Resp => ({
  status,
  body: { detail: text },
  ...(headers ? { headers } : {}),
});

/** Python's repr of a JSON value (for the validation detail). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  return pyRepr(String(v));
}

/** The error list as one string, like Python prints the list of Pydantic errors. */
export function errorsText(errors: readonly PyError[]): string {
  const one = (e: PyError) =>
    `{'type': ${pyRepr(e.type)}, 'loc': (${e.loc.map(pyRepr).join(', ')}${e.loc.length === 1 ? ',' : ''}), ` +
    `'msg': ${pyRepr(e.msg)}, 'input': ${pyRepr(e.input)}}`;
  return `[${errors.map(one).join(', ')}]`;
}

export function validationError(errors: readonly PyError[]): Resp {
  return {
    status: 422,
    body: { error: 'Validation Error', detail: errorsText(errors), code: 'VALIDATION_ERROR' },
  };
}

/** The catch-all answer to an unexpected failure (the original's exception handler). */
export function internalError(text: string): Resp {
  return {
    status: 500,
    body: { error: 'Internal Server Error', detail: text, code: 'INTERNAL_ERROR' },
    cors: false,
  };
}

/** An error the handlers throw for the catch-all 500 (an unknown node for a charge …). */
export class InternalError extends Error {}

export const notFoundRoute = (): Resp => detail(404, 'Not Found');
export const methodNotAllowed = (allow: readonly string[]): Resp =>
  detail(405, 'Method Not Allowed', { Allow: allow.join(', ') });

/** `HubDbo with hub_id=X not found`: what the original's reads and updates said. */
export function dboNotFound(
  entity: 'Hub' | 'Node' | 'Vehicle' | 'ChargingSession' | 'DLMEvent',
  id: unknown,
): Resp {
  const key = {
    Hub: 'hub_id',
    Node: 'node_id',
    Vehicle: 'vehicle_id',
    ChargingSession: 'charging_session_id',
    DLMEvent: 'dlm_event_id',
  }[entity];
  return detail(404, `${entity}Dbo with ${key}=${String(id)} not found`);
}

/** The 409 of a node id that several hubs have: the original's node_id was global. */
export function ambiguousNode(nodeId: string, hubs: readonly string[]): Resp {
  return detail(
    409,
    `node_id ${nodeId} exists in several hubs (${hubs.join(', ')}): this server identifies a node by hub and node; ` +
      'the original API cannot say which one is meant',
  );
}
