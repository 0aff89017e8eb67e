// Messages whose payload is frozen travel to several wires without a deep copy.
//
// Node-RED deep-clones a message for every wire after the first (lodash.clonedeep). wpt-twin's
// change lists go to the allocator, the store and, through the "twin changes" link, to the time
// series and the live feeds: at 20,000 telemetry messages a second that copying (and the garbage
// it makes) was an eighth of the runtime's CPU. A change list is immutable, so copying it buys
// nothing: wpt-twin freezes it and marks its message, and a `preRoute` hook (Node-RED's
// messaging hooks, https://nodered.org/docs/api/hooks/messaging) gives each further wire its
// own envelope — a shallow copy of the message — with the same frozen payload, and tells the
// runtime not to clone. Only a message made that way qualifies: marked, its payload frozen, and
// no property besides the ones wpt-twin sets (and `_event`, set by link nodes). Anything else a
// flow adds (a function node that sets msg.something) makes it an ordinary message again, deep
// cloned as usual.
import type { NodeAPI } from './node-red';

/** The mark wpt-twin puts on the messages it sends with a frozen payload. */
export const SHARED_PAYLOAD = Symbol.for('wpt-dlm.shared-payload');

const OWN_KEYS = new Set(['_msgid', 'topic', 'payload', '_event']);

/** Freezes a list of changes (the list, each change and the objects each change holds). */
export function freezeList<T extends object>(items: T[]): readonly T[] {
  for (const item of items) {
    if (!Object.isFrozen(item)) {
      for (const v of Object.values(item)) if (typeof v === 'object' && v !== null) Object.freeze(v);
      Object.freeze(item);
    }
  }
  return Object.freeze(items);
}

/** May this message go to another wire with a shallow copy? */
export function isShared(msg: Record<string | symbol, unknown> | null | undefined): boolean {
  if (!msg || msg[SHARED_PAYLOAD] !== true) return false;
  const p = msg.payload;
  if (typeof p !== 'object' || p === null || !Object.isFrozen(p)) return false;
  for (const k in msg) if (!OWN_KEYS.has(k)) return false;
  return true;
}

interface SendEvent {
  msg: Record<string | symbol, unknown>;
  cloneMessage: boolean;
}

const HOOK = 'preRoute.wpt-dlm-shared-payload';

/** Installs the hook once per runtime (again after a restart of the runtime in the same process). */
export function installSharedPayloadHook(RED: NodeAPI): void {
  const hooks = (
    RED as unknown as {
      hooks?: { add(id: string, cb: (e: SendEvent) => void): void; remove(id: string): void };
    }
  ).hooks;
  if (!hooks) return; // an older runtime: messages are cloned as usual
  hooks.remove(HOOK);
  hooks.add(HOOK, (e) => {
    if (e.cloneMessage && isShared(e.msg)) {
      e.msg = { ...e.msg };
      e.cloneMessage = false;
    }
  });
}
