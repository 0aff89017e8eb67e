// In-process MQTT broker (aedes) used when no MQTT_URL is configured.
// Binds to loopback unless told otherwise; a taken port is reported as one clear error.
// With `auth` (runtime/broker-auth.ts) every client needs an account and the ACL applies, as in
// Mosquitto: a publish the ACL denies is dropped (the client stays connected, its QoS 1/2
// handshake completes), a message a client may not read is not delivered to it.
import net from 'node:net';
import type { BrokerAuth } from './broker-auth';

export interface EmbeddedBrokerOptions {
  port: number;
  host: string;
  auth?: BrokerAuth;
  log?: (line: string) => void;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  host: string;
  /** Publishes the ACL denied so far (dropped, never delivered). */
  denied(): number;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `port ${host}:${port} is already in use: another MQTT broker is probably running there. ` +
        `Set MQTT_URL=mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port} to use it, ` +
        `or WPT_MQTT_PORT to start the embedded broker on another port.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Where a denied publish goes: no client may subscribe to it, nothing is forwarded from it. */
const DENIED_TOPIC = '$wpt/denied';

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  // aedes is ESM-only; Node 22 loads it through require(esm).
  const { Aedes } = await import('aedes');
  const log = opts.log ?? (() => {});
  const auth = opts.auth;
  let denied = 0;
  let logged = 0;
  let logWindow = 0;
  const logDenied = (what: string) => {
    denied++;
    const now = Date.now();
    if (now - logWindow > 60_000) {
      logWindow = now;
      logged = 0;
    }
    if (++logged <= 10) log(`[wpt] MQTT: ${what} (denied by the ACL, dropped)`);
  };
  const users = new WeakMap<object, string>();
  const aclClient = (client: { id: string } | null) => ({
    username: client ? users.get(client) : undefined,
    clientId: client?.id ?? '',
  });

  const aedes = await Aedes.createBroker(
    auth
      ? {
          authenticate: (client, username, password, done) => {
            auth
              .authenticate(username, password)
              .then((ok) => {
                if (ok) {
                  users.set(client, username!);
                  return done(null, true);
                }
                log(
                  `[wpt] MQTT: login refused for ${username === undefined ? 'a client without a username' : `"${username}"`} (client id "${client.id}")`,
                );
                done(Object.assign(new Error('not authorised'), { returnCode: 5 }) as never, false);
              })
              .catch((err: unknown) => done(err as never, false));
          },
          authorizePublish: (client, packet, done) => {
            const who = aclClient(client);
            const reserved = packet.topic.startsWith('$SYS/') || packet.topic.startsWith('$wpt/');
            if (!reserved && auth.allows(who, packet.topic, 'write')) return done(null);
            logDenied(`"${who.username ?? '?'}" may not publish on ${packet.topic}`);
            packet.topic = DENIED_TOPIC;
            packet.retain = false;
            done(null);
          },
          authorizeSubscribe: (_client, sub, done) =>
            // Like Mosquitto: any filter may be subscribed; what is delivered is checked per message.
            done(null, sub.topic.startsWith('$wpt/') ? null : sub),
          authorizeForward: (client, packet) =>
            packet.topic !== DENIED_TOPIC && auth.allows(aclClient(client), packet.topic, 'read')
              ? packet
              : null,
        }
      : {},
  );
  // No Nagle delay on the broker side of small QoS 1 messages (as Mosquitto's set_tcp_nodelay).
  const server = net.createServer({ noDelay: true }, aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(opts.host, opts.port));
      else reject(err);
    });
    server.listen(opts.port, opts.host, () => resolve());
  }).catch(async (err: unknown) => {
    await new Promise<void>((r) => aedes.close(() => r()));
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const urlHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  let closed = false;
  return {
    url: `mqtt://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`,
    port,
    host: opts.host,
    denied: () => denied,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
