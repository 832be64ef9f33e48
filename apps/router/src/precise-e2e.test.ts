import type { EmbeddedIndexSource, PrecisePrefixCacheProducer } from '@llmd/scheduling-plugins';
import { freePort, postJson, type SimProcess, startSimProcess, waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');

/** A conversation's opening: a long system prompt of its own and a first question. */
const opening = (i: number) => [
  { role: 'system', content: Array.from({ length: 60 }, (_, k) => `Conversation ${i}, house rule ${k}: stay on topic ${i * 7 + k} and quote section ${k % 9}.`).join(' ') },
  { role: 'user', content: `First question of conversation ${i}?` },
];

describe('precise prefix-cache routing from the simulators\' KV events', () => {
  let sims: SimProcess[] = [];
  let router: RunningRouter;
  let source: EmbeddedIndexSource;

  beforeAll(async () => {
    const zmqPort = await freePort();
    sims = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', String(i), '--enable-kvcache', '--hash-seed', '42', '--zmq-endpoint', `tcp://127.0.0.1:${zmqPort}`]),
      ),
    );
    const config = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: {blockSizeTokens: 16}
    kvEventsConfig: {zmqEndpoint: "tcp://127.0.0.1:${zmqPort}"}
- type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-scorer, weight: 3}, {pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer, weight: 2}]
`;
    const file = writeEndpointsFile(sims.map((s) => hostPortOf(s.urls[0] as string)));
    router = await startTestRouter(['--config-text', config, '--endpoints-file', file, '--proxy-port', '0']);
    source = (router.config.plugins.get('precise-prefix-cache-producer') as PrecisePrefixCacheProducer).source as EmbeddedIndexSource;
    // Named producer: no approximate producer is added to hash every prompt for nothing.
    expect(router.config.plugins.has('approx-prefix-cache-producer')).toBe(false);
    await source.ready;
    // Publishers connect to the router's SUB socket; until a publisher's first batch arrives its
    // events can be lost (slow joiner), so warm every simulator up until the router hears from all four.
    for (let round = 0; source.ingestion.subscriber.publishers < 4; round++) {
      if (round > 100) throw new Error(`only ${source.ingestion.subscriber.publishers} publishers heard`);
      await Promise.all(sims.map((s, i) => postJson(`${s.urls[0]}/v1/completions`, { model, prompt: Array.from({ length: 32 }, (_, k) => 50_000 + round * 1000 + i * 100 + k), max_tokens: 1 })));
      await source.ingestion.idle();
    }
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('sends a returning conversation to the server that holds it, though the router never routed its first turn', async () => {
    const proxy = `http://127.0.0.1:${router.ports.proxy}`;
    for (const [i, sim] of sims.entries()) {
      const first = opening(i);
      // The first turn goes straight to one server, around the router (another router replica, a retry, …).
      const turn1 = await postJson(`${sim.urls[0]}/v1/chat/completions`, { model, messages: first, max_tokens: 8 });
      expect(turn1.status).toBe(200);
      const { body: tok } = await postJson(`${sim.urls[0]}/tokenize`, { model, messages: first });
      await waitUntil(async () => ((await source.indexer.scoreTokens(tok.tokens as number[], model)).get(hostPortOf(sim.urls[0] as string)) ?? 0) >= Math.floor(tok.count / 16), `server ${i}'s blocks in the router's index`);

      const returning = [...first, { role: 'assistant', content: turn1.body.choices[0].message.content as string }, { role: 'user', content: 'And a follow-up?' }];
      const turn2 = await postJson(`${proxy}/v1/chat/completions`, { model, messages: returning, max_tokens: 4 });
      expect(turn2.status).toBe(200);
      expect(turn2.headers.get('x-gateway-destination-endpoint-served')).toBe(hostPortOf(sim.urls[0] as string));
      expect(turn2.body.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(500);
    }
  }, 60_000);

  it('forgets a server\'s blocks when it clears its prefix cache', async () => {
    const sim = sims[0] as SimProcess;
    const pod = hostPortOf(sim.urls[0] as string);
    const { body: tok } = await postJson(`${sim.urls[0]}/tokenize`, { model, messages: opening(0) });
    expect((await source.indexer.scoreTokens(tok.tokens as number[], model)).get(pod)).toBeGreaterThan(0);
    expect((await fetch(`${sim.urls[0]}/reset_prefix_cache`, { method: 'POST' })).status).toBe(200);
    await waitUntil(async () => !(await source.indexer.scoreTokens(tok.tokens as number[], model)).has(pod), 'AllBlocksCleared to reach the index');
  });
});
