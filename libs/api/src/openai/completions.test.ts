import { describe, expect, it } from 'vitest';
import { OpenAIHttpError, parseOr400 } from '../errors.js';
import { completionRequestSchema } from './completions.js';

const base = { model: 'meta-llama/Llama-3.1-8B-Instruct' };

/** Parses and returns the 400 the request would get, or fails the test if it parses. */
function rejection(body: unknown): OpenAIHttpError {
  try {
    parseOr400(completionRequestSchema, body);
  } catch (error) {
    if (error instanceof OpenAIHttpError) return error;
    throw error;
  }
  throw new Error('expected the body to be rejected');
}

describe('completionRequestSchema', () => {
  it.each([
    ['a string', 'Hello'],
    ['an array of strings', ['Hello', 'World']],
    ['an array of token ids', [1, 2, 3]],
    ['an array of token-id arrays', [[1, 2], [3]]],
  ])('accepts a prompt that is %s', (_label, prompt) => {
    expect(completionRequestSchema.parse({ ...base, prompt }).prompt).toEqual(prompt);
  });

  it.each([
    ['an empty string', '', 'prompt', 'Too small: expected a non-empty prompt'],
    ['an empty array', [], 'prompt', 'Too small: expected a non-empty prompt'],
    ['an empty string in a batch', ['a', ''], 'prompt.1', 'Too small: expected a non-empty prompt'],
    ['a number', 5, 'prompt', 'received number'],
    ['missing', undefined, 'prompt', 'received undefined'],
    ['a string batch with a number', ['a', 5], 'prompt.1', 'Invalid input: expected string, received number'],
    ['token ids with a string', [1, 'a'], 'prompt.1', 'expected token id (non-negative integer), received string'],
    ['a negative token id', [1, -1], 'prompt.1', 'received -1'],
    ['a fractional token id', [1.5], 'prompt.0', 'received 1.5'],
    ['an empty token-id array in a batch', [[1], []], 'prompt.1', 'non-empty array of token ids'],
    ['a bad id inside a token-id batch', [[1], [2, 'x']], 'prompt.1.1', 'received string'],
    ['a token-id batch with a string', [[1], 'x'], 'prompt.1', 'expected array of token ids, received string'],
    ['an array of objects', [{ text: 'a' }], 'prompt.0', 'received object'],
  ])('rejects a prompt that is %s, naming %s', (_label, prompt, param, fragment) => {
    const error = rejection({ ...base, prompt });
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
    expect(error.message).toContain(`${param}: `);
    expect(error.message).toContain(fragment);
  });

  it('accepts the documented vLLM fields', () => {
    const body = {
      ...base,
      prompt: 'Hi',
      max_tokens: 0,
      temperature: 0,
      top_p: 1,
      n: 2,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: false },
      stop: ['\n', '###'],
      seed: 42,
      echo: true,
      logprobs: 3,
      ignore_eos: true,
      min_tokens: 4,
      user: 'u',
      priority: -2,
      cache_salt: 'tenant-a',
      kv_transfer_params: { do_remote_decode: true },
      cache_hit_threshold: 0.5,
    };
    expect(completionRequestSchema.parse(body)).toEqual(body);
  });

  it.each([null, 'stop', ['a', 'b']])('accepts stop = %j', (stop) => {
    expect(completionRequestSchema.safeParse({ ...base, prompt: 'x', stop }).success).toBe(true);
  });

  it.each([
    ['model', { model: 7 }, 'model', 'expected string, received number'],
    ['model', { model: undefined }, 'model', 'expected string, received undefined'],
    ['max_tokens', { max_tokens: '10' }, 'max_tokens', 'expected number, received string'],
    ['max_tokens', { max_tokens: -1 }, 'max_tokens', 'Too small'],
    ['max_tokens', { max_tokens: 1.5 }, 'max_tokens', 'expected int'],
    ['n', { n: 0 }, 'n', 'Too small'],
    ['temperature', { temperature: -0.1 }, 'temperature', 'Too small'],
    ['top_p', { top_p: 0 }, 'top_p', 'Too small'],
    ['stream', { stream: 'yes' }, 'stream', 'expected boolean, received string'],
    ['stream_options', { stream_options: { include_usage: 1 } }, 'stream_options.include_usage', 'expected boolean'],
    ['stop', { stop: 5 }, 'stop', 'expected string or array of strings, received number'],
    ['stop', { stop: ['a', 3] }, 'stop.1', 'expected string, received number'],
    ['ignore_eos', { ignore_eos: 'true' }, 'ignore_eos', 'expected boolean'],
    ['cache_salt', { cache_salt: '' }, 'cache_salt', 'Too small'],
    ['cache_hit_threshold', { cache_hit_threshold: 1.5 }, 'cache_hit_threshold', 'Too big'],
    ['priority', { priority: 'high' }, 'priority', 'expected number'],
    ['kv_transfer_params', { kv_transfer_params: { remote_port: 'x' } }, 'kv_transfer_params.remote_port', 'expected number'],
  ])('rejects a bad %s and names %s', (_field, patch, param, fragment) => {
    const error = rejection({ ...base, prompt: 'x', ...patch });
    expect(error.param).toBe(param);
    expect(error.message).toMatch(new RegExp(`^${param.replace(/\./g, '\\.')}: .*${fragment}`));
  });

  it('keeps unknown fields, top-level and nested, for forwarding', () => {
    const body = {
      ...base,
      prompt: 'x',
      vllm_xargs: { custom: 1 },
      guided_json: { type: 'object' },
      stream_options: { include_usage: true, vendor_flag: 'on' },
      kv_transfer_params: { do_remote_prefill: true, bootstrap_room: 12 },
    };
    expect(completionRequestSchema.parse(body)).toEqual(body);
  });
});
