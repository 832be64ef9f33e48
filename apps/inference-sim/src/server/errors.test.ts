import { describe, expect, it } from 'vitest';
import { FAILURE_TYPES } from '../options.js';
import { postJson, startTestSim } from '../test-support/harness.js';

const model = 'Qwen/Qwen3-0.6B';

describe('bad input gets an OpenAI error and the server keeps serving', () => {
  it.each([
    ['malformed JSON', '/v1/completions', '{"model": "Qwen/Qwen3-0.6B", "prompt": ', 400, null],
    ['a prompt of the wrong type', '/v1/completions', { model, prompt: 5 }, 400, 'prompt'],
    ['no model', '/v1/completions', { prompt: 'hi' }, 400, 'model'],
    ['an empty prompt list', '/v1/completions', { model, prompt: [] }, 400, 'prompt'],
    ['max_tokens as a string', '/v1/completions', { model, prompt: 'hi', max_tokens: 'ten' }, 400, 'max_tokens'],
    ['max_tokens 0', '/v1/completions', { model, prompt: 'hi', max_tokens: 0 }, 400, 'max_tokens'],
    ['messages that are not a list', '/v1/chat/completions', { model, messages: 'hi' }, 400, 'messages'],
    ['a message role of the wrong type', '/v1/chat/completions', { model, messages: [{ role: 1, content: 'x' }] }, 400, 'messages.0.role'],
    ['an unknown model', '/v1/completions', { model: 'nope', prompt: 'hi' }, 404, 'model'],
    ['a prompt over max-model-len', '/v1/completions', { model, prompt: Array(300).fill(11) }, 400, 'prompt'],
    ['prompt plus max_tokens over max-model-len', '/v1/completions', { model, prompt: 'hi', max_tokens: 256 }, 400, 'prompt'],
    ['streaming on a prefill leg', '/v1/completions', { model, prompt: 'hi', stream: true, kv_transfer_params: { do_remote_decode: true } }, 400, 'stream'],
    ['a bad LoRA load', '/v1/load_lora_adapter', { lora_path: '/x' }, 400, 'lora_name'],
    ['detokenizing non-integers', '/detokenize', { tokens: ['a'] }, 400, 'tokens.0'],
  ])('%s', async (_label, path, body, status, param) => {
    await using sim = await startTestSim(['--max-model-len', '256']);
    const r = await postJson(`${sim.url}${path}`, body);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ code: status });
    expect(typeof r.body.error.message).toBe('string');
    expect(typeof r.body.error.type).toBe('string');
    if (param !== null) expect(r.body.error.param).toBe(param);
    // The same server still answers a good request.
    const ok = await postJson(`${sim.url}/v1/completions`, { model, prompt: 'still there?', max_tokens: 2 });
    expect(ok.status).toBe(200);
  });

  it('answers 404 with an OpenAI body for an unknown path', async () => {
    await using sim = await startTestSim();
    const r = await postJson(`${sim.url}/v1/nothing`, {});
    expect(r.status).toBe(404);
    expect(r.body.error.type).toBe('NotFoundError');
  });
});

describe('failure injection', () => {
  const expected: Record<(typeof FAILURE_TYPES)[number], { status: number; type: string; param: string | null }> = {
    rate_limit: { status: 429, type: 'RateLimitError', param: null },
    invalid_api_key: { status: 401, type: 'AuthenticationError', param: null },
    context_length: { status: 400, type: 'BadRequestError', param: 'messages' },
    server_error: { status: 503, type: 'InternalServerError', param: null },
    invalid_request: { status: 400, type: 'BadRequestError', param: 'model' },
    model_not_found: { status: 404, type: 'NotFoundError', param: 'model' },
  };

  it.each(FAILURE_TYPES.map((t) => [t]))('injects %s with its upstream status and type', async (type) => {
    await using sim = await startTestSim(['--failure-injection-rate', '100', '--failure-types', type]);
    const r = await postJson(`${sim.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }] });
    const e = expected[type];
    expect(r.status).toBe(e.status);
    expect(r.body.error).toMatchObject({ type: e.type, param: e.param, code: e.status });
  });

  it('fails about the configured share of requests, deterministically under a seed', async () => {
    const outcomes = async () => {
      await using sim = await startTestSim(['--failure-injection-rate', '30', '--seed', '5']);
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await postJson(`${sim.url}/v1/completions`, { model, prompt: 'x', max_tokens: 1 })).status);
      return statuses;
    };
    const first = await outcomes();
    const failed = first.filter((s) => s !== 200).length;
    expect(failed).toBeGreaterThan(6);
    expect(failed).toBeLessThan(36);
    expect(await outcomes()).toEqual(first);
  });
});
