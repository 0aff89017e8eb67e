// Mosquitto's password file (`password_file`, written by `mosquitto_passwd`), read and checked
// in Node so that one file serves the embedded broker and a Mosquitto:
//   username:$7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512 (Mosquitto 2)
//   username:$6$<base64 salt>$<base64 hash>                SHA-512 of password + salt (1.x)
// Lines starting with `#` and lines without `:` are skipped; a line whose hash cannot be read is
// left out with a warning, as Mosquitto does.
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2 = promisify(crypto.pbkdf2);

export interface PasswordHash {
  kind: 6 | 7;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export interface PasswordFile {
  users: Map<string, PasswordHash>;
  warnings: string[];
}

const HASH_LEN = 64;
/** Iterations of the hashes we write (mosquitto_passwd 2.0 writes 101; any count is read). */
export const PBKDF2_ITERATIONS = 1000;

const trim = (s: string) => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

function b64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** Reads one `$6$…`/`$7$…` hash; null when Mosquitto would reject it. */
export function parseHash(text: string): PasswordHash | null {
  const parts = text.split('$').filter((p) => p !== '');
  const kind = parts[0] === '6' ? 6 : parts[0] === '7' ? 7 : null;
  if (kind === null) return null;
  let i = 1;
  let iterations = 1;
  if (kind === 7) {
    iterations = Number.parseInt(parts[i++] ?? '', 10);
    if (!(iterations >= 1)) return null;
  }
  const salt = b64(parts[i++] ?? '');
  const hash = b64(parts[i] ?? '');
  if (!salt || (salt.length !== 12 && salt.length !== HASH_LEN) || !hash || hash.length !== HASH_LEN)
    return null;
  return { kind, iterations, salt, hash };
}

export function parsePasswordFile(text: string, source = 'password_file'): PasswordFile {
  const users = new Map<string, PasswordHash>();
  const warnings: string[] = [];
  text.split('\n').forEach((line, n) => {
    if (line.startsWith('#') || !line.includes(':')) return;
    const fields = line.split(':').filter((f) => f !== '');
    const username = trim(fields[0] ?? '');
    const hash = parseHash(trim(fields[1] ?? ''));
    if (username === '' || !hash) {
      warnings.push(`${source}:${n + 1}: no valid password hash for "${username}", line ignored`);
      return;
    }
    users.set(username, hash);
  });
  return { users, warnings };
}

/** Checks a password against a hash (constant time). */
export async function verifyPassword(h: PasswordHash, password: string | Buffer): Promise<boolean> {
  const pw = Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8');
  const digest =
    h.kind === 7
      ? await pbkdf2(pw, h.salt, h.iterations, HASH_LEN, 'sha512')
      : crypto.createHash('sha512').update(pw).update(h.salt).digest();
  return digest.length === h.hash.length && crypto.timingSafeEqual(digest, h.hash);
}

/** A `$7$` hash line value, as `mosquitto_passwd` writes it. */
export function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = crypto.randomBytes(12);
  const hash = crypto.pbkdf2Sync(password, salt, iterations, HASH_LEN, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A username the password file and the ACL patterns can carry. */
export function usernameProblem(name: string): string | null {
  if (name === '' || name !== trim(name)) return 'must not be empty or start or end with a space';
  if (/[:\n\r]/.test(name)) return 'must not contain ":" or a line break';
  if (/[+#]/.test(name)) return 'must not contain "+" or "#" (Mosquitto then denies every pattern)';
  if (name.length > 256) return 'must be at most 256 characters';
  return null;
}

/** The file's text with `username`'s line replaced (or added, or removed when hash is null). */
export function withUser(text: string, username: string, hash: string | null): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const kept = lines.filter(
    (l) => l.startsWith('#') || trim(l.split(':').find((f) => f !== '') ?? '') !== username,
  );
  if (hash !== null) kept.push(`${username}:${hash}`);
  return kept.length ? kept.join('\n') + '\n' : '';
}
