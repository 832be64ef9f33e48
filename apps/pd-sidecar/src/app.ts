import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { PrefillAllowlist } from './allowlist/allowlist.js';
import { AllowlistFileSource } from './allowlist/file-source.js';
import { ConfigError } from '@llmd/cli';
import { SidecarMetrics } from './metrics.js';
import type { SidecarOptions } from './options.js';
import { PdProxy } from './proxy/proxy.js';
import { generateSelfSignedCertificate, readCertificateDir, type ServingCertificate } from './tls.js';

/** A running sidecar. */
export interface RunningSidecar {
  /** The port of each data-parallel rank's listener, rank 0 first. */
  readonly ports: readonly number[];
  /** The port of the sidecar's own /metrics, or null when off. */
  readonly metricsPort: number | null;
  /** `http(s)://<host>:<port>` of each rank's listener. */
  readonly urls: readonly string[];
  /** The allowed prefill targets (fed by the command line and the allowlist file). */
  readonly allowlist: PrefillAllowlist;
  readonly metrics: SidecarMetrics;
  /** Stops listening, closes the connection pools and the file watch. */
  close(): Promise<void>;
}

/** What the process gives the sidecar. */
export interface SidecarDeps {
  readonly logger: Logger;
  /** Random source of prefiller sampling (default Math.random). */
  readonly random?: () => number;
  /** Largest disaggregated request body in bytes (default 256 MiB; tests lower it). */
  readonly maxBodyBytes?: number;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function makeServer(cert: ServingCertificate | null, options: SidecarOptions, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  // Streams are relayed as they arrive; Nagle's delay would hold back single SSE events.
  const common = { noDelay: true, keepAliveTimeout: 65_000, requestTimeout: 0 };
  if (cert === null) return createHttpServer(common, listener);
  return createHttpsServer(
    { ...common, cert: cert.cert, key: cert.key, minVersion: options.tlsMinVersion, ...(options.tlsCiphers ? { ciphers: options.tlsCiphers } : {}) },
    listener,
  ) as unknown as Server;
}

/**
 * Starts the sidecar: the allowlist (command line and file), one listener per data-parallel rank
 * (TLS unless `--secure-serving=false`), and the optional metrics listener. Logs
 * `pd-sidecar listening` with the ports once everything accepts connections.
 */
export async function startSidecar(options: SidecarOptions, deps: SidecarDeps): Promise<RunningSidecar> {
  const { logger } = deps;
  const allowlist = new PrefillAllowlist();
  const invalid = allowlist.replace('prefill-allowlist', options.prefillAllowlist);
  if (invalid.length > 0) throw new ConfigError('--prefill-allowlist', `not host or host:port: ${invalid.join(', ')}`);
  let fileSource: AllowlistFileSource | null = null;
  if (options.prefillAllowlistFile !== null) {
    fileSource = new AllowlistFileSource(options.prefillAllowlistFile, allowlist, logger);
    try {
      await fileSource.start();
    } catch (err) {
      fileSource.close();
      throw new ConfigError('--prefill-allowlist-file', (err as Error).message, { cause: err });
    }
  }
  if (!options.enableSsrfProtection) {
    logger.warn('SSRF protection is disabled: prefill targets taken from x-prefiller-host-port are not checked (--enable-ssrf-protection)');
  }

  const metrics = new SidecarMetrics();
  const proxy = new PdProxy({ options, logger, allowlist, metrics, ...(deps.random ? { random: deps.random } : {}), ...(deps.maxBodyBytes ? { maxBodyBytes: deps.maxBodyBytes } : {}) });
  const cert = options.secureServing ? (options.certPath !== null ? await readCertificateDir(options.certPath, '--cert-path') : await generateSelfSignedCertificate()) : null;
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    for (let rank = 0; rank < options.dataParallelSize; rank++) {
      const server = makeServer(cert, options, proxy.listener(rank));
      servers.push(server);
      ports.push(await listen(server, options.port === 0 ? 0 : options.port + rank, options.host));
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    await proxy.close();
    fileSource?.close();
    throw err;
  }

  let metricsServer: Server | null = null;
  let metricsPort: number | null = null;
  if (options.metricsPort !== null) {
    const metricsCert = options.metricsCertDir !== null ? await readCertificateDir(options.metricsCertDir, '--metrics-cert-dir') : null;
    metricsServer = makeServer(metricsCert, options, (req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: the sidecar serves /metrics here\n');
        return;
      }
      metrics.expose().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${err.message}\n`);
        },
      );
    });
    metricsPort = await listen(metricsServer, options.metricsPort, options.host);
  }

  const scheme = cert === null ? 'http' : 'https';
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const urls = ports.map((p) => `${scheme}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${p}`);
  logger.info(
    {
      ports,
      urls,
      metricsPort,
      modelServer: proxy.decoderOrigin(0),
      connector: options.kvConnector,
      ssrfProtection: options.enableSsrfProtection,
      allowlist: allowlist.size,
      prefillMaxRetries: options.prefillMaxRetries,
    },
    'pd-sidecar listening',
  );

  let closed: Promise<void> | null = null;
  return {
    ports,
    metricsPort,
    urls,
    allowlist,
    metrics,
    close: () => {
      closed ??= (async () => {
        fileSource?.close();
        await Promise.all([...servers, ...(metricsServer ? [metricsServer] : [])].map(closeServer));
        await proxy.close();
      })();
      return closed;
    },
  };
}
