// Mosquitto's `acl_file` format, read and applied the way Mosquitto 2.0 does, so that one file
// serves the embedded broker and a Mosquitto (docker/mosquitto/aclfile):
//
//   # comment (a `#` in the first column only)
//   topic [read|write|readwrite|deny] <topic>     before any `user` line: anonymous clients
//   user <username>                               the topic lines below are that user's
//   pattern [read|write|readwrite|deny] <topic>   every client; %u = username, %c = client id
//
// Tokens are separated by spaces; the topic is the rest of the line (trimmed) and may hold MQTT
// wildcards; no access word means readwrite (and `topic read` alone is the topic "read",
// readwrite, as in Mosquitto). A client's own `user` entries are checked first, then the
// patterns; in each list `deny` entries come before the others; nothing matching = denied.
// Patterns never apply to a client whose username or client id holds `+` or `#`.

export type Access = 'read' | 'write';

const READ = 1;
const WRITE = 2;

interface AclEntry {
  topic: string;
  /** bit set of READ | WRITE; 0 = deny */
  access: number;
}

export interface Acl {
  /** Entries of `topic` lines per user. */
  users: Map<string, AclEntry[]>;
  /** Entries of the `topic` lines before any `user` line: for clients without a username. */
  anonymous: AclEntry[] | undefined;
  patterns: AclEntry[];
  /** Warnings Mosquitto also gives (a pattern without %u or %c). */
  warnings: string[];
}

export class AclFileError extends Error {
  constructor(source: string, line: number, message: string) {
    super(`${source}:${line}: ${message}`);
    this.name = 'AclFileError';
  }
}

/** Valid subscription filter: `+` and `#` only as whole levels, `#` last. */
export function isValidFilter(filter: string): boolean {
  if (filter === '') return false;
  const levels = filter.split('/');
  return levels.every(
    (l, i) => (!l.includes('+') || l === '+') && (!l.includes('#') || (l === '#' && i === levels.length - 1)),
  );
}

/** Does `topic` (no wildcards) match `filter`? MQTT's rules: `$` topics only by `$` filters. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === '' || topic === '') return false;
  if ((filter[0] === '$') !== (topic[0] === '$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

const blanks = (s: string) => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

/** Reads an acl_file; throws AclFileError where Mosquitto refuses to start. */
export function parseAcl(text: string, source = 'acl_file'): Acl {
  const acl: Acl = { users: new Map(), anonymous: undefined, patterns: [], warnings: [] };
  let user: string | undefined;
  const add = (list: AclEntry[], entry: AclEntry) => {
    if (entry.access === 0) list.unshift(entry);
    else list.push(entry);
  };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/[ \t\n\v\f\r]+$/, '');
    if (line.startsWith('#')) continue;
    const words = line.split(' ');
    const first = words.findIndex((w) => w !== '');
    if (first < 0) continue;
    const keyword = words[first]!;
    const after = (i: number) => words.slice(i).join(' ');
    if (keyword === 'topic' || keyword === 'pattern') {
      const a = words.findIndex((w, i) => i > first && w !== '');
      if (a < 0) throw new AclFileError(source, n + 1, 'empty topic');
      const rest = blanks(after(a + 1));
      let topic = words[a]!;
      let access = READ | WRITE;
      if (rest !== '') {
        topic = rest;
        const word = words[a]!;
        if (word === 'read') access = READ;
        else if (word === 'write') access = WRITE;
        else if (word === 'readwrite') access = READ | WRITE;
        else if (word === 'deny') access = 0;
        else throw new AclFileError(source, n + 1, `invalid topic access type "${word}"`);
      }
      if (!isValidFilter(topic)) throw new AclFileError(source, n + 1, `invalid ACL topic "${topic}"`);
      if (keyword === 'topic') {
        const list = (user === undefined ? acl.anonymous : acl.users.get(user)) ?? [];
        if (user === undefined) acl.anonymous = list;
        else acl.users.set(user, list);
        add(list, { topic, access });
      } else {
        if (!topic.includes('%u') && !topic.includes('%c')) {
          acl.warnings.push(`${source}:${n + 1}: ACL pattern '${topic}' does not contain '%c' or '%u'`);
        }
        add(acl.patterns, { topic, access });
      }
    } else if (keyword === 'user') {
      const name = blanks(after(first + 1));
      if (name === '') throw new AclFileError(source, n + 1, 'missing username');
      user = name;
    } else {
      throw new AclFileError(source, n + 1, `invalid line: ${line}`);
    }
  }
  return acl;
}

/** Concatenates ACL texts the way Mosquitto reads one file: the user section carries on. */
export function mergeAcl(base: Acl, extra: Acl): Acl {
  const join = (a: AclEntry[] | undefined, b: AclEntry[] | undefined): AclEntry[] | undefined => {
    if (!a || !b) return a ?? b;
    const out = [...a];
    for (const e of b) {
      if (e.access === 0) out.unshift(e);
      else out.push(e);
    }
    return out;
  };
  const users = new Map(base.users);
  for (const [u, list] of extra.users) users.set(u, join(users.get(u), list)!);
  return {
    users,
    anonymous: join(base.anonymous, extra.anonymous),
    patterns: join(base.patterns, extra.patterns) ?? [],
    warnings: [...base.warnings, ...extra.warnings],
  };
}

export interface AclClient {
  /** undefined: an anonymous client */
  username: string | undefined;
  clientId: string;
}

function substitute(pattern: string, client: AclClient): string {
  return pattern.replace(/%[cu]/g, (m) => (m === '%c' ? client.clientId : client.username!));
}

/** May `client` read (receive) or write (publish) `topic`? */
export function aclAllows(acl: Acl, client: AclClient, topic: string, access: Access): boolean {
  const bit = access === 'read' ? READ : WRITE;
  const own = client.username === undefined ? acl.anonymous : acl.users.get(client.username);
  if (!own && acl.patterns.length === 0) return false;
  for (const e of own ?? []) {
    if (topic[0] === '$' && e.topic[0] !== '$') continue;
    if (topicMatches(e.topic, topic)) {
      if (e.access === 0) return false;
      if (e.access & bit) return true;
    }
  }
  if (acl.patterns.length === 0) return false;
  if (/[+#]/.test(client.username ?? '') || /[+#]/.test(client.clientId)) return false;
  if (client.clientId === '') return false;
  for (const e of acl.patterns) {
    if (e.topic.includes('%u') && client.username === undefined) continue;
    if (topicMatches(substitute(e.topic, client), topic)) {
      if (e.access === 0) return false;
      if (e.access & bit) return true;
    }
  }
  return false;
}
