// The original system's API (ORIGINAL-API.md), as pure modules: shapes, input checks, errors,
// CORS, access, the recommendation scoring, the routes; wpt-original-api serves them.
export * from './json';
export * from './errors';
export * from './input';
export * from './shapes';
export * from './cors';
export * from './access';
export * from './recommend';
export * from './deps';
export { ROUTES, dispatch, findRoute, type Route, type RouteMatch } from './router';
export { openApiDocument } from './openapi';
export { ORIGINAL_SERVICE, ORIGINAL_VERSION, UNKNOWN_SOC } from './routes-misc';
