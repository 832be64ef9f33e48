import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { IndexerError, toGrpcError } from '../errors.js';
import type { ScoringService } from '../scoring.js';
import { indexerServiceClient, type GetPodScoresRequest, type GetPodScoresResponse } from './protos.js';

/** A gRPC server of `indexer.v1.IndexerService`, not yet listening. */
export interface IndexerGrpcServer {
  /** Binds `host:port` (0 picks a free port) and resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops taking calls and waits for those in flight (forced after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/** Checks a request as the HTTP API does; errors name the proto field. */
function toQuery(req: GetPodScoresRequest) {
  if (typeof req.model_name !== 'string' || req.model_name === '') throw new IndexerError('invalid_request', 'model_name: required', { param: 'model_name' });
  if (typeof req.prompt !== 'string' || req.prompt === '') throw new IndexerError('invalid_request', 'prompt: required', { param: 'prompt' });
  const pods = (req.pod_identifiers ?? []).filter((p) => p !== '');
  return { model: req.model_name, input: { kind: 'prompt' as const, prompt: req.prompt }, pods };
}

/** `GetPodScores`: the prompt tokenized for `model_name`, scored, `scores` best first. */
export function createGrpcServer(options: { scoring: ScoringService; logger: Logger }): IndexerGrpcServer {
  const { scoring } = options;
  const logger = options.logger.child({ component: 'grpc' });
  const server = new grpc.Server();
  server.addService(indexerServiceClient().service, {
    GetPodScores(call: grpc.ServerUnaryCall<GetPodScoresRequest, GetPodScoresResponse>, callback: grpc.sendUnaryData<GetPodScoresResponse>) {
      scoring.score(() => toQuery(call.request), 'grpc').then(
        ({ ranked }) => callback(null, { scores: ranked }),
        (err: unknown) => {
          const answer = toGrpcError(err);
          if (answer.code === grpc.status.INTERNAL) logger.error({ err: (err as Error).cause ?? err }, 'GetPodScores failed');
          callback(answer);
        },
      );
    },
  });
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      });
    },
    close(graceMs = 2000) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
