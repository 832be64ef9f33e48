import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * `apps/kv-indexer/proto`. This module sits two levels below the app folder both as source
 * (`src/grpc/protos.ts`) and built (`dist/grpc/protos.js`), so one relative URL finds the folder in
 * both cases. Images ship `proto/` beside `dist/`.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** The indexer service file, relative to {@link PROTO_DIR}. */
export const INDEXER_PROTO = 'indexer/v1/indexer.proto';

/** Field names as in the .proto (snake_case), doubles as numbers, empty lists present. */
export const LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: true,
  arrays: true,
  includeDirs: [PROTO_DIR],
});

let cache: grpc.ServiceClientConstructor | undefined;

/** The client constructor of `indexer.v1.IndexerService` (its `.service` is the server definition). */
export function indexerServiceClient(): grpc.ServiceClientConstructor {
  if (cache === undefined) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(INDEXER_PROTO, LOADER_OPTIONS)) as unknown as {
      indexer: { v1: { IndexerService: grpc.ServiceClientConstructor } };
    };
    cache = pkg.indexer.v1.IndexerService;
  }
  return cache;
}

/** `indexer.v1.GetPodScoresRequest` as loaded. */
export interface GetPodScoresRequest {
  prompt: string;
  model_name: string;
  pod_identifiers: string[];
}

/** `indexer.v1.GetPodScoresResponse` as loaded. */
export interface GetPodScoresResponse {
  scores: Array<{ pod: string; score: number }>;
}
