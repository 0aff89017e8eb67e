// HTTP answers of the REST API as plain data: status code and JSON body. Errors are JSON
// with a status and a message; bad input is a 400 with one line per field, never a 500.

export interface ApiResponse {
  statusCode: number;
  payload: unknown;
  /** Headers beyond the JSON Content-Type (a PNG says so here). */
  headers?: Record<string, string>;
}

export type ApiErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unavailable'
  | 'internal';

export function ok(payload: unknown, statusCode = 200): ApiResponse {
  return { statusCode, payload };
}

export function apiError(
  statusCode: number,
  error: ApiErrorCode,
  message: string,
  errors?: string[],
): ApiResponse {
  return {
    statusCode,
    payload: { error, status: statusCode, message, ...(errors?.length ? { errors } : {}) },
  };
}

export function badRequest(errors: string[]): ApiResponse {
  return apiError(400, 'bad_request', errors.join('; '), errors);
}

export function notFound(message: string): ApiResponse {
  return apiError(404, 'not_found', message);
}
