// The broker connection as Node-RED's `status` node reports it for an mqtt node
// (msg.status.text is the i18n key `node-red:common.status.connected` and so on, or its text).

export type BrokerState = 'up' | 'down';

export function brokerState(status: unknown): BrokerState | null {
  if (!status || typeof status !== 'object') return null;
  const text = (status as { text?: unknown }).text;
  if (typeof text !== 'string') return null;
  if (/(^|\.)connected$/i.test(text)) return 'up';
  if (/(^|\.)(disconnected|connecting)$/i.test(text)) return 'down';
  return null;
}

/** What this package reads of Node-RED's `mqtt-broker` config node. */
export interface MqttBrokerNode {
  connected?: boolean;
  client?: { stream?: { setNoDelay?(on?: boolean): unknown }; on?(ev: 'connect', cb: () => void): unknown };
}

/**
 * Keeps the broker's socket in TCP_NODELAY mode: a DLM event (a few hundred bytes) leaves at
 * once instead of waiting for the acknowledgement of the previous one (Nagle's algorithm and
 * delayed ACKs cost tens of milliseconds per event otherwise). Only this connection is touched,
 * never the process's other sockets. Call `connected()` on each (re)connection; the helper also
 * follows the client's own 'connect' events and checks at start until the broker is connected.
 */
export function keepPrompt(broker: MqttBrokerNode | null): { connected(): void; stop(): void } {
  let seen: MqttBrokerNode['client'] | undefined;
  let stopped = false;
  const apply = () => {
    if (stopped || !broker?.client) return;
    const c = broker.client;
    if (c !== seen) {
      seen = c;
      c.on?.('connect', apply);
    }
    try {
      c.stream?.setNoDelay?.(true);
    } catch {
      // a socket being torn down: the next connect sets it again
    }
  };
  let tries = 0;
  const poll = setInterval(() => {
    apply();
    if (stopped || broker?.connected || ++tries > 150) clearInterval(poll);
  }, 200);
  if (!broker) clearInterval(poll);
  return {
    connected: apply,
    stop() {
      stopped = true;
      clearInterval(poll);
    },
  };
}
