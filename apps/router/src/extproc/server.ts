import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Director } from '../director/types.js';
import { addHealthService, type HealthState } from './health.js';
import { startGrpcServer, type GrpcListener } from './listener.js';
import type { ProcessingRequest, ProcessingResponse } from './messages.js';
import { externalProcessorClient } from './protos.js';
import { ExtProcStream } from './stream.js';
import { generateSelfSignedCertificate, readCertificateDir, type ServingCertificate } from './tls.js';

/** Options of the ext_proc server (flags `--secure-serving`, `--cert-path`, `--health-checking`, `--grpc-max-*-msg-size`). */
export interface ExtProcServerOptions {
  director: Director;
  logger: Logger;
  /** Serve over TLS (default true, as upstream's `--secure-serving`). */
  secure?: boolean;
  /** Directory with `tls.crt` and `tls.key`; without it a self-signed certificate is made at `listen`. */
  certPath?: string | null;
  /** Readiness for the health service. */
  healthState: HealthState;
  /** Also serve `grpc.health.v1.Health` on the ext_proc port (`--health-checking`). */
  healthChecking?: boolean;
  /** Largest message accepted from Envoy (gRPC default 4 MiB). */
  maxReceiveMessageBytes?: number;
  /** Largest message sent to Envoy (gRPC default 4 MiB; body pieces are at most 62,000 bytes). */
  maxSendMessageBytes?: number;
}

/** The running ext_proc server. */
export interface ExtProcServer extends GrpcListener {
  /** The PEM certificate served, once `listen` resolved with `secure`; null for plaintext. Lets a client pin a generated certificate. */
  readonly certificate: string | null;
}

/**
 * The Envoy ext_proc v3 server (`envoy.service.ext_proc.v3.ExternalProcessor/Process`): one
 * {@link ExtProcStream} per bidirectional stream, its messages handled strictly in order.
 */
export function createExtProcServer(opts: ExtProcServerOptions): ExtProcServer {
  const logger = opts.logger.child({ component: 'ext-proc' });
  const serverOptions: grpc.ServerOptions = {};
  if (opts.maxReceiveMessageBytes !== undefined) serverOptions['grpc.max_receive_message_length'] = opts.maxReceiveMessageBytes;
  if (opts.maxSendMessageBytes !== undefined) serverOptions['grpc.max_send_message_length'] = opts.maxSendMessageBytes;
  const server = new grpc.Server(serverOptions);
  server.addService(externalProcessorClient().service, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => processStream(call, opts.director, logger),
  });
  if (opts.healthChecking) addHealthService(server, opts.healthState);

  let certificate: string | null = null;
  const credentials = async (): Promise<grpc.ServerCredentials> => {
    if (opts.secure === false) return grpc.ServerCredentials.createInsecure();
    let pem: ServingCertificate;
    if (opts.certPath) {
      pem = await readCertificateDir(opts.certPath);
    } else {
      pem = await generateSelfSignedCertificate();
      logger.info('serving ext_proc with a generated self-signed certificate');
    }
    certificate = pem.cert;
    return grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(pem.cert), private_key: Buffer.from(pem.key) }], false);
  };
  const listener = startGrpcServer(server, credentials, logger);
  return {
    listen: (port, host) => listener.listen(port, host),
    close: (graceMs) => listener.close(graceMs),
    [Symbol.asyncDispose]: () => listener.close(),
    get certificate() {
      return certificate;
    },
  };
}

/** Feeds one gRPC stream into an {@link ExtProcStream}, serialising its messages and ending our side when Envoy ends its own. */
function processStream(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>, director: Director, logger: Logger): void {
  let open = true;
  const stream = new ExtProcStream({
    director,
    logger,
    send: (response) => {
      if (open) call.write(response);
    },
    end: (error) => {
      if (!open) return;
      open = false;
      if (error) call.emit('error', { code: grpc.status.INTERNAL, details: error.message });
      else call.end();
    },
  });
  // Routing is async; chaining keeps replies in the order of Envoy's messages.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (step: () => void | Promise<void>): void => {
    queue = queue.then(step).catch((err: unknown) => stream.fail(err));
  };
  call.on('data', (msg: ProcessingRequest) => enqueue(() => stream.handle(msg)));
  call.on('end', () =>
    enqueue(() => {
      stream.close();
      if (open) {
        open = false;
        call.end();
      }
    }),
  );
  const gone = (): void => {
    open = false;
    stream.close();
  };
  call.on('cancelled', gone);
  call.on('error', (err) => {
    logger.debug({ err }, 'ext_proc stream error');
    gone();
  });
}
