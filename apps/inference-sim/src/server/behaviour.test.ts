import { describe, expect, it } from 'vitest';
import { metricValue, postJson, scrape, startTestSim, waitUntil } from '../test-support/harness.js';

const model = 'Qwen/Qwen3-0.6B';
const label = { model_name: model };
const slow = ['--latency-calculator', 'constant', '--time-to-first-token', '400ms', '--inter-token-latency', '40ms'];

describe('engine behaviour seen through the HTTP API and metrics', () => {
  it('a repeated prefix lowers TTFT and raises the prefix-cache hit counter', async () => {
    await using sim = await startTestSim();
    const prompt = Array.from({ length: 4000 }, (_, i) => 1000 + (i % 5000));
    const ttftSum = async () => metricValue(await scrape(sim.url), 'vllm:time_to_first_token_seconds_sum', label) ?? 0;
    const hits = async () => metricValue(await scrape(sim.url), 'vllm:prefix_cache_hits_total', label) ?? 0;

    const first = await postJson(`${sim.url}/v1/completions`, { model, prompt, max_tokens: 1 });
    expect(first.body.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const ttft1 = await ttftSum();
    const hits1 = await hits();
    expect(hits1).toBe(0);

    const second = await postJson(`${sim.url}/v1/completions`, { model, prompt, max_tokens: 1 });
    const ttft2 = (await ttftSum()) - ttft1;
    // All full blocks but the one holding the last prompt token are hits.
    expect(second.body.usage.prompt_tokens_details.cached_tokens).toBe(3984);
    expect((await hits()) - hits1).toBe(3984);
    expect(ttft2).toBeLessThan(ttft1 / 2);
    expect(metricValue(await scrape(sim.url), 'vllm:prefix_cache_queries_total', label)).toBe(8000);
  });

  it('running and waiting gauges match the applied load, and a full queue answers 429', async () => {
    await using sim = await startTestSim(['--max-num-seqs', '2', '--max-waiting-queue-length', '3', ...slow]);
    const controller = new AbortController();
    const inFlight = Array.from({ length: 5 }, () =>
      fetch(`${sim.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt: 'load', max_tokens: 50, ignore_eos: true }),
        signal: controller.signal,
      }).catch(() => null),
    );
    const engine = (sim.servers[0] as (typeof sim.servers)[number]).engine;
    await waitUntil(() => engine.snapshot().running === 2 && engine.snapshot().waiting === 3, '2 running and 3 waiting');
    const text = await scrape(sim.url);
    expect(metricValue(text, 'vllm:num_requests_running', label)).toBe(2);
    expect(metricValue(text, 'vllm:num_requests_waiting', label)).toBe(3);
    expect(metricValue(text, 'vllm:kv_cache_usage_perc', label)).toBeGreaterThan(0);

    const rejected = await postJson(`${sim.url}/v1/completions`, { model, prompt: 'one too many', max_tokens: 1 });
    expect(rejected.status).toBe(429);
    expect(rejected.body.error.type).toBe('RateLimitError');
    expect(rejected.body.error.message).toMatch(/waiting requests queue is full/);

    controller.abort();
    await Promise.all(inFlight);
    await waitUntil(() => engine.snapshot().running === 0 && engine.snapshot().waiting === 0, 'aborted requests to leave');
    const after = await scrape(sim.url);
    expect(metricValue(after, 'vllm:num_requests_running', label)).toBe(0);
    expect(metricValue(after, 'vllm:kv_cache_usage_perc', label)).toBe(0);
  });

  it('runs both P/D legs through kv_transfer_params', async () => {
    await using sim = await startTestSim(['--kv-cache-transfer-latency', '30ms']);
    const prompt = Array.from({ length: 300 }, (_, i) => 2000 + i);
    const prefill = await postJson(`${sim.url}/v1/completions`, {
      model,
      prompt,
      max_tokens: 1,
      kv_transfer_params: { do_remote_decode: true, do_remote_prefill: false },
    });
    expect(prefill.status).toBe(200);
    expect(prefill.body.choices[0].finish_reason).toBe('remote_decode');
    expect(prefill.body.usage.completion_tokens).toBe(1);
    const params = prefill.body.kv_transfer_params;
    expect(params).toMatchObject({ do_remote_decode: false, do_remote_prefill: true, remote_port: sim.servers[0]?.port, tp_size: 1 });
    expect(params.remote_block_ids).toHaveLength(Math.ceil(300 / 16));

    const decode = await postJson(`${sim.url}/v1/completions`, { model, prompt, max_tokens: 12, ignore_eos: true, kv_transfer_params: params });
    expect(decode.status).toBe(200);
    expect(decode.body.usage.completion_tokens).toBe(12);
    expect(decode.body.choices[0].finish_reason).toBe('length');
    expect(decode.body.kv_transfer_params).toBeNull();
    // Both legs ran on one server: the decode leg found the prefill's 18 full blocks in the local
    // prefix cache and took only the remaining 12 prompt tokens by KV transfer.
    const text = await scrape(sim.url);
    expect(metricValue(text, 'vllm:external_prefix_cache_hits_total', label)).toBe(300 - 18 * 16);
    expect(metricValue(text, 'vllm:external_prefix_cache_queries_total', label)).toBe(600);
  });

  it('keeps at most max-loras adapters in the running batch', async () => {
    await using sim = await startTestSim(['--max-loras', '1', '--lora-modules', 'A=/a', 'B=/b', ...slow]);
    const engine = (sim.servers[0] as (typeof sim.servers)[number]).engine;
    const send = (m: string) => postJson(`${sim.url}/v1/completions`, { model: m, prompt: 'adapter', max_tokens: 3, ignore_eos: true });
    const a1 = send('A');
    await waitUntil(() => engine.snapshot().running === 1, 'A to run');
    const b = send('B');
    await waitUntil(() => engine.snapshot().waiting === 1, 'B to wait');
    const a2 = send('A');
    // A second request for the adapter already in the batch runs; B keeps waiting behind it.
    await waitUntil(() => engine.snapshot().running === 2, 'the second A request to join the batch');
    expect(engine.snapshot()).toMatchObject({ runningLoras: ['A'], waitingLoras: ['B'] });
    const info = (await scrape(sim.url)).split('\n').find((l) => l.startsWith('vllm:lora_requests_info{'));
    expect(info).toContain('max_lora="1"');
    expect(info).toContain('running_lora_adapters="A"');
    expect(info).toContain('waiting_lora_adapters="B"');
    const results = await Promise.all([a1, b, a2]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('loads and unloads adapters at run time', async () => {
    await using sim = await startTestSim();
    expect((await postJson(`${sim.url}/v1/completions`, { model: 'Bob', prompt: 'x', max_tokens: 1 })).status).toBe(404);
    const load = await postJson(`${sim.url}/v1/load_lora_adapter`, { lora_name: 'Bob', lora_path: '/adapters/bob' });
    expect(load.status).toBe(200);
    expect((await postJson(`${sim.url}/v1/completions`, { model: 'Bob', prompt: 'x', max_tokens: 1 })).status).toBe(200);
    expect((await postJson(`${sim.url}/v1/load_lora_adapter`, { lora_name: 'Bob', lora_path: '/adapters/bob' })).status).toBe(400);
    expect((await postJson(`${sim.url}/v1/unload_lora_adapter`, { lora_name: 'Bob' })).status).toBe(200);
    expect((await postJson(`${sim.url}/v1/unload_lora_adapter`, { lora_name: 'Bob' })).status).toBe(404);
    expect((await postJson(`${sim.url}/v1/completions`, { model: 'Bob', prompt: 'x', max_tokens: 1 })).status).toBe(404);
  });

  it('serves several independent servers on consecutive ports', async () => {
    await using sim = await startTestSim(['--data-parallel-size', '3']);
    expect(sim.servers).toHaveLength(3);
    for (const url of sim.urls) expect((await fetch(`${url}/health`)).status).toBe(200);
    await postJson(`${sim.urls[1]}/v1/completions`, { model, prompt: 'only the second', max_tokens: 2 });
    const counts = await Promise.all(sim.urls.map(async (u) => metricValue(await scrape(u), 'vllm:request_success_total', { ...label, finish_reason: 'stop' }) ?? metricValue(await scrape(u), 'vllm:request_success_total', { ...label, finish_reason: 'length' }) ?? 0));
    expect(counts).toEqual([0, 1, 0]);
    expect(metricValue(await scrape(sim.urls[0] as string), 'vllm:cache_config_info', { block_size: '16' })).toBe(1);
  });
});
