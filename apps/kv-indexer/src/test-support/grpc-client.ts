import * as grpc from '@grpc/grpc-js';
import { indexerServiceClient, type GetPodScoresRequest, type GetPodScoresResponse } from '../grpc/protos.js';

/** A client of `indexer.v1.IndexerService`. */
export type IndexerClient = grpc.Client & {
  GetPodScores(req: Partial<GetPodScoresRequest>, cb: (err: grpc.ServiceError | null, res?: GetPodScoresResponse) => void): void;
};

/** A plaintext client of the service at `127.0.0.1:<port>`. */
export function indexerClient(port: number): IndexerClient {
  const Ctor = indexerServiceClient();
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as IndexerClient;
}

/** Calls GetPodScores and resolves with the answer or the gRPC error. */
export function getPodScores(client: IndexerClient, req: Partial<GetPodScoresRequest>): Promise<GetPodScoresResponse | grpc.ServiceError> {
  return new Promise((resolve) => client.GetPodScores(req, (err, res) => resolve(err ?? (res as GetPodScoresResponse))));
}
