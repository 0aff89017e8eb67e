#!/usr/bin/env node
// `npm start` / `wpt-dlm`: runs the orchestrator until SIGINT/SIGTERM/SIGHUP, or until the npm
// process that started it is gone. Stopping takes at most 4.5 s; the embedded PostgreSQL stops
// with it even when this process is killed (its watchdog, see embedded-postgres.ts).
import './node-check'; // first: one line and exit on a Node.js that is too old
import fs from 'node:fs';
import { startApp, type RunningApp } from './app';
import { PortInUseError } from './embedded-broker';
import { mqttUserCommand, resetLoginCommand } from './commands';

const USAGE = `usage: wpt-dlm [--demo]            start the orchestrator (README: environment variables)
       wpt-dlm reset-login        new editor password and API token (the database is kept)
       wpt-dlm mqtt-user <name> [--delete] [--password-stdin]
                                  add, replace or delete a broker account (hubs/<hub_id>,
                                  vehicles/<vehicle_id>, app) in WPT_MQTT_PASSWORD_FILE
  --demo   also run a simulated fleet (same as WPT_DEMO=1)`;

/** Longest a stop may take before the process exits anyway. */
const STOP_LIMIT_MS = 4500;

function run(command: () => string[]): void {
  try {
    for (const l of command()) console.log(l);
  } catch (err) {
    console.error(`[wpt] ${(err as Error).message}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) return console.log(USAGE);
  if (args[0] === 'reset-login') return run(() => resetLoginCommand(process.env));
  if (args[0] === 'mqtt-user') {
    const password = args.includes('--password-stdin')
      ? fs.readFileSync(0, 'utf8').split('\n')[0]!.replace(/\r$/, '')
      : undefined;
    const name = args.slice(1).find((a) => !a.startsWith('--'));
    return run(() => mqttUserCommand(process.env, name, { delete: args.includes('--delete'), password }));
  }
  const unknown = args.filter((a) => a !== '--demo');
  if (unknown.length) {
    console.error(`[wpt] unknown argument ${unknown[0]}\n${USAGE}`);
    process.exit(2);
  }
  if (args.includes('--demo')) process.env.WPT_DEMO = '1';

  let app: RunningApp | undefined;
  let stoppingSince = 0;
  const shutdown = (why: string, signal: boolean) => {
    if (stoppingSince) {
      // A terminal may deliver one Ctrl-C twice (to us and through npm): only a later one counts.
      if (signal && Date.now() - stoppingSince > 1000) {
        console.error(`[wpt] ${why} again: exiting now`);
        process.exit(130);
      }
      return;
    }
    stoppingSince = Date.now();
    console.log(`[wpt] ${why}: stopping flows, broker and database…`);
    const force = setTimeout(() => {
      console.error(`[wpt] stopping took longer than ${STOP_LIMIT_MS / 1000} s: exiting`);
      process.exit(1);
    }, STOP_LIMIT_MS);
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
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => shutdown(s, true));
  // Started by npm: npm may exit on a signal without waiting for us (SIGTERM to `npm start`).
  // When the process that started us is gone, stop as if it had passed the signal on.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) shutdown('npm exited', false);
    }, 200).unref();
  }
  try {
    app = await startApp();
    if (stoppingSince) await app.stop();
  } catch (err) {
    if (err instanceof PortInUseError) console.error(`[wpt] ${err.message}`);
    else console.error(`[wpt] cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

void main();
