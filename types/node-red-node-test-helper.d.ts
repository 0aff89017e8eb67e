// The test helper ships no types; test/helpers/node-red.ts gives it the ones we use.
declare module 'node-red-node-test-helper' {
  const helper: { init(runtimePath: string, settings?: Record<string, unknown>): void };
  export default helper;
}
