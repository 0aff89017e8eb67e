// Small MQTT messages (a QoS 1 request, its PUBACK, a dlm/event) are latency-bound: with
// Nagle's algorithm on, a write waits for the ACK of the previous one, and delayed ACKs
// make that ~40 ms per hop. Node's HTTP and `pg` already turn it off; mqtt.js (used by
// Node-RED's MQTT nodes) does not expose the option, so the launcher makes TCP_NODELAY
// the default for the outgoing connections of this process. Integrators running our nodes
// in their own Node-RED keep Node's defaults.
import net from 'node:net';

let done = false;

export function preferNoDelay(): void {
  if (done) return;
  done = true;
  const original = net.createConnection;
  const patched = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    if (first && typeof first === 'object' && !('noDelay' in first)) args[0] = { ...first, noDelay: true };
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.createConnection;
  net.createConnection = patched;
  net.connect = patched;
}
