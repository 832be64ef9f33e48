import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** A gRPC server that can be bound once and shut down; `await using` closes it. */
export interface GrpcListener extends AsyncDisposable {
  /** Binds `host:port` (port 0 picks a free one) and resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Stops the server. With `graceMs` > 0, open streams may finish for that long before they are
   * cut; with 0 (the default) they are cut at once.
   */
  close(graceMs?: number): Promise<void>;
}

/** `host:port` as gRPC wants it: IPv6 literals in brackets. */
function bindAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Wraps a configured grpc-js server; credentials are made at `listen` (loading or generating certificates is async). */
export function startGrpcServer(server: grpc.Server, credentials: () => Promise<grpc.ServerCredentials>, logger: Logger): GrpcListener {
  let closed: Promise<void> | null = null;
  const close = (graceMs = 0): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      if (graceMs <= 0) {
        server.forceShutdown();
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        logger.warn({ graceMs }, 'gRPC streams still open after the grace period; cutting them');
        server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closed;
  };
  return {
    async listen(port, host = '0.0.0.0') {
      const creds = await credentials();
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(bindAddress(host, port), creds, (err, p) => (err ? reject(err) : resolve(p)));
      });
      logger.info({ host, port: bound }, 'gRPC server listening');
      return bound;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
