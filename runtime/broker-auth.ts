// Accounts and access rules of the embedded broker, in Mosquitto's formats (a password file and
// an acl_file), so the same files serve a Mosquitto in the compose deployment.
// - Credentials are required when the broker listens beyond loopback (WPT_MQTT_BIND), or when
//   WPT_MQTT_PASSWORD_FILE names a password file.
// - Both files are read again when they change (checked at each connection): an account added
//   with `wpt-dlm mqtt-user` works without a restart.
// - Accounts of the launcher itself (the orchestrator's connection, the demo fleet) are held in
//   memory only, with a password made at each start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { envValue } from './env';
import { aclAllows, mergeAcl, parseAcl, type Access, type Acl, type AclClient } from './mosquitto-acl';
import { parsePasswordFile, verifyPassword, type PasswordHash } from './mosquitto-passwd';

/** The orchestrator's account (the shipped ACL's `user wpt-orchestrator`). */
export const ORCHESTRATOR_USER = 'wpt-orchestrator';
/** The account generated on the first secured start: the drivers' app. */
export const APP_USER = 'app';
/** The demo fleet's account (WPT_DEMO=1) and what it may do: everything hubs, vehicles and apps do. */
export const DEMO_USER = 'wpt-demo';
export const DEMO_ACL = `user ${DEMO_USER}
topic write iot/hubs/+/info
topic write iot/hubs/+/status
topic write iot/hubs/+/nodes/+/info
topic write iot/hubs/+/nodes/+/status
topic write iot/hubs/+/nodes/+/telemetry
topic write iot/vehicles/+/telemetry
topic readwrite iot/hubs/+/requests
topic read iot/hubs/+/dlm/events
`;

export interface BrokerAuth {
  authenticate(username: string | undefined, password: Buffer | string | undefined): Promise<boolean>;
  allows(client: AclClient, topic: string, access: Access): boolean;
  /** An account held in memory (not written to the password file). */
  setAccount(username: string, password: string): void;
  readonly passwordFile: string;
  readonly aclFile: string;
}

export interface BrokerAuthOptions {
  passwordFile: string;
  aclFile: string;
  /** ACL lines read after the file's (same format). */
  extraAcl?: string;
  log?: (line: string) => void;
}

/** The ACL shipped with the package: docker/mosquitto/aclfile, copied to dist/runtime at build. */
export function shippedAclFile(): string {
  const candidates = [
    path.join(__dirname, 'aclfile'),
    path.join(__dirname, '..', 'docker', 'mosquitto', 'aclfile'),
    path.join(__dirname, '..', '..', 'docker', 'mosquitto', 'aclfile'),
  ];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`the shipped ACL file is missing (looked for ${candidates.join(', ')})`);
  return found;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface BrokerSecurity {
  passwordFile: string;
  aclFile: string;
}

/** Whether the embedded broker needs credentials, and from which files; null: open (loopback). */
export function brokerSecurity(env: NodeJS.ProcessEnv, userDir: string, host: string): BrokerSecurity | null {
  const passwordFile = envValue(env, 'WPT_MQTT_PASSWORD_FILE');
  if (passwordFile === undefined && isLoopback(host)) return null;
  return {
    passwordFile: path.resolve(passwordFile ?? path.join(userDir, 'mqtt-passwd')),
    aclFile: path.resolve(envValue(env, 'WPT_MQTT_ACL_FILE') ?? shippedAclFile()),
  };
}

function stamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

const digest = (v: Buffer | string) => crypto.createHash('sha256').update(v).digest();

export function loadBrokerAuth(opts: BrokerAuthOptions): BrokerAuth {
  const log = opts.log ?? (() => {});
  const extra = opts.extraAcl ? parseAcl(opts.extraAcl, 'built-in ACL') : null;
  const memory = new Map<string, Buffer>();
  let passwords = new Map<string, PasswordHash>();
  let acl: Acl | undefined;
  let pwStamp = '';
  let aclStamp = '';

  const readPasswords = (initial: boolean) => {
    const s = stamp(opts.passwordFile);
    if (s === pwStamp) return;
    pwStamp = s;
    if (s === 'missing') {
      passwords = new Map();
      return;
    }
    const parsed = parsePasswordFile(fs.readFileSync(opts.passwordFile, 'utf8'), opts.passwordFile);
    for (const w of parsed.warnings) log(`[wpt] MQTT: ${w}`);
    passwords = parsed.users;
    if (!initial) log(`[wpt] MQTT: ${opts.passwordFile} read again (${passwords.size} accounts)`);
  };
  const readAcl = (initial: boolean) => {
    const s = stamp(opts.aclFile);
    if (s === aclStamp) return;
    aclStamp = s;
    let parsed: Acl;
    try {
      parsed = parseAcl(fs.readFileSync(opts.aclFile, 'utf8'), opts.aclFile);
    } catch (err) {
      // At start the broker does not start (as Mosquitto); later the rules in force are kept.
      if (initial) throw err;
      log(`[wpt] MQTT: ${(err as Error).message}: the previous rules stay in force`);
      return;
    }
    for (const w of parsed.warnings) log(`[wpt] MQTT: warning: ${w}`);
    acl = extra ? mergeAcl(parsed, extra) : parsed;
    if (!initial) log(`[wpt] MQTT: ${opts.aclFile} read again`);
  };
  const refresh = () => {
    try {
      readPasswords(false);
    } catch (err) {
      log(`[wpt] MQTT: cannot read ${opts.passwordFile}: ${(err as Error).message}`);
    }
    readAcl(false);
  };
  readPasswords(true);
  readAcl(true);

  return {
    passwordFile: opts.passwordFile,
    aclFile: opts.aclFile,
    async authenticate(username, password) {
      refresh();
      if (username === undefined || password === undefined || password.length === 0) return false;
      const mem = memory.get(username);
      if (mem && crypto.timingSafeEqual(mem, digest(password))) return true;
      const h = passwords.get(username);
      return h !== undefined && (await verifyPassword(h, password));
    },
    allows(client, topic, access) {
      return acl !== undefined && aclAllows(acl, client, topic, access);
    },
    setAccount(username, password) {
      memory.set(username, digest(password));
    },
  };
}
