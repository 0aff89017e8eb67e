// Loaded by mocha before every spec file (see .mocharc.json).
// Shared services (broker, database) are started lazily by test/helpers/services.ts
// and stopped once after all tests.
import { stopServices } from './services';
import { stopAllRuntimes } from './runtime';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopAllRuntimes();
    await stopServices();
  },
};
