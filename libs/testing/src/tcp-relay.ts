import { createServer, connect, type Server, type Socket } from 'node:net';

/** A loopback TCP relay to one target that a test can cut and restore (a network outage in miniature). */
export interface TcpRelay extends AsyncDisposable {
  /** The loopback port clients connect to (stable across cut/restore). */
  readonly port: number;
  /** Connections relayed so far. */
  readonly accepted: number;
  /** Resets every open connection and stops accepting new ones. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a relay from `127.0.0.1:<free port>` to `host:port`; TLS passes through untouched. */
export async function startTcpRelay(host: string, port: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server | null = null;
  let boundPort = 0;
  const listen = async (onPort: number) => {
    const s = createServer((client) => {
      accepted++;
      const upstream = connect(port, host);
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(onPort, '127.0.0.1', () => resolve());
    });
    server = s;
    boundPort = (s.address() as { port: number }).port;
  };
  const cut = async () => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen(0);
  return {
    get port() {
      return boundPort;
    },
    get accepted() {
      return accepted;
    },
    cut,
    restore: () => listen(boundPort),
    close: cut,
    [Symbol.asyncDispose]: cut,
  };
}
