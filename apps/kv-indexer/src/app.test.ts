// Acceptance tests: the recorded vLLM events, published over real ZMQ sockets in both wire encodings,
// reach the running indexer, and the HTTP and gRPC APIs score the recorded prompt text.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvEventWireFormat } from '@llmd/kv-cache';
import { metricValue, scrapeMetrics } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPodScores, indexerClient } from './test-support/grpc-client.js';
import { startTestIndexer, type TestIndexer } from './test-support/harness.js';
import { recordedBlockStored, TestKvPublisher } from './test-support/publisher.js';

const MODEL = 'Qwen/Qwen3-0.6B';
const POD = '10.0.0.7:8000';
const TOPIC = `kv@${POD}@${MODEL}`;
const BASE = recordedBlockStored('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
const LORA = recordedBlockStored('kvcm_kv_event_lora_alice_qwen3-0.6b_seed42.json');

describe.each<KvEventWireFormat>(['array', 'map'])('the indexer fed recorded vLLM events over ZMQ (%s encoding)', (format) => {
  let indexer: TestIndexer;
  let publisher: TestKvPublisher;
  let batches = 0;

  const publish = async (...events: Parameters<TestKvPublisher['publish']>[0]) => {
    await publisher.publish(events);
    await indexer.applied(++batches);
  };

  beforeAll(async () => {
    indexer = await startTestIndexer();
    publisher = new TestKvPublisher(TOPIC, format);
    // Waits for the indexer's subscription: nothing published below is lost to the slow joiner.
    await publisher.connect(indexer.ports.zmq as string);
  });
  afterAll(async () => {
    publisher?.close();
    await indexer?.close();
  });

  it('scores the endpoint 25 for the recorded prompt text, and no other endpoint', async () => {
    await publish(BASE.event);
    const res = await indexer.scores({ model: MODEL, prompt: BASE.prompt });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ scores: { [POD]: 25 }, total_blocks: 25 });
  });

  it('scores the same over token ids and over gRPC, and honours the endpoint filter', async () => {
    expect((await indexer.scores({ model: MODEL, token_ids: BASE.event.tokenIds })).body).toEqual({ scores: { [POD]: 25 }, total_blocks: 25 });
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt, pods: ['10.0.0.8:8000'] })).body).toEqual({ scores: {}, total_blocks: 25 });
    const client = indexerClient(indexer.ports.grpc as number);
    try {
      expect(await getPodScores(client, { prompt: BASE.prompt, model_name: MODEL })).toEqual({ scores: [{ pod: POD, score: 25 }] });
      expect(await getPodScores(client, { prompt: BASE.prompt, model_name: MODEL, pod_identifiers: ['10.0.0.8:8000'] })).toEqual({ scores: [] });
    } finally {
      client.close();
    }
  });

  it('does not score the prompt for another model (keys are rooted in the model name)', async () => {
    expect((await indexer.scores({ model: 'Qwen/Qwen3-8B', prompt: BASE.prompt })).body).toEqual({ scores: {}, total_blocks: 25 });
  });

  it('answers bad bodies with 400 naming the field, and keeps serving', async () => {
    const cases: Array<[unknown, string]> = [
      [{ prompt: BASE.prompt }, 'model'],
      [{ model: MODEL }, 'prompt'],
      [{ model: MODEL, prompt: 'x', token_ids: [1] }, 'prompt'],
      [{ model: MODEL, token_ids: [1, 'two'] }, 'token_ids.1'],
    ];
    for (const [body, param] of cases) {
      const res = await indexer.scores(body);
      expect(res.status).toBe(400);
      expect((res.body as unknown as { error: { param: string } }).error.param).toBe(param);
    }
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt })).body).toEqual({ scores: { [POD]: 25 }, total_blocks: 25 });
  });

  it('cuts the score to 10 when block 10 is removed', async () => {
    await publish({ type: 'BlockRemoved', blockHashes: [BASE.hashes[10] as bigint], medium: 'GPU' });
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt })).body).toEqual({ scores: { [POD]: 10 }, total_blocks: 25 });
  });

  it('removes the endpoint on AllBlocksCleared', async () => {
    await publish({ type: 'AllBlocksCleared' });
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt })).body).toEqual({ scores: {}, total_blocks: 25 });
  });

  it('scores the LoRA event only under its adapter name', async () => {
    await publish(LORA.event);
    expect((await indexer.scores({ model: MODEL, prompt: LORA.prompt })).body).toEqual({ scores: {}, total_blocks: 25 });
    expect((await indexer.scores({ model: MODEL, prompt: LORA.prompt, lora_name: 'Alice' })).body).toEqual({ scores: { [POD]: 25 }, total_blocks: 25 });
    expect((await indexer.scores({ model: 'Alice', prompt: LORA.prompt })).body).toEqual({ scores: { [POD]: 25 }, total_blocks: 25 });
    expect((await indexer.scores({ model: MODEL, prompt: LORA.prompt, lora_name: 'Bob' })).body).toEqual({ scores: {}, total_blocks: 25 });
  });

  it('counts what it ingested and served in /metrics', async () => {
    const text = await scrapeMetrics(indexer.url);
    expect(metricValue(text, 'llm_d_kv_indexer_events_applied_total', { type: 'BlockStored' })).toBe(2);
    expect(metricValue(text, 'llm_d_kv_indexer_events_applied_total', { type: 'BlockRemoved' })).toBe(1);
    expect(metricValue(text, 'llm_d_kv_indexer_events_applied_total', { type: 'AllBlocksCleared' })).toBe(1);
    expect(metricValue(text, 'llm_d_kv_indexer_event_batches_total', { result: 'applied' })).toBe(4);
    expect(metricValue(text, 'llm_d_kv_indexer_ingestion_lag_seconds_count')).toBe(4);
    expect(metricValue(text, 'llm_d_kv_indexer_index_blocks')).toBeGreaterThanOrEqual(25);
    expect(metricValue(text, 'llm_d_kv_indexer_lookup_duration_seconds_count', { backend: 'memory' })).toBeGreaterThan(5);
    expect(metricValue(text, 'llm_d_kv_indexer_tokenization_duration_seconds_count', { kind: 'prompt' })).toBeGreaterThan(5);
    // The recorded prompt was tokenized many times: later times reuse its cached segments.
    expect(metricValue(text, 'llm_d_kv_indexer_prefix_cache_segments_total', { result: 'hit' })).toBeGreaterThan(0);
  });
});

describe('the indexer in per-endpoint mode', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-indexer-app-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('connects to every endpoint of the file, attributes blocks to its serving address, and drops an endpoint removed from the file', async () => {
    await using publisher = new TestKvPublisher(`kv@ignored:1@${MODEL}`, 'map');
    const zmqPort = await publisher.bind();
    const file = join(dir, 'endpoints.yaml');
    writeFileSync(file, `endpoints:\n- {name: vllm-0, address: 127.0.0.1, port: 8000}\n`);
    await using indexer = await startTestIndexer(['--endpoints-file', file, '--zmq-port', String(zmqPort)]);
    expect(indexer.ports.zmq).toBeNull();
    await publisher.subscribed();
    await publisher.publish([BASE.event]);
    await indexer.applied(1);
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt })).body).toEqual({ scores: { '127.0.0.1:8000': 25 }, total_blocks: 25 });

    writeFileSync(file, 'endpoints: []\n');
    await indexer.discovery?.reload();
    await indexer.ingestion.idle();
    expect(indexer.ingestion.subscriber.endpoints).toEqual([]);
    expect((await indexer.scores({ model: MODEL, prompt: BASE.prompt })).body).toEqual({ scores: {}, total_blocks: 25 });
  });
});
