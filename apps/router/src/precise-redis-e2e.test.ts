import type { EmbeddedIndexSource, PrecisePrefixCacheProducer } from '@llmd/scheduling-plugins';
import { freePort, postJson, type RedisServer, type SimProcess, startRedis, startSimProcess, waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');

/** The same precise-prefix configuration on both replicas, except where KV events arrive and how the index is named. */
const config = (indexConfig: string, kvEvents: string) => `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: {blockSizeTokens: 16}
    indexerConfig:
      kvBlockIndexConfig: ${indexConfig}
    kvEventsConfig: ${kvEvents}
- type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-scorer, weight: 5}, {pluginRef: queue-scorer, weight: 1}]
`;

const opening = (i: number) => [
  { role: 'system', content: Array.from({ length: 50 }, (_, k) => `Shared-index conversation ${i}, rule ${k}: keep to subject ${i * 13 + k}.`).join(' ') },
  { role: 'user', content: `Opening question ${i}?` },
];

const sourceOf = (router: RunningRouter) => (router.config.plugins.get('precise-prefix-cache-producer') as PrecisePrefixCacheProducer).source as EmbeddedIndexSource;

describe('active-active router replicas sharing the precise prefix index through Redis', () => {
  let redis: RedisServer;
  let sims: SimProcess[] = [];
  let ingesting: RunningRouter;
  let other: RunningRouter;

  beforeAll(async () => {
    redis = await startRedis();
    const zmqPort = await freePort();
    sims = await Promise.all(
      [0, 1].map((i) => startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', String(i), '--enable-kvcache', '--hash-seed', '42', '--zmq-endpoint', `tcp://127.0.0.1:${zmqPort}`])),
    );
    const file = writeEndpointsFile(sims.map((s) => hostPortOf(s.urls[0] as string)));
    // Replica 1 receives the model servers' KV events; replica 2 receives none and only reads.
    ingesting = await startTestRouter(['--config-text', config(`{redisConfig: {address: "${redis.url}"}}`, `{zmqEndpoint: "tcp://127.0.0.1:${zmqPort}"}`), '--endpoints-file', file, '--proxy-port', '0']);
    // The reading replica names the same server as valkeyConfig, which upstream prefers over redisConfig (here a dead address).
    const index = `{valkeyConfig: {address: "${redis.url}"}, redisConfig: {address: "redis://127.0.0.1:1"}}`;
    other = await startTestRouter(['--config-text', config(index, '{discoverPods: false}'), '--endpoints-file', file, '--proxy-port', '0']);
    const src = sourceOf(ingesting);
    await Promise.all([src.ready, sourceOf(other).ready]);
    expect(src.index.constructor.name).toBe('RedisKvBlockIndex');
    expect(sourceOf(other).index.constructor.name).toBe('RedisKvBlockIndex');
    // Warm the publishers up until the ingesting replica hears both (ZMQ slow joiner).
    for (let round = 0; src.ingestion.subscriber.publishers < 2; round++) {
      if (round > 100) throw new Error(`only ${src.ingestion.subscriber.publishers} publishers heard`);
      await Promise.all(sims.map((s, i) => postJson(`${s.urls[0]}/v1/completions`, { model, prompt: Array.from({ length: 32 }, (_, k) => 60_000 + round * 1000 + i * 100 + k), max_tokens: 1 })));
      await src.ingestion.idle();
    }
  }, 120_000);

  afterAll(async () => {
    await other?.close();
    await ingesting?.close();
    await Promise.all(sims.map((s) => s.stop()));
    await redis?.stop();
  });

  it('routes on the replica that never heard the KV events, from what the other replica wrote to Redis', async () => {
    const proxy = `http://127.0.0.1:${other.ports.proxy}`;
    for (const [i, sim] of sims.entries()) {
      const pod = hostPortOf(sim.urls[0] as string);
      const first = opening(i);
      // The first turn reaches one server directly; only the ingesting replica hears its KV events.
      const turn1 = await postJson(`${sim.urls[0]}/v1/chat/completions`, { model, messages: first, max_tokens: 8 });
      expect(turn1.status).toBe(200);
      const { body: tok } = await postJson(`${sim.urls[0]}/tokenize`, { model, messages: first });
      const fullBlocks = Math.floor((tok.count as number) / 16);
      await waitUntil(async () => ((await sourceOf(ingesting).indexer.scoreTokens(tok.tokens as number[], model)).get(pod) ?? 0) >= fullBlocks, `server ${i}'s blocks in Redis`);
      // The reading replica sees them through its own index object over the same Redis.
      expect((await sourceOf(other).indexer.scoreTokens(tok.tokens as number[], model)).get(pod)).toBeGreaterThanOrEqual(fullBlocks);

      const returning = [...first, { role: 'assistant', content: turn1.body.choices[0].message.content as string }, { role: 'user', content: 'A follow-up?' }];
      const turn2 = await postJson(`${proxy}/v1/chat/completions`, { model, messages: returning, max_tokens: 4 });
      expect(turn2.status).toBe(200);
      expect(turn2.headers.get('x-gateway-destination-endpoint-served')).toBe(pod);
    }
    // The reading replica has no event subscription of its own: its knowledge came through Redis.
    expect(sourceOf(other).ingestion.subscriber.publishers).toBe(0);
  }, 90_000);

  it('forgets on both replicas when a server clears its cache', async () => {
    const sim = sims[0] as SimProcess;
    const pod = hostPortOf(sim.urls[0] as string);
    const { body: tok } = await postJson(`${sim.urls[0]}/tokenize`, { model, messages: opening(0) });
    expect((await sourceOf(other).indexer.scoreTokens(tok.tokens as number[], model)).get(pod)).toBeGreaterThan(0);
    expect((await fetch(`${sim.urls[0]}/reset_prefix_cache`, { method: 'POST' })).status).toBe(200);
    await waitUntil(async () => !(await sourceOf(other).indexer.scoreTokens(tok.tokens as number[], model)).has(pod), 'AllBlocksCleared to reach the reading replica through Redis');
  });
});
