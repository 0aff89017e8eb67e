// In-process MQTT broker (aedes) used when no MQTT_URL is configured.
// Binds to loopback unless told otherwise; a taken port is reported as one clear error.
import net from 'node:net';

export interface EmbeddedBrokerOptions {
  port: number;
  host: string;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  host: string;
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

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  // aedes is ESM-only; Node 22 loads it through require(esm).
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  // No Nagle delay on the broker's side of small QoS 1 messages (see tcp-nodelay.ts).
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
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
