// The launcher's MQTT side: MQTT_URL when set (its credentials from MQTT_USERNAME/MQTT_PASSWORD or
// the URL's user info), else the embedded broker, with accounts and ACL when it needs them
// (runtime/broker-auth.ts). On the first secured start the `app` account is generated; it is
// written to the password file and printed only once the start succeeded.
import fs from 'node:fs';
import path from 'node:path';
import { envValue } from './env';
import { randomSecret } from './secrets';
import { splitMqttUrl } from './flow-credentials';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker';
import { hashPassword, withUser } from './mosquitto-passwd';
import {
  APP_USER,
  DEMO_ACL,
  DEMO_USER,
  ORCHESTRATOR_USER,
  brokerSecurity,
  loadBrokerAuth,
} from './broker-auth';

export interface Credentials {
  username: string;
  password: string;
}

export interface MqttSetup {
  /** Broker URL without user info. */
  url: string;
  /** What the flows' broker node logs in with (none: an open broker). */
  orchestrator: Credentials | undefined;
  /** What the demo fleet logs in with. */
  demo: Credentials | undefined;
  broker: EmbeddedBroker | undefined;
  /** After a good start: keeps what this start generated; returns the lines to print. */
  commit(): string[];
}

export async function setupMqtt(
  env: NodeJS.ProcessEnv,
  userDir: string,
  log: (line: string) => void,
): Promise<MqttSetup> {
  const demo = envValue(env, 'WPT_DEMO') === '1';
  const external = envValue(env, 'MQTT_URL');
  if (external) {
    const parts = splitMqttUrl(external);
    const username = envValue(env, 'MQTT_USERNAME') ?? parts.username;
    const password = envValue(env, 'MQTT_PASSWORD') ?? parts.password ?? '';
    const creds = username ? { username, password } : undefined;
    return { url: parts.url, orchestrator: creds, demo: creds, broker: undefined, commit: () => [] };
  }

  const port = Number(envValue(env, 'WPT_MQTT_PORT') ?? 1883);
  const host = envValue(env, 'WPT_MQTT_BIND') ?? '127.0.0.1';
  const security = brokerSecurity(env, userDir, host);
  if (!security) {
    const broker = await startEmbeddedBroker({ port, host, log });
    log(`[wpt] embedded MQTT broker listening on ${host}:${broker.port} (loopback only, no login)`);
    return { url: broker.url, orchestrator: undefined, demo: undefined, broker, commit: () => [] };
  }

  const auth = loadBrokerAuth({ ...security, extraAcl: demo ? DEMO_ACL : undefined, log });
  const orchestrator = { username: ORCHESTRATOR_USER, password: randomSecret(24) };
  auth.setAccount(orchestrator.username, orchestrator.password);
  const demoCreds = demo ? { username: DEMO_USER, password: randomSecret(24) } : undefined;
  if (demoCreds) auth.setAccount(demoCreds.username, demoCreds.password);
  // First secured start: an account for the drivers' app, kept only if this start succeeds.
  const app = fs.existsSync(security.passwordFile)
    ? undefined
    : { username: APP_USER, password: randomSecret(18) };
  if (app) auth.setAccount(app.username, app.password);

  const broker = await startEmbeddedBroker({ port, host, auth, log });
  log(
    `[wpt] embedded MQTT broker listening on ${host}:${broker.port} ` +
      `(login required: accounts ${security.passwordFile}, ACL ${security.aclFile})`,
  );
  let committed = false;
  return {
    url: broker.url,
    orchestrator,
    demo: demoCreds,
    broker,
    commit() {
      if (committed || !app || fs.existsSync(security.passwordFile)) return [];
      committed = true;
      fs.mkdirSync(path.dirname(security.passwordFile), { recursive: true });
      fs.writeFileSync(security.passwordFile, withUser('', app.username, hashPassword(app.password)), {
        mode: 0o600,
      });
      return [
        `MQTT account for the drivers' app (shown once): ${app.username} / ${app.password}`,
        `Hubs and vehicles need their own: npm run mqtt-user -- hubs/<hub_id> (see README)`,
      ];
    },
  };
}
