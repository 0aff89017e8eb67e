// One status helper for every WPT-DLM node. Status updates go to every open editor, so a node
// that handles thousands of messages a second refreshes its status at most once per `ms`
// (the latest state wins). Texts stay short (they are drawn under the node and would run into
// the wires): `statusText` joins parts with " · " and cuts at STATUS_MAX characters.
import type { Node } from './node-red';

export type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export interface StatusSpec {
  fill: StatusFill;
  shape: 'dot' | 'ring';
  text: string;
}

/** Longest status text (characters). */
export const STATUS_MAX = 26;

/** 999 → "999", 12_345 → "12.3k", 4_560_000 → "4.6M". */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const a = Math.abs(n);
  if (a < 1000) return String(Math.round(n));
  if (a < 1e6) return `${(n / 1e3).toFixed(a < 1e4 ? 1 : 0).replace(/\.0$/, '')}k`;
  return `${(n / 1e6).toFixed(a < 1e7 ? 1 : 0).replace(/\.0$/, '')}M`;
}

/** Joins the non-empty parts with " · " and cuts the result at STATUS_MAX characters. */
export function statusText(...parts: Array<string | false | null | undefined>): string {
  const t = parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' · ');
  return t.length <= STATUS_MAX ? t : `${t.slice(0, STATUS_MAX - 1)}…`;
}

export interface NodeStatusHelper {
  /** Shows the computed status within `ms` (coalesced). */
  refresh(): void;
  /** Shows a status at once (for state changes: errors, connected/disconnected). */
  set(s: StatusSpec | null): void;
  /** Stops pending refreshes; call on close. */
  stop(): void;
}

export function nodeStatus(
  node: Pick<Node, 'status'>,
  compute: () => StatusSpec | null,
  ms = 500,
): NodeStatusHelper {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const show = (s: StatusSpec | null) => {
    if (s) node.status({ fill: s.fill, shape: s.shape, text: statusText(s.text) });
    else node.status({});
  };
  return {
    refresh() {
      if (stopped || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) show(compute());
      }, ms);
    },
    set(s) {
      if (!stopped) show(s);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
