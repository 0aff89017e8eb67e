export * from './http';
export * from './params';
export * from './views';
export * from './charge';
export * from './feed';
export { OPENAPI_DOCUMENT, toExpressPath } from './openapi';
