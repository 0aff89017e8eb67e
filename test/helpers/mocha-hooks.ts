// Loaded by mocha before every spec file (see .mocharc.json).
// Shared services (broker, database) are started lazily by test/helpers/services.ts
// and stopped once after all tests.
// Property tests (fast-check) are reproducible: a failure prints its seed and path, and
// FC_SEED=<seed> runs every property with that seed.
import fc from 'fast-check';
import { stopServices } from './services';
import { removeUserDirs, stopAllRuntimes } from './runtime';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be an integer, got "${seed}"`);
  fc.configureGlobal({ seed: Number(seed) });
  console.log(`  (fast-check: FC_SEED=${seed})`);
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    // Stopping every runtime and dropping every test database takes a while on a busy machine.
    this.timeout(120000);
    await stopAllRuntimes();
    await stopServices();
    removeUserDirs();
  },
};
