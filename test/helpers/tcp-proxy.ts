// A TCP proxy to a server that a test can close (an outage: the port refuses connections
// and open connections are cut) and reopen on the same port (recovery).
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  /** The proxy's port on 127.0.0.1 (0 until the first open()). */
  port = 0;
  constructor(private readonly target: URL) {}

  async open(): Promise<void> {
    const server = net.createServer((c) => {
      const u = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const x of this.sockets) x.destroy();
    if (s) await new Promise((r) => s.close(r));
  }
}
