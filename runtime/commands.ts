// The launcher's maintenance commands (wpt-dlm reset-login, wpt-dlm mqtt-user). Each returns the
// lines to print; they read the same environment as the launcher (WPT_USER_DIR, …).
import fs from 'node:fs';
import path from 'node:path';
import { envValue } from './env';
import { packageRoot, userDirOf } from './paths';
import { LOGIN_FILE, randomSecret, resetLogin } from './secrets';
import { hashPassword, usernameProblem, withUser } from './mosquitto-passwd';

/** `wpt-dlm reset-login`: new editor password and API token; the database is not touched. */
export function resetLoginCommand(env: NodeJS.ProcessEnv): string[] {
  const userDir = userDirOf(env, packageRoot());
  const { adminPassword, apiToken } = resetLogin(userDir);
  const lines = [
    `New login kept in ${path.join(userDir, LOGIN_FILE)} (only hashes; the database and stored credentials are unchanged):`,
    `  Editor login: ${envValue(env, 'WPT_ADMIN_USER') ?? 'admin'} / ${adminPassword}`,
    `  API token:    ${apiToken}`,
    'A running WPT-DLM uses them after its next start.',
  ];
  for (const v of ['WPT_ADMIN_PASSWORD', 'WPT_ADMIN_PASSWORD_HASH', 'WPT_API_TOKEN']) {
    if (envValue(env, v)) lines.push(`Note: ${v} is set in this environment and wins over the stored login.`);
  }
  return lines;
}

/** Hub and vehicle accounts are `hubs/<hub_id>` and `vehicles/<vehicle_id>` (the ACL's patterns). */
export function accountNameProblem(name: string): string | null {
  const p = usernameProblem(name);
  if (p) return p;
  const m = /^(hubs|vehicles)\/(.*)$/.exec(name);
  if (m) {
    if (m[2] === '' || m[2]!.includes('/')) return `${m[1]}/<id>: the id must not be empty nor contain "/"`;
    return null;
  }
  if (name.includes('/')) return 'only hubs/<hub_id> and vehicles/<vehicle_id> contain "/"';
  return null;
}

export function mqttPasswordFile(env: NodeJS.ProcessEnv): string {
  const file = envValue(env, 'WPT_MQTT_PASSWORD_FILE');
  return path.resolve(file ?? path.join(userDirOf(env, packageRoot()), 'mqtt-passwd'));
}

/**
 * `wpt-dlm mqtt-user <name> [--delete]`: adds (or replaces) an account of the broker's password
 * file with a generated password, or the one given, or deletes it.
 */
export function mqttUserCommand(
  env: NodeJS.ProcessEnv,
  name: string | undefined,
  opts: { delete?: boolean; password?: string } = {},
): string[] {
  if (!name) throw new Error('usage: wpt-dlm mqtt-user <name> [--delete] [--password-stdin]');
  const problem = accountNameProblem(name);
  if (problem) throw new Error(`account "${name}": ${problem}`);
  const file = mqttPasswordFile(env);
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const write = (content: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
  };
  if (opts.delete) {
    const next = withUser(text, name, null);
    if (next === text) return [`${name}: no such account in ${file}`];
    write(next);
    return [`${name} deleted from ${file}`];
  }
  const password = opts.password ?? randomSecret(18);
  if (password.length < 8) throw new Error('the password must be at least 8 characters');
  write(withUser(text, name, hashPassword(password)));
  return [
    `${name} added to ${file}; the embedded broker takes it at the next connection.`,
    ...(opts.password === undefined ? [`  MQTT login: ${name} / ${password}   (shown once)`] : []),
  ];
}
