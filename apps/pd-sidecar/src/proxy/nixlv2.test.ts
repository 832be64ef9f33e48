import { describe, expect, it } from 'vitest';
import { decodeBody, parseJsonObject, prefillBody, returnedKvTransferParams } from './nixlv2.js';

const PREFILL_LEG = { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null };

describe('nixlv2 request rewriting', () => {
  it.each([
    [
      'a streamed completion',
      'completions' as const,
      { model: 'm', prompt: 'p', max_tokens: 50, stream: true, stream_options: { include_usage: true }, min_tokens: 5, temperature: 0 },
      { model: 'm', prompt: 'p', max_tokens: 1, stream: false, temperature: 0, kv_transfer_params: PREFILL_LEG },
    ],
    [
      'a chat with max_completion_tokens',
      'chat_completions' as const,
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 9 },
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, max_completion_tokens: 1, stream: false, kv_transfer_params: PREFILL_LEG },
    ],
    [
      'a request already carrying kv_transfer_params',
      'completions' as const,
      { model: 'm', prompt: 'p', kv_transfer_params: { do_remote_prefill: true } },
      { model: 'm', prompt: 'p', max_tokens: 1, stream: false, kv_transfer_params: PREFILL_LEG },
    ],
  ])('prefill leg of %s: one token, no stream, remote decode asked', (_name, api, original, expected) => {
    const copy = structuredClone(original);
    expect(prefillBody(original, api)).toEqual(expected);
    expect(original).toEqual(copy); // the client's body is untouched for the decode leg
  });

  it('decode leg: the client’s body as sent, with the prefiller’s kv_transfer_params', () => {
    const original = { model: 'm', prompt: 'p', max_tokens: 50, stream: true, stream_options: { include_usage: true } };
    const returned = { do_remote_prefill: true, do_remote_decode: false, remote_engine_id: 'e', remote_block_ids: [1, 2], remote_host: '10.0.0.1', remote_port: 5600, tp_size: 1 };
    expect(decodeBody(original, returned)).toEqual({ ...original, kv_transfer_params: returned });
    expect(decodeBody(original, undefined)).toEqual({ ...original, kv_transfer_params: null });
  });

  it('reads kv_transfer_params from the prefiller’s answer', () => {
    expect(returnedKvTransferParams({ id: 'x', kv_transfer_params: { a: 1 } })).toEqual({ a: 1 });
    expect(returnedKvTransferParams({ id: 'x', kv_transfer_params: null })).toBeUndefined();
    expect(returnedKvTransferParams({ id: 'x' })).toBeUndefined();
    expect(returnedKvTransferParams([1])).toBeUndefined();
  });

  it.each([['{"a":1}', { a: 1 }], ['[1]', null], ['"s"', null], ['{', null], ['', null]])('parses %j as a JSON object or null', (text, expected) => {
    expect(parseJsonObject(Buffer.from(text))).toEqual(expected);
  });
});
