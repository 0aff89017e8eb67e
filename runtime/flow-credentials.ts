// Node-RED does not map ${ENV} references inside credentials, so the launcher provisions the
// MQTT credentials from the environment into the encrypted credentials file of the user dir
// (flows_cred.json, the same AES-256-CTR format Node-RED itself writes) for every mqtt-broker
// node that takes its URL from ${MQTT_URL}. The flow file itself never holds them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

type Creds = Record<string, Record<string, string>>;

function key(secret: string): Buffer {
  return crypto.createHash('sha256').update(secret).digest();
}

export function decryptCredentials(secret: string, file: { $?: string }): Creds {
  if (!file.$) return file as unknown as Creds;
  const iv = Buffer.from(file.$.substring(0, 32), 'hex');
  const d = crypto.createDecipheriv('aes-256-ctr', key(secret), iv);
  return JSON.parse(d.update(file.$.substring(32), 'base64', 'utf8') + d.final('utf8')) as Creds;
}

export function encryptCredentials(secret: string, creds: Creds): { $: string } {
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-256-ctr', key(secret), iv);
  return { $: iv.toString('hex') + c.update(JSON.stringify(creds), 'utf8', 'base64') + c.final('base64') };
}

/**
 * Splits `mqtt://user:pass@host:1883` into a URL without user info and the credentials, so
 * the password never appears where Node-RED logs the broker URL.
 */
export function splitMqttUrl(url: string): { url: string; username?: string; password?: string } {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return { url };
    const username = decodeURIComponent(u.username);
    const password = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    return { url: u.toString().replace(/\/$/, ''), username, ...(password ? { password } : {}) };
  } catch {
    return { url };
  }
}

/** Returns the number of mqtt-broker nodes whose credentials were set. */
export function provisionMqttCredentials(
  userDir: string,
  flowFile: string,
  secret: string,
  username: string,
  password: string,
): number {
  const flows = JSON.parse(fs.readFileSync(flowFile, 'utf8')) as Array<{
    id: string;
    type: string;
    broker?: string;
  }>;
  const brokers = flows.filter((n) => n.type === 'mqtt-broker' && n.broker === '${MQTT_URL}');
  if (!brokers.length) return 0;
  const credFile = path.join(userDir, path.basename(flowFile, '.json') + '_cred.json');
  let creds: Creds = {};
  if (fs.existsSync(credFile)) {
    try {
      creds = decryptCredentials(secret, JSON.parse(fs.readFileSync(credFile, 'utf8')) as { $?: string });
    } catch {
      throw new Error(
        `${credFile} cannot be decrypted with the credential secret (WPT_CREDENTIAL_SECRET changed?)`,
      );
    }
  }
  for (const b of brokers) creds[b.id] = { ...(creds[b.id] ?? {}), user: username, password };
  fs.writeFileSync(credFile, JSON.stringify(encryptCredentials(secret, creds), null, 2) + '\n', {
    mode: 0o600,
  });
  return brokers.length;
}
