import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeScoring } from '../test-support/fakes.js';
import { getPodScores, indexerClient, type IndexerClient } from '../test-support/grpc-client.js';
import { createGrpcServer, type IndexerGrpcServer } from './server.js';

describe('gRPC indexer.v1.IndexerService', () => {
  const fakes = fakeScoring();
  let server: IndexerGrpcServer;
  let client: IndexerClient;

  beforeAll(async () => {
    server = createGrpcServer({ scoring: fakes.scoring, logger: fakes.logger });
    const port = await server.listen(0, '127.0.0.1');
    client = indexerClient(port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });
  beforeEach(() => {
    fakes.scorer.calls.length = 0;
    fakes.scorer.failure = null;
  });

  it('tokenizes the prompt for model_name, filters by pod_identifiers and answers scores best first', async () => {
    fakes.scorer.scores = new Map([['b:1', 2], ['c:1', 9.5], ['a:1', 2]]);
    const res = await getPodScores(client, { prompt: 'hi', model_name: 'Qwen/Qwen3-0.6B', pod_identifiers: ['a:1', 'b:1', 'c:1'] });
    expect(res).toEqual({ scores: [{ pod: 'c:1', score: 9.5 }, { pod: 'a:1', score: 2 }, { pod: 'b:1', score: 2 }] });
    expect(fakes.scorer.calls).toEqual([{ tokens: [104, 105], model: 'Qwen/Qwen3-0.6B', pods: ['a:1', 'b:1', 'c:1'], loraName: null }]);
  });

  it('scores every endpoint when pod_identifiers is empty', async () => {
    fakes.scorer.scores = new Map();
    expect(await getPodScores(client, { prompt: 'x', model_name: 'm' })).toEqual({ scores: [] });
    expect(fakes.scorer.calls[0]?.pods).toBeUndefined();
  });

  it.each([
    ['no model_name', { prompt: 'x' }, 'model_name'],
    ['no prompt', { model_name: 'm' }, 'prompt'],
  ])('answers INVALID_ARGUMENT for %s, naming the field', async (_label, req, field) => {
    const err = (await getPodScores(client, req)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe(`invalid_request: ${field}: required`);
    expect(fakes.scorer.calls).toEqual([]);
  });

  it('answers INTERNAL without details of the bug when scoring fails', async () => {
    fakes.scorer.failure = new Error('secret internals');
    const err = (await getPodScores(client, { prompt: 'x', model_name: 'm' })) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).not.toContain('secret');
  });
});
