/**
 * ISO-8601 timestamps of the contract: `2026-11-26T07:13:47.282427Z`.
 *
 * Accepted: `YYYY-MM-DDThh:mm:ss`, optional fraction of 1–9 digits, then `Z`, a
 * `+hh:mm` / `-hh:mm` offset, or (lenient, Python `isoformat()` of a naive datetime)
 * nothing, read as UTC. `t`/`z` in lower case are accepted (RFC 3339). Anything else is
 * rejected. A hand-written scanner: no regex, no allocation.
 */

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function two(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Epoch milliseconds (fraction below 1 ms truncated) of an accepted timestamp, else NaN. */
export function parseTimestamp(s: string): number {
  const n = s.length;
  if (n < 19 || n > 40) return NaN;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const sec = two(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59) return NaN;
  if (sec < 0 || sec > 59) return NaN;
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (t !== 84 && t !== 116)) return NaN;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const y = y1 * 100 + y2;
  if (d > daysInMonth(y, mo)) return NaN;

  let i = 19;
  let ms = 0;
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    const start = i;
    let c = i < n ? digit(s, i) : -1;
    while (c >= 0) {
      if (i - start < 3) ms = ms * 10 + c;
      i++;
      c = i < n ? digit(s, i) : -1;
    }
    const len = i - start;
    if (len === 0 || len > 9) return NaN;
    if (len === 1) ms *= 100;
    else if (len === 2) ms *= 10;
  }

  let offsetMs = 0;
  if (i < n) {
    const c = s.charCodeAt(i);
    if (c === 90 || c === 122) {
      i++;
    } else if (c === 43 || c === 45) {
      if (n !== i + 6 || s.charCodeAt(i + 3) !== 58) return NaN;
      const oh = two(s, i + 1);
      const om = two(s, i + 4);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
      offsetMs = (oh * 60 + om) * 60000 * (c === 43 ? 1 : -1);
      i += 6;
    } else {
      return NaN;
    }
  }
  if (i !== n) return NaN;

  let epoch = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  if (y < 100) {
    // Date.UTC maps years 0–99 to 1900–1999.
    const dt = new Date(epoch);
    dt.setUTCFullYear(y);
    epoch = dt.getTime();
  }
  return epoch - offsetMs;
}

/** True when `s` is an accepted ISO-8601 date-time. */
export function isTimestamp(s: string): boolean {
  return !Number.isNaN(parseTimestamp(s));
}

/**
 * Contract timestamp for epoch milliseconds: `2026-11-26T07:13:47.282000Z`
 * (6 fraction digits, UTC). Throws a RangeError for a non-finite or out-of-range time.
 */
export function formatTimestamp(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // throws RangeError when invalid
  return iso.slice(0, -1) + '000Z';
}
