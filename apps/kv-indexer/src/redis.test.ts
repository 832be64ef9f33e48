// Two indexer replicas sharing one real Redis: each receives part of the publishers (as behind a
// Service in centralized mode), yet both answer what one in-memory indexer fed everything answers.
import type { KvEvent } from '@llmd/kv-cache';
import { startRedis, type RedisServer } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPodScores, indexerClient } from './test-support/grpc-client.js';
import { startTestIndexer, type TestIndexer } from './test-support/harness.js';
import { recordedBlockStored, TestKvPublisher } from './test-support/publisher.js';

const MODEL = 'Qwen/Qwen3-0.6B';
const BASE = recordedBlockStored('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
const LORA = recordedBlockStored('kvcm_kv_event_lora_alice_qwen3-0.6b_seed42.json');

/** Which replica gets each publisher's batches, and the batches. */
const STREAMS: Array<{ pod: string; replica: 0 | 1; batches: KvEvent[][] }> = [
  { pod: '10.0.0.7:8000', replica: 0, batches: [[BASE.event]] },
  { pod: '10.0.0.8:8000', replica: 1, batches: [[BASE.event], [{ type: 'BlockRemoved', blockHashes: [BASE.hashes[10] as bigint], medium: 'GPU' }]] },
  { pod: '10.0.0.9:8000', replica: 0, batches: [[LORA.event], [{ ...BASE.event, medium: 'CPU' }]] },
  { pod: '10.0.0.10:8000', replica: 1, batches: [[BASE.event], [{ type: 'AllBlocksCleared' }]] },
];

const QUERIES = [
  { model: MODEL, prompt: BASE.prompt },
  { model: MODEL, prompt: BASE.prompt, pods: ['10.0.0.8:8000', '10.0.0.9:8000'] },
  { model: MODEL, prompt: LORA.prompt, lora_name: 'Alice' },
  { model: 'Alice', prompt: LORA.prompt },
  { model: MODEL, token_ids: BASE.event.tokenIds.slice(0, 100) },
];

describe('two indexers on one Redis', () => {
  let redis: RedisServer;
  let replicas: TestIndexer[];
  let memory: TestIndexer;
  const publishers: TestKvPublisher[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const flags = ['--index-backend', 'redis', '--redis-url', redis.url];
    replicas = [await startTestIndexer(flags), await startTestIndexer(flags)];
    memory = await startTestIndexer();
    const applied: [number, number, number] = [0, 0, 0];
    for (const stream of STREAMS) {
      const topic = `kv@${stream.pod}@${MODEL}`;
      const toReplica = new TestKvPublisher(topic, 'map');
      const toMemory = new TestKvPublisher(topic, 'array');
      publishers.push(toReplica, toMemory);
      await toReplica.connect((replicas[stream.replica] as TestIndexer).ports.zmq as string);
      await toMemory.connect(memory.ports.zmq as string);
      for (const batch of stream.batches) {
        await toReplica.publish(batch);
        await toMemory.publish(batch);
        applied[stream.replica]++;
        applied[2]++;
      }
    }
    await Promise.all([...replicas.map((r, i) => r.applied(applied[i] as number)), memory.applied(applied[2])]);
  });
  afterAll(async () => {
    for (const p of publishers) p.close();
    await Promise.all([...(replicas ?? []), memory].map((i) => i?.close()));
    await redis?.stop();
  });

  it('scores as the in-memory indexer does, from either replica', async () => {
    for (const query of QUERIES) {
      const expected = (await memory.scores(query)).body;
      expect(expected.scores).not.toEqual({});
      for (const replica of replicas) expect((await replica.scores(query)).body, JSON.stringify(query)).toEqual(expected);
    }
  });

  it('has the scores the events imply', async () => {
    const scores = (await (replicas[1] as TestIndexer).scores(QUERIES[0])).body.scores;
    // 10.0.0.9 holds the base blocks on CPU only (weight 0.8); 10.0.0.10 cleared its cache.
    expect(Object.keys(scores).sort()).toEqual(['10.0.0.7:8000', '10.0.0.8:8000', '10.0.0.9:8000']);
    expect(scores['10.0.0.7:8000']).toBe(25);
    expect(scores['10.0.0.8:8000']).toBe(10);
    expect(scores['10.0.0.9:8000']).toBeCloseTo(25 * 0.8, 9);
  });

  it('gives the same answer over gRPC', async () => {
    const client = indexerClient((replicas[0] as TestIndexer).ports.grpc as number);
    try {
      const res = await getPodScores(client, { prompt: BASE.prompt, model_name: MODEL });
      const http = (await (replicas[0] as TestIndexer).scores(QUERIES[0])).body.scores;
      expect(res).toEqual({ scores: Object.entries(http).map(([pod, score]) => ({ pod, score })) });
      expect('scores' in res && res.scores.map((s) => s.pod)).toEqual(['10.0.0.7:8000', '10.0.0.9:8000', '10.0.0.8:8000']);
    } finally {
      client.close();
    }
  });
});
