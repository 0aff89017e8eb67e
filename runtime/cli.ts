#!/usr/bin/env node
// `npm start` / `wpt-dlm`: runs the orchestrator until SIGINT/SIGTERM.
import { startApp, type RunningApp } from './app';
import { PortInUseError } from './embedded-broker';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(
      'usage: wpt-dlm [--demo]\n\nStarts the WPT-DLM orchestrator (see README.md for the environment variables).\n  --demo   also run a simulated fleet (same as WPT_DEMO=1)',
    );
    return;
  }
  if (process.argv.includes('--demo')) process.env.WPT_DEMO = '1';
  let app: RunningApp | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.error(`[wpt] ${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    console.log(`[wpt] ${signal}: stopping flows, broker and database…`);
    const force = setTimeout(() => {
      console.error('[wpt] shutdown took longer than 20 s: exiting');
      process.exit(1);
    }, 20000);
    force.unref();
    (app ? app.stop() : Promise.resolve())
      .then(() => {
        console.log('[wpt] stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error(`[wpt] error while stopping: ${(err as Error).message}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    app = await startApp();
    if (stopping) await app.stop();
  } catch (err) {
    if (err instanceof PortInUseError) console.error(`[wpt] ${err.message}`);
    else console.error(`[wpt] cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

void main();
