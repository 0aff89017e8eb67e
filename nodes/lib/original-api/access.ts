// Who may use the original API's listener. The original had no authentication, so this one is
// opt-in and closed by default: loopback only, unless an allow-list of client networks is
// configured (`10.0.0.0/8,192.168.1.0/24`; exactly those, add 127.0.0.1 to keep local
// access), and optionally a token for clients that can send one (`Authorization: Bearer`,
// `X-API-Key` or `?token=`), which admits them from any address.
import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { presentedToken, tokenMatches } from '../api/auth';

export interface AllowList {
  /** The list as configured, normalised (`10.0.0.0/8, 192.168.1.0/24`). */
  text: string;
  /** True when configured (the listener then binds to every address). */
  configured: boolean;
  allows(address: string | undefined): boolean;
}

/** A client address as compared: IPv4-mapped IPv6 (`::ffff:10.0.0.5`) as IPv4. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Parses `a.b.c.d[/n]` and IPv6 `x::y[/n]` entries, separated by commas or spaces. Empty →
 * loopback only. Throws an Error naming the bad entry.
 */
export function parseAllowList(text: string | undefined | null): AllowList {
  const entries = (text ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  const list = new net.BlockList();
  const configured = entries.length > 0;
  const shown: string[] = [];
  for (const e of configured ? entries : ['127.0.0.0/8', '::1/128']) {
    const [addr = '', bits, extra] = e.split('/');
    const family = net.isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max))
      throw new Error(
        `allow-list entry "${e}": must be an IPv4 or IPv6 address, optionally with /prefix (e.g. 10.0.0.0/8)`,
      );
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
    shown.push(`${addr}/${prefix}`);
  }
  return {
    text: shown.join(', '),
    configured,
    allows(address) {
      if (!address) return false;
      const a = plainAddress(address);
      const family = net.isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

export type AccessOutcome = { ok: true } | { ok: false; status: 401 | 403; detail: string };

/**
 * Decides a request: admitted when its address is allowed or it presents the token. A wrong
 * token is 401, an address outside the list without a token 403.
 */
export function decideAccess(
  address: string | undefined,
  headers: IncomingHttpHeaders,
  queryToken: string | null,
  allow: AllowList,
  tokenHash: string | null,
): AccessOutcome {
  const presented = presentedToken(headers) ?? (queryToken || undefined);
  if (tokenHash && presented !== undefined && tokenMatches(presented, tokenHash)) return { ok: true };
  if (allow.allows(address)) return { ok: true };
  if (tokenHash && presented !== undefined) return { ok: false, status: 401, detail: 'Token not accepted' };
  return {
    ok: false,
    status: 403,
    detail: `Client address ${address ? plainAddress(address) : '?'} is not allowed on this listener (WPT_COMPAT_ALLOW)`,
  };
}
