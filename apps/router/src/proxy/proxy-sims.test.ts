import { metricValue, scrapeMetrics, startSimProcess, type SimProcess } from '@llmd/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../app.js';
import { writeEndpointsFile } from '../test-support/fake-vllm.js';
import { startTestRouter } from '../test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const SERVED = 'x-gateway-destination-endpoint-served';
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');

// A long shared system prompt: the conversation prefix every request of one "session" repeats.
const PREFIX = Array.from({ length: 120 }, (_, i) => `Rule ${i}: answer precisely, cite the source, and keep the format of section ${i % 7}.`).join(' ');

describe('standalone proxy in front of four simulated servers', () => {
  let sims: SimProcess[] = [];
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    sims = await Promise.all([0, 1, 2, 3].map((i) => startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', String(i)])));
    const file = writeEndpointsFile(sims.map((s) => hostPortOf(s.urls[0] as string)));
    router = await startTestRouter(['--endpoints-file', file, '--proxy-port', '0']);
    client = new OpenAI({ baseURL: `http://127.0.0.1:${router.ports.proxy}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('completes with the unmodified openai client and says which endpoint served it', async () => {
    const { data, response } = await client.completions.create({ model, prompt: 'Hello through the router', max_tokens: 8 }).withResponse();
    expect(data.choices[0]?.text.length).toBeGreaterThan(0);
    expect(sims.map((s) => hostPortOf(s.urls[0] as string))).toContain(response.headers.get(SERVED));
  });

  it('streams chat completions through without buffering and reads usage', async () => {
    // ignore_eos is a vLLM extension the openai types do not know.
    const params = { model, messages: [{ role: 'user', content: 'Stream through the router' }], max_tokens: 12, stream: true, stream_options: { include_usage: true }, ignore_eos: true };
    const stream = (await client.chat.completions.create(params as OpenAI.ChatCompletionCreateParamsStreaming)) as AsyncIterable<OpenAI.ChatCompletionChunk>;
    let content = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      content += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(content.length).toBeGreaterThan(0);
    expect(chunks).toBeGreaterThanOrEqual(12);
    expect(usage?.completion_tokens).toBe(12);
    const text = await router.metrics.registry.metrics();
    expect(metricValue(text, 'llm_d_epp_request_output_tokens_sum', { model_name: model })).toBeGreaterThanOrEqual(12);
  });

  it('keeps requests that share a long prefix on the endpoint holding it, and routes around it once it is killed', async () => {
    const served: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { response } = await client.chat.completions
        .create({ model, messages: [{ role: 'system', content: PREFIX }, { role: 'user', content: `Question number ${i}?` }], max_tokens: 4 })
        .withResponse();
      served.push(response.headers.get(SERVED) as string);
    }
    expect(new Set(served).size).toBe(1);
    const sticky = served[0] as string;
    const stickySim = sims.find((s) => hostPortOf(s.urls[0] as string) === sticky) as SimProcess;
    const hits = await Promise.all(sims.map(async (s) => metricValue(await scrapeMetrics(s.urls[0] as string), 'vllm:prefix_cache_hits_total', { model_name: model }) ?? 0));
    // Seven of the eight requests found the prefix cached on the sticky endpoint.
    expect(hits[sims.indexOf(stickySim)]).toBeGreaterThanOrEqual(7 * 1000);

    await stickySim.stop();
    const after = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const { data, response } = await client.chat.completions
          .create({ model, messages: [{ role: 'system', content: PREFIX }, { role: 'user', content: `After the failure ${i}?` }], max_tokens: 4 })
          .withResponse();
        return { ok: data.choices.length === 1, served: response.headers.get(SERVED) };
      }),
    );
    expect(after.every((r) => r.ok)).toBe(true);
    expect(after.map((r) => r.served)).not.toContain(sticky);
  }, 60_000);
});
