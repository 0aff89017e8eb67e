/**
 * The string formats the contract's schemas use (`format` keyword): IPv4 and IPv6
 * addresses here, `date-time` in time.ts. Hand-written scanners, no regex, no allocation;
 * the validator (validate.ts) registers them as its formats.
 */

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Dotted-quad IPv4 in s[from, to): four decimal octets 0–255, no leading zeros. */
function isIPv4Range(s: string, from: number, to: number): boolean {
  let parts = 0;
  let i = from;
  while (i <= to) {
    let value = 0;
    let len = 0;
    const start = i;
    while (i < to && isDigitCode(s.charCodeAt(i))) {
      value = value * 10 + (s.charCodeAt(i) - 48);
      len++;
      i++;
      if (len > 3) return false;
    }
    if (len === 0 || value > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
    parts++;
    if (i === to) break;
    if (s.charCodeAt(i) !== 46 || parts === 4) return false;
    i++;
  }
  return parts === 4;
}

export function isIPv4(s: string): boolean {
  return s.length >= 7 && s.length <= 15 && isIPv4Range(s, 0, s.length);
}

/** RFC 4291 text form: 8 groups of 1–4 hex digits, one `::`, optional trailing IPv4. No zone id. */
export function isIPv6(s: string): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let groups = 0;
  let doubleColon = false;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    doubleColon = true;
    i = 2;
    if (i === n) return true; // "::"
  }
  while (i < n) {
    const start = i;
    while (i < n && isHexCode(s.charCodeAt(i)) && i - start < 5) i++;
    const len = i - start;
    if (i < n && s.charCodeAt(i) === 46) {
      // trailing IPv4, counts as two groups
      if (!isIPv4Range(s, start, n)) return false;
      groups += 2;
      break;
    }
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (doubleColon) return false;
      doubleColon = true;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  return doubleColon ? groups <= 7 : groups === 8;
}
