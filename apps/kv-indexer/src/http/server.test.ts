import { TokenizerError } from '@llmd/tokenizer';
import { metricValue } from '@llmd/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { IndexerMetrics, NO_INGEST } from '../metrics.js';
import { fakeScoring } from '../test-support/fakes.js';
import { createHttpServer } from './server.js';

describe('HTTP API', () => {
  let fakes: ReturnType<typeof fakeScoring>;
  let app: FastifyInstance;

  beforeEach(() => {
    fakes = fakeScoring();
    app = createHttpServer({ scoring: fakes.scoring, metrics: fakes.metrics, logger: fakes.logger });
  });
  afterEach(async () => {
    await app.close();
  });

  const post = (payload: unknown) =>
    app.inject({ method: 'POST', url: '/v1/scores', headers: { 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  it('scores token ids as given, best first, passing the pod filter and the LoRA name on', async () => {
    fakes.scorer.scores = new Map([['10.0.0.2:8000', 3], ['10.0.0.1:8000', 7.5], ['10.0.0.3:8000', 3]]);
    const res = await post({ model: 'm', token_ids: [1, 2, 3], pods: ['10.0.0.1:8000'], lora_name: 'Alice' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('{"scores":{"10.0.0.1:8000":7.5,"10.0.0.2:8000":3,"10.0.0.3:8000":3},"total_blocks":0}');
    expect(fakes.scorer.calls).toEqual([{ tokens: [1, 2, 3], model: 'm', pods: ['10.0.0.1:8000'], loraName: 'Alice' }]);
  });

  it('tokenizes a prompt for the model and answers {} when no endpoint holds the first block', async () => {
    const res = await post({ model: 'Qwen/Qwen3-0.6B', prompt: 'hi' });
    expect(res.json()).toEqual({ scores: {}, total_blocks: 0 });
    expect(fakes.scorer.calls[0]).toMatchObject({ tokens: [104, 105], model: 'Qwen/Qwen3-0.6B', pods: undefined, loraName: null });
  });

  it('renders messages through the chat template with tools and template kwargs', async () => {
    const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }, { role: 'assistant' }];
    const tools = [{ type: 'function', function: { name: 'f' } }];
    await post({ model: 'm', messages, tools, chat_template_kwargs: { enable_thinking: false } });
    expect(fakes.tokens.chats).toEqual([
      {
        model: 'm',
        messages: [messages[0], messages[1], { role: 'assistant', content: null }],
        options: { tools, chatTemplateKwargs: { enable_thinking: false } },
      },
    ]);
    expect(fakes.scorer.calls[0]?.tokens).toEqual([3, 0]);
  });

  it.each([
    ['no model', { prompt: 'x' }, 'model'],
    ['an empty model', { model: '', prompt: 'x' }, 'model'],
    ['no input', { model: 'm' }, 'prompt'],
    ['two inputs', { model: 'm', prompt: 'x', token_ids: [1] }, 'prompt'],
    ['three inputs', { model: 'm', token_ids: [1], prompt: 'x', messages: [{ role: 'user', content: 'x' }] }, 'prompt'],
    ['a negative token id', { model: 'm', token_ids: [1, -1] }, 'token_ids.1'],
    ['a fractional token id', { model: 'm', token_ids: [1.5] }, 'token_ids.0'],
    ['a string token id', { model: 'm', token_ids: ['1'] }, 'token_ids.0'],
    ['a token id beyond uint32', { model: 'm', token_ids: [2 ** 32] }, 'token_ids.0'],
    ['a number prompt', { model: 'm', prompt: 5 }, 'prompt'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['a message without role', { model: 'm', messages: [{ content: 'x' }] }, 'messages.0.role'],
    ['pods not a list', { model: 'm', prompt: 'x', pods: 'a:1' }, 'pods'],
    ['an empty pod', { model: 'm', prompt: 'x', pods: [''] }, 'pods.0'],
    ['a number lora_name', { model: 'm', prompt: 'x', lora_name: 1 }, 'lora_name'],
    ['tools without messages', { model: 'm', prompt: 'x', tools: [] }, 'tools'],
    ['an unknown field', { model: 'm', prompt: 'x', tokens: [1] }, null],
    ['a list body', [1], null],
  ])('answers 400 for %s, naming the field', async (_label, body, param) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'BadRequestError', code: 'invalid_request', param });
    if (param !== null) expect(error.message).toContain(param);
    if (_label === 'an unknown field') expect(error.message).toContain('tokens');
    expect(fakes.scorer.calls).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"model": "m", ', 400],
    ['an empty body', '', 400],
  ])('answers %s with an OpenAI error body', async (_label, raw, status) => {
    const res = await post(raw);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', param: 'body' });
  });

  it('answers a body of another content type with 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/scores', headers: { 'content-type': 'application/xml' }, payload: '<x/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('invalid_request');
  });

  it.each([
    ['a template error', 400, 'chat_template_error', new TokenizerError('CHAT_TEMPLATE_ERROR', 'raise_exception: no system role')],
    ['a tokenizer without template', 400, 'chat_template_error', new TokenizerError('CHAT_TEMPLATE_MISSING', 'no chat template')],
    ['a dead worker', 503, 'tokenizer_unavailable', new TokenizerError('WORKER_FAILED', 'worker exited')],
    ['a bug', 500, 'internal', new TypeError('x is undefined')],
  ])('maps %s while tokenizing to %i %s', async (_label, status, code, failure) => {
    fakes.tokens.failure = failure;
    const res = await post({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    if (code === 'internal') expect(res.json().error.message).not.toContain('undefined');
  });

  it.each([
    ['redis', 503, 'index_unavailable'],
    ['memory', 500, 'internal'],
  ])('maps a lookup failure of the %s backend to %i %s', async (backend, status, code) => {
    fakes = fakeScoring(backend);
    await app.close();
    app = createHttpServer({ scoring: fakes.scoring, metrics: fakes.metrics, logger: fakes.logger });
    fakes.scorer.failure = new Error('ECONNREFUSED');
    const res = await post({ model: 'm', token_ids: [1] });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('answers GET /health with 200 and unknown routes with 404', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const res = await app.inject({ method: 'GET', url: '/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.type).toBe('NotFoundError');
  });

  it('still serves metrics when the index cannot report its size', async () => {
    const failing = fakeScoring();
    const metrics = new IndexerMetrics({ indexStats: () => Promise.reject(new Error('redis down')), prefixCacheStats: () => ({ hits: 0, misses: 0, reusedTokens: 0, entries: 0, tokens: 0 }), ingestStats: () => NO_INGEST });
    const other = createHttpServer({ scoring: failing.scoring, metrics, logger: failing.logger });
    try {
      const res = await other.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('llm_d_kv_indexer_index_blocks');
    } finally {
      await other.close();
    }
  });

  it('serves metrics: request results, latencies and the live index and cache figures', async () => {
    await post({ model: 'm', prompt: 'abc' });
    await post({ model: 'm' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toContain('text/plain');
    const samples = res.body;
    expect(metricValue(samples, 'llm_d_kv_indexer_score_requests_total', { api: 'http', code: 'ok' })).toBe(1);
    expect(metricValue(samples, 'llm_d_kv_indexer_score_requests_total', { api: 'http', code: 'invalid_request' })).toBe(1);
    expect(metricValue(samples, 'llm_d_kv_indexer_tokenization_duration_seconds_count', { kind: 'prompt' })).toBe(1);
    expect(metricValue(samples, 'llm_d_kv_indexer_lookup_duration_seconds_count', { backend: 'memory' })).toBe(1);
    expect(metricValue(samples, 'llm_d_kv_indexer_index_blocks')).toBe(7);
    expect(metricValue(samples, 'llm_d_kv_indexer_index_entries')).toBe(9);
    expect(metricValue(samples, 'llm_d_kv_indexer_prefix_cache_segments_total', { result: 'hit' })).toBe(3);
    expect(metricValue(samples, 'llm_d_kv_indexer_prefix_cache_segments_total', { result: 'miss' })).toBe(4);
    expect(metricValue(samples, 'llm_d_kv_indexer_prefix_cache_reused_tokens_total')).toBe(5);
  });
});
