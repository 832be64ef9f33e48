import { fileURLToPath } from 'node:url';
import { freePort, postJson, type SimProcess, startNodeProcess, startSimProcess, waitUntil } from '@llmd/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const INDEXER_MAIN = fileURLToPath(new URL('../../kv-indexer/dist/main.js', import.meta.url));
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');

/** Starts the built kv-indexer app and resolves once it logs `kv-indexer listening`. */
async function startIndexerProcess(args: string[]) {
  const proc = await startNodeProcess(INDEXER_MAIN, args, {
    buildHint: 'pnpm nx build kv-indexer',
    ready: (entry) => (entry.msg === 'kv-indexer listening' ? (entry.ports as { http: number }).http : undefined),
  });
  return { url: `http://127.0.0.1:${proc.ready}`, stop: () => proc.stop() };
}

/** A conversation's opening: a long system prompt of its own and a first question. */
const opening = (i: number) => [
  { role: 'system', content: Array.from({ length: 60 }, (_, k) => `Remote conversation ${i}, rule ${k}: keep to subject ${i * 11 + k} and cite clause ${k % 7}.`).join(' ') },
  { role: 'user', content: `Opening question ${i}?` },
];

describe('precise routing through a remote kv-indexer (indexerURL)', () => {
  let sims: SimProcess[] = [];
  let indexer: Awaited<ReturnType<typeof startIndexerProcess>>;
  let router: RunningRouter;

  /** The indexer's score of `pod` for a conversation, asked the way the router asks. */
  const indexerScore = async (messages: unknown, pod: string) => {
    const { status, body } = await postJson(`${indexer.url}/v1/scores`, { model, messages });
    expect(status).toBe(200);
    return (body.scores as Record<string, number>)[pod] ?? 0;
  };

  beforeAll(async () => {
    const zmqPort = await freePort();
    indexer = await startIndexerProcess([
      '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--tokenizer-pool-size', '1',
      '--zmq-endpoint', `tcp://127.0.0.1:${zmqPort}`, '--hash-seed', '42', '--block-size', '16',
    ]);
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
    indexerURL: "${indexer.url}"
    tokenProcessorConfig: {blockSizeTokens: 16}
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
    // Slow joiners: a publisher's first batches may be lost until its connection is up, so warm every
    // simulator until the indexer scores each of them for its own warm-up prompt.
    for (const [i, sim] of sims.entries()) {
      const pod = hostPortOf(sim.urls[0] as string);
      const warm = [{ role: 'user', content: Array.from({ length: 40 }, (_, k) => `warm-up ${i} line ${k}`).join(' ') }];
      await waitUntil(async () => {
        await postJson(`${sim.urls[0]}/v1/chat/completions`, { model, messages: warm, max_tokens: 1 });
        return (await indexerScore(warm, pod)) > 0;
      }, `the indexer to hear from server ${i}`);
    }
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    await Promise.all(sims.map((s) => s.stop()));
    await indexer?.stop();
  });

  it('sends a returning conversation to the server the indexer says holds it', async () => {
    const proxy = `http://127.0.0.1:${router.ports.proxy}`;
    for (const [i, sim] of sims.entries()) {
      const pod = hostPortOf(sim.urls[0] as string);
      const first = opening(i);
      // The first turn reaches one server directly, so only its KV events tell where the prefix lives.
      const turn1 = await postJson(`${sim.urls[0]}/v1/chat/completions`, { model, messages: first, max_tokens: 8 });
      expect(turn1.status).toBe(200);
      const returning = [...first, { role: 'assistant', content: turn1.body.choices[0].message.content as string }, { role: 'user', content: 'One more thing?' }];
      await waitUntil(async () => (await indexerScore(first, pod)) >= 20, `server ${i}'s blocks in the remote index`);
      // Every other server is absent from the scores for this conversation.
      const { body: scored } = await postJson(`${indexer.url}/v1/scores`, { model, messages: returning });
      expect(Object.keys(scored.scores as Record<string, number>)).toEqual([pod]);

      const turn2 = await postJson(`${proxy}/v1/chat/completions`, { model, messages: returning, max_tokens: 4 });
      expect(turn2.status).toBe(200);
      expect(turn2.headers.get('x-gateway-destination-endpoint-served')).toBe(pod);
      expect(turn2.body.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(500);
    }
  }, 90_000);

  it('keeps routing when the indexer goes away: the scorer contributes nothing and requests still succeed', async () => {
    await indexer.stop();
    const proxy = `http://127.0.0.1:${router.ports.proxy}`;
    const res = await postJson(`${proxy}/v1/chat/completions`, { model, messages: opening(9), max_tokens: 2 });
    expect(res.status).toBe(200);
    expect(sims.map((s) => hostPortOf(s.urls[0] as string))).toContain(res.headers.get('x-gateway-destination-endpoint-served'));
  }, 60_000);
});
