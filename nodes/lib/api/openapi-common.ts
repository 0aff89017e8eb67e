// Building blocks of the OpenAPI document (openapi.ts): responses, parameters, pages and the
// shape shared by every operator command route.

const err = { $ref: '#/components/schemas/Error' };
export const jsonOf = (schema: unknown) => ({ 'application/json': { schema } });
export const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          {
            400: 'Bad input: one line per field',
            401: 'API token missing or wrong',
            404: 'Unknown id',
            409: 'Conflict',
            503: 'Unavailable',
          }[c] ?? 'Error',
        content: jsonOf(err),
      },
    ]),
  );
export const idParam = (name: string, where: 'path' | 'query' = 'path', description?: string) => ({
  name,
  in: where,
  required: where === 'path',
  ...(description ? { description } : {}),
  schema: { type: 'string', minLength: 1, maxLength: 50 },
});
export const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
export const time = (name: string, description: string) => ({
  name,
  in: 'query',
  description: `${description} (ISO-8601 or epoch milliseconds)`,
  schema: { type: 'string' },
});
export const page = (item: string) => ({
  type: 'object',
  required: ['items', 'total', 'limit', 'offset'],
  properties: {
    items: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
});

export const NOTE = { type: 'string', maxLength: 500, description: 'free text for the audit log' };
const NOTE_BODY = { type: 'object', properties: { note: NOTE } };

/**
 * An operator command route: the entity after it (200; 201 when created), or 204 after a
 * delete; 400 per field, 404 unknown id, 409 when the state forbids. The caller may name
 * itself for the audit log in the X-WPT-Actor header.
 */
export function command(
  operationId: string,
  summary: string,
  result: string | null,
  parameters: unknown[],
  body: unknown = NOTE_BODY,
  creates = false,
) {
  return {
    operationId,
    summary,
    parameters: [
      ...parameters,
      {
        name: 'X-WPT-Actor',
        in: 'header',
        required: false,
        description: 'who you are, for the audit log (recorded as api:<name>; default api)',
        schema: { type: 'string', minLength: 1, maxLength: 80 },
      },
    ],
    requestBody: { required: false, content: jsonOf(body) },
    responses: {
      ...(result === null
        ? { 204: { description: 'Done' } }
        : {
            200: {
              description: 'Done: the entity now',
              content: jsonOf({ $ref: `#/components/schemas/${result}` }),
            },
            ...(creates
              ? {
                  201: {
                    description: 'Created',
                    content: jsonOf({ $ref: `#/components/schemas/${result}` }),
                  },
                }
              : {}),
          }),
      ...errors(400, 401, 404, 409),
    },
  };
}
