// Session affinity and LoRA-aware routing end to end: the standalone proxy in front of simulated
// servers (real processes), the official openai client.
import { startSimProcess, waitUntil, type SimProcess } from '@llmd/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const model = 'Qwen/Qwen3-0.6B';
const SERVED = 'x-gateway-destination-endpoint-served';
const hostPortOf = (url: string) => url.replace(/^http:\/\//, '');
const clientOf = (router: RunningRouter) => new OpenAI({ baseURL: `http://127.0.0.1:${router.ports.proxy}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const constantLatency = (ttft: string, itl: string) => ['--latency-calculator', 'constant', '--time-to-first-token', ttft, '--inter-token-latency', itl, '--time-to-first-token-std-dev', '0', '--inter-token-latency-std-dev', '0'];

describe('session affinity through x-session-token', () => {
  let sims: SimProcess;
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    sims = await startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', '1', '--data-parallel-size', '3', ...constantLatency('2ms', '1ms')]);
    const config = `
plugins:
- type: session-affinity-scorer
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: session-affinity-scorer, weight: 10}, {pluginRef: queue-scorer}]
`;
    router = await startTestRouter(['--config-text', config, '--endpoints-file', writeEndpointsFile(sims.urls.map(hostPortOf)), '--proxy-port', '0']);
    client = clientOf(router);
  }, 120_000);
  afterAll(async () => {
    await router?.close();
    await sims?.stop();
  });

  const ask = (token?: string) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Where was I?' }], max_tokens: 2 }, token ? { headers: { 'x-session-token': token } } : {}).withResponse();

  it('hands out a token naming the serving endpoint and keeps every request that returns it there', async () => {
    const first = await ask();
    const token = first.response.headers.get('x-session-token') as string;
    const home = first.response.headers.get(SERVED) as string;
    const id = `default/ep-${sims.urls.map(hostPortOf).indexOf(home)}`;
    expect(Buffer.from(token, 'base64').toString('utf8')).toBe(id);
    const served = await Promise.all(Array.from({ length: 12 }, async () => (await ask(token)).response.headers.get(SERVED)));
    expect(new Set(served)).toEqual(new Set([home]));
  });

  it('follows a token to another endpoint, and spreads requests that carry no valid token', async () => {
    const other = sims.urls.map(hostPortOf)[2] as string;
    const moved = await Promise.all(Array.from({ length: 6 }, async () => (await ask(Buffer.from('default/ep-2').toString('base64'))).response));
    expect(moved.map((r) => r.headers.get(SERVED))).toEqual(Array(6).fill(other));
    expect(moved.every((r) => r.headers.get('x-session-token') === Buffer.from('default/ep-2').toString('base64'))).toBe(true);
    // A tampered token matches nothing: the request is still served, by whichever endpoint wins.
    const spread = new Set<string | null>();
    for (let i = 0; i < 24; i++) spread.add((await ask('not base64!')).response.headers.get(SERVED));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('LoRA-aware routing across adapters', () => {
  let sims: SimProcess;
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    // Two servers, both able to load both adapters, one adapter in a batch at a time (--max-loras 1):
    // an adapter request sent where another adapter runs would wait for it to drain.
    sims = await startSimProcess([
      '--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', '2', '--data-parallel-size', '2',
      '--lora-modules', 'sql-lora=/adapters/sql', 'chat-lora=/adapters/chat', '--max-loras', '1', ...constantLatency('20ms', '20ms'),
    ]);
    const config = `
plugins:
- type: lora-affinity-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: lora-affinity-scorer}]
`;
    router = await startTestRouter(['--config-text', config, '--endpoints-file', writeEndpointsFile(sims.urls.map(hostPortOf)), '--proxy-port', '0']);
    client = clientOf(router);
  }, 120_000);
  afterAll(async () => {
    await router?.close();
    await sims?.stop();
  });

  /** A long streamed request that keeps `adapter` active on its endpoint; resolves with that endpoint once streaming starts. */
  async function hold(adapter: string): Promise<{ endpoint: string; done: Promise<void> }> {
    const params = { model: adapter, prompt: 'keep the adapter busy', max_tokens: 250, ignore_eos: true, stream: true } as OpenAI.CompletionCreateParamsStreaming;
    const { data, response } = await client.completions.create(params).withResponse();
    const done = (async () => {
      for await (const _chunk of data) {
        // drain
      }
    })();
    return { endpoint: response.headers.get(SERVED) as string, done };
  }

  const activeOn = (adapter: string) => router.datastore.endpoints().find((e) => e.metrics.activeModels.has(adapter))?.metadata.hostPort;

  it('sends each adapter to the endpoint that has it loaded, and a new adapter to the endpoint with room', async () => {
    const sql = await hold('sql-lora');
    await waitUntil(() => activeOn('sql-lora') === sql.endpoint, 'the router to see sql-lora active');
    // The sql-lora endpoint has no room for a second adapter: chat-lora goes to the other one.
    const chat = await hold('chat-lora');
    expect(chat.endpoint).not.toBe(sql.endpoint);
    await waitUntil(() => activeOn('chat-lora') === chat.endpoint, 'the router to see chat-lora active');

    const served = await Promise.all(
      ['sql-lora', 'chat-lora'].flatMap((adapter) =>
        Array.from({ length: 8 }, async () => {
          const { response } = await client.completions.create({ model: adapter, prompt: 'which server?', max_tokens: 2 }).withResponse();
          return `${adapter}@${response.headers.get(SERVED)}`;
        }),
      ),
    );
    expect(new Set(served)).toEqual(new Set([`sql-lora@${sql.endpoint}`, `chat-lora@${chat.endpoint}`]));
    await Promise.all([sql.done, chat.done]);
  }, 60_000);
});
