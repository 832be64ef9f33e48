// The sidecar in front of real simulators (child processes), each leg observed through a
// transparent recorder: what the prefill and decode legs carry, pass-through byte for byte, SSRF
// protection, retries across prefill targets, clean errors, client aborts.
import { metricValue, scrapeMetrics, startSimProcess, waitUntil, type SimProcess } from '@llmd/testing';
import OpenAI, { APIError, PermissionDeniedError } from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, simMetric, type TestSidecar } from './test-support/harness.js';
import { closedPort, writeEndpointsFile } from './test-support/processes.js';
import { startRecorder, type RecordedExchange, type Recorder } from './test-support/recorder.js';

const model = 'Qwen/Qwen3-0.6B';
const simArgs = (seed: number) => ['--model', model, '--preset', 'qwen3-0.6b/h100', '--mode', 'echo', '--seed', String(seed)];
const label = { model_name: model };
const hostPort = (url: string) => url.replace(/^https?:\/\//, '');
const PREFILL_LEG = { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A prompt of its own per test, so no prefix cache carries over between tests. */
const prompt = (tag: string, words = 60) => Array.from({ length: words }, (_, i) => `${tag}${i % 7 === 0 ? '.' : ''}word${i}`).join(' ');
const remoteDecodes = (url: string) => simMetric(url, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' });
const last = (r: Recorder): RecordedExchange => r.exchanges[r.exchanges.length - 1] as RecordedExchange;

describe('pd-sidecar in front of simulated model servers', () => {
  let decode: SimProcess, p1: SimProcess, p2: SimProcess, failing: SimProcess;
  let recDecode: Recorder, recP1: Recorder;
  let sidecar: TestSidecar;
  let dead: string;
  let client: OpenAI;

  beforeAll(async () => {
    [decode, p1, p2, failing] = await Promise.all([
      startSimProcess(simArgs(1)),
      startSimProcess(simArgs(2)),
      startSimProcess(simArgs(3)),
      startSimProcess([...simArgs(4), '--failure-injection-rate', '100', '--failure-types', 'server_error']),
    ]);
    recDecode = await startRecorder(decode.urls[0] as string);
    recP1 = await startRecorder(p1.urls[0] as string);
    dead = `127.0.0.1:${await closedPort()}`;
    sidecar = await startTestSidecar(recDecode.port, [
      '--enable-ssrf-protection',
      '--prefill-allowlist', `${recP1.hostPort},${hostPort(p2.urls[0] as string)},${hostPort(failing.urls[0] as string)},${dead}`,
      '--prefill-max-retries', '2',
      '--prefill-retry-backoff', '10ms',
    ]);
    client = new OpenAI({ baseURL: `${sidecar.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await sidecar?.close();
    await Promise.all([recDecode?.close(), recP1?.close()]);
    await Promise.all([decode, p1, p2, failing].map((s) => s?.stop()));
  });

  it('answers /health itself and passes other paths (models, metrics) to the model server', async () => {
    const health = await fetch(`${sidecar.url}/health`);
    expect(health.status).toBe(200);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(model);
    const metrics = await scrapeMetrics(sidecar.url);
    expect(metricValue(metrics, 'vllm:num_requests_running', label)).toBe(0);
    expect(last(recDecode).url).toBe('/metrics');
  });

  it('streams a request without a prefill target straight to the model server, byte for byte both ways', async () => {
    const before = recP1.exchanges.length;
    const body = JSON.stringify({ model, prompt: prompt('pass'), max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    const res = await request(`${sidecar.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'pass-1' }, body });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const received = Buffer.from(await res.body.arrayBuffer());
    const exchange = last(recDecode);
    expect(exchange.body.toString('utf8')).toBe(body);
    expect(exchange.headers['x-request-id']).toBe('pass-1');
    expect(received.equals(Buffer.concat(exchange.response))).toBe(true);
    expect(received.toString('utf8')).toContain('data: [DONE]');
    expect(recP1.exchanges.length).toBe(before);
  });

  it('runs a completion as a prefill leg on the named pod and a decode leg on the local server', async () => {
    const text = prompt('cmpl');
    const expected = await new OpenAI({ baseURL: `${p2.urls[0]}/v1`, apiKey: 'unused', maxRetries: 0 }).completions.create({ model, prompt: text, max_tokens: 10 });
    const remoteBefore = await remoteDecodes(p1.urls[0] as string);
    const externalBefore = await simMetric(decode.urls[0] as string, 'vllm:external_prefix_cache_hits_total', label);

    const answer = await client.completions.create({ model, prompt: text, max_tokens: 10 }, { headers: { 'x-prefiller-host-port': recP1.hostPort, 'x-request-id': 'pd-cmpl-1' } });
    expect(answer.choices[0]?.text).toBe(expected.choices[0]?.text);
    expect(answer.choices[0]?.finish_reason).toBe('length');
    expect(answer.usage?.completion_tokens).toBe(10);

    const prefill = last(recP1);
    expect(prefill.url).toBe('/v1/completions');
    expect(prefill.json).toMatchObject({ model, prompt: text, max_tokens: 1, stream: false, kv_transfer_params: PREFILL_LEG });
    expect(prefill.json).not.toHaveProperty('stream_options');
    expect(prefill.headers['x-request-id']).toBe('pd-cmpl-1');
    expect(prefill.headers['x-prefiller-host-port']).toBeUndefined();
    const returned = (JSON.parse(Buffer.concat(prefill.response).toString('utf8')) as { kv_transfer_params: unknown }).kv_transfer_params;
    expect(returned).toMatchObject({ do_remote_prefill: true, do_remote_decode: false, remote_port: Number(new URL(p1.urls[0] as string).port) });

    const decodeLeg = last(recDecode);
    expect(decodeLeg.json).toEqual({ model, prompt: text, max_tokens: 10, kv_transfer_params: returned });
    expect(decodeLeg.headers['x-request-id']).toBe('pd-cmpl-1');
    expect(decodeLeg.headers['x-prefiller-host-port']).toBeUndefined();

    expect(await remoteDecodes(p1.urls[0] as string)).toBe(remoteBefore + 1);
    // The decode server received the whole prompt by KV transfer instead of computing it.
    expect(await simMetric(decode.urls[0] as string, 'vllm:external_prefix_cache_hits_total', label)).toBe(externalBefore + (answer.usage?.prompt_tokens ?? -1));
  });

  it('streams a chat completion: the decode leg gets the client’s stream settings back and both legs one generated request id', async () => {
    const content = prompt('chat');
    const stream = await client.chat.completions.create(
      { model, messages: [{ role: 'user', content }], max_completion_tokens: 6, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-prefiller-host-port': recP1.hostPort } },
    );
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage?.completion_tokens).toBe(6);
    expect(finish).toBe('length');
    expect(text.length).toBeGreaterThan(0);
    expect(content.startsWith(text)).toBe(true); // echo mode: the first tokens of the message

    const prefill = last(recP1);
    expect(prefill.url).toBe('/v1/chat/completions');
    expect(prefill.json).toMatchObject({ stream: false, max_tokens: 1, max_completion_tokens: 1, kv_transfer_params: PREFILL_LEG });
    expect(prefill.json).not.toHaveProperty('stream_options');
    const decodeLeg = last(recDecode);
    expect(decodeLeg.json).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_completion_tokens: 6, kv_transfer_params: { do_remote_prefill: true } });
    expect(decodeLeg.json).not.toHaveProperty('max_tokens');
    const id = prefill.headers['x-request-id'];
    expect(id).toMatch(UUID);
    expect(decodeLeg.headers['x-request-id']).toBe(id);
  });

  it('refuses a prefill target outside the allowlist with 403 and contacts no one', async () => {
    const [pBefore, dBefore] = [recP1.exchanges.length, recDecode.exchanges.length];
    const err = await client.completions
      .create({ model, prompt: prompt('ssrf'), max_tokens: 4 }, { headers: { 'x-prefiller-host-port': '169.254.169.254:80' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as APIError).status).toBe(403);
    expect((err as APIError).code).toBe('prefill_target_forbidden');
    expect((err as APIError).message).toContain('169.254.169.254:80');
    expect([recP1.exchanges.length, recDecode.exchanges.length]).toEqual([pBefore, dBefore]);
  });

  it('retries the prefill leg on the next listed target when the first refuses the connection', async () => {
    const before = await remoteDecodes(p2.urls[0] as string);
    const answer = await client.completions.create({ model, prompt: prompt('retry'), max_tokens: 5 }, { headers: { 'x-prefiller-host-port': `${dead},${hostPort(p2.urls[0] as string)}` } });
    expect(answer.usage?.completion_tokens).toBe(5);
    expect(await remoteDecodes(p2.urls[0] as string)).toBe(before + 1);
  });

  it('retries a prefill answered with 503 on the next target', async () => {
    const before = await remoteDecodes(p2.urls[0] as string);
    const answer = await client.completions.create(
      { model, prompt: prompt('busy'), max_tokens: 5 },
      { headers: { 'x-prefiller-host-port': `${hostPort(failing.urls[0] as string)}, ${hostPort(p2.urls[0] as string)}` } },
    );
    expect(answer.usage?.completion_tokens).toBe(5);
    expect(await remoteDecodes(p2.urls[0] as string)).toBe(before + 1);
  });

  it('reports a prefill target that never answers as a clean 502 naming it, after the bounded retries', async () => {
    const dBefore = recDecode.exchanges.length;
    const err = await client.completions.create({ model, prompt: prompt('down'), max_tokens: 4 }, { headers: { 'x-prefiller-host-port': dead } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    expect((err as APIError).code).toBe('prefill_failed');
    expect((err as APIError).message).toContain(dead);
    expect((err as APIError).message).toContain('3 attempts');
    expect(recDecode.exchanges.length).toBe(dBefore);
  });

  it('passes the prefiller’s own error through when every attempt fails with it', async () => {
    const err = await client.completions
      .create({ model, prompt: prompt('fail'), max_tokens: 4 }, { headers: { 'x-prefiller-host-port': hostPort(failing.urls[0] as string) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(503);
    expect((err as APIError).type).toBe('InternalServerError');
  });

  it('answers 400 for a prefill header that is not host:port and for a body that is not JSON', async () => {
    const bad = await request(`${sidecar.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-prefiller-host-port': 'not a host' },
      body: JSON.stringify({ model, prompt: 'x' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const notJson = await request(`${sidecar.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-prefiller-host-port': recP1.hostPort }, body: '{"model": ' });
    expect(notJson.statusCode).toBe(400);
    expect(((await notJson.body.json()) as { error: { message: string } }).error.message).toContain('not a JSON object');
  });

  it('stops the decode leg on the model server when the client goes away mid-stream', async () => {
    const url = decode.urls[0] as string;
    const abortedBefore = await simMetric(url, 'vllm:request_success_total', { ...label, finish_reason: 'abort' });
    const controller = new AbortController();
    const stream = await client.completions.create(
      { model, prompt: prompt('abort', 1000), max_tokens: 2000, stream: true },
      { headers: { 'x-prefiller-host-port': recP1.hostPort }, signal: controller.signal },
    );
    for await (const chunk of stream) {
      if ((chunk.choices[0]?.text ?? '') !== '') break; // leaving the loop aborts the stream
    }
    controller.abort();
    await waitUntil(async () => (await simMetric(url, 'vllm:request_success_total', { ...label, finish_reason: 'abort' })) === abortedBefore + 1, 'the decode leg to be aborted');
    await waitUntil(async () => (await simMetric(url, 'vllm:num_requests_running', label)) === 0, 'the decode server to go idle');
  });

  it('counts requests, disaggregations and stage errors on its own metrics port', async () => {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
    const disagg = metricValue(text, 'llm_d_disagg_sidecar_disagg_requests_total', { connector: 'nixlv2' }) ?? 0;
    // cmpl, chat, retry, busy, down, fail, abort (the 403, the 400 and the pass-through are not disaggregated).
    expect(disagg).toBe(7);
    expect(metricValue(text, 'llm_d_disagg_sidecar_request_errors_total', { connector: 'nixlv2', stage: 'prefill' })).toBe(2);
    expect(metricValue(text, 'llm_d_disagg_sidecar_requests_total', { api_type: 'chat_completions' })).toBe(1);
    expect(metricValue(text, 'llm_d_disagg_sidecar_prefill_duration_seconds_count', { connector: 'nixlv2' })).toBe(7);
  });
});

describe('pd-sidecar prefill target choice', () => {
  let decode: SimProcess, p1: SimProcess, p2: SimProcess;

  beforeAll(async () => {
    [decode, p1, p2] = await Promise.all([startSimProcess(simArgs(11)), startSimProcess(simArgs(12)), startSimProcess(simArgs(13))]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([decode, p1, p2].map((s) => s?.stop()));
  });

  it('starts from a random listed target with --enable-prefiller-sampling', async () => {
    await using sidecar = await startTestSidecar(Number(new URL(decode.urls[0] as string).port), ['--enable-prefiller-sampling'], { random: () => 0.99 });
    const client = new OpenAI({ baseURL: `${sidecar.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const [b1, b2] = [await remoteDecodes(p1.urls[0] as string), await remoteDecodes(p2.urls[0] as string)];
    await client.completions.create({ model, prompt: prompt('sample'), max_tokens: 3 }, { headers: { 'x-prefiller-host-port': `${hostPort(p1.urls[0] as string)},${hostPort(p2.urls[0] as string)}` } });
    expect([await remoteDecodes(p1.urls[0] as string), await remoteDecodes(p2.urls[0] as string)]).toEqual([b1, b2 + 1]);
  });

  it('answers 413 for a disaggregated body over the limit and serves the next request', async () => {
    await using sidecar = await startTestSidecar(Number(new URL(decode.urls[0] as string).port), [], { maxBodyBytes: 4096 });
    const agent = new Agent({ pipelining: 1, connections: 1 });
    const send = (promptText: string) =>
      request(`${sidecar.url}/v1/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-prefiller-host-port': hostPort(p1.urls[0] as string) },
        body: JSON.stringify({ model, prompt: promptText, max_tokens: 2 }),
      });
    const big = await send('x'.repeat(64 * 1024));
    expect(big.statusCode).toBe(413);
    expect(((await big.body.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    const small = await send(prompt('small'));
    expect(small.statusCode).toBe(200);
    await small.body.dump();
    await agent.close();
  });

  it('follows changes of the allowlist file', async () => {
    const file = writeEndpointsFile([{ name: 'p1', hostPort: hostPort(p1.urls[0] as string), labels: { 'llm-d.ai/role': 'prefill' } }]);
    await using sidecar = await startTestSidecar(Number(new URL(decode.urls[0] as string).port), ['--enable-ssrf-protection', '--prefill-allowlist-file', file]);
    const client = new OpenAI({ baseURL: `${sidecar.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const send = (target: string) =>
      client.completions.create({ model, prompt: prompt('file'), max_tokens: 2 }, { headers: { 'x-prefiller-host-port': hostPort(target) } }).then(
        () => 200,
        (e: APIError) => e.status,
      );
    expect(await send(p1.urls[0] as string)).toBe(200);
    expect(await send(p2.urls[0] as string)).toBe(403);
    writeEndpointsFile([{ name: 'p2', hostPort: hostPort(p2.urls[0] as string) }], file);
    const p2Target = { host: '127.0.0.1', port: Number(new URL(p2.urls[0] as string).port) };
    await waitUntil(() => sidecar.allowlist.isAllowed(p2Target), 'the allowlist file to be reloaded');
    expect(await send(p2.urls[0] as string)).toBe(200);
    expect(await send(p1.urls[0] as string)).toBe(403);
  });
});
