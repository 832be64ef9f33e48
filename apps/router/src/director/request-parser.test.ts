import { RouterError } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { parseInferenceRequest, promptViewOf } from './request-parser.js';

const incoming = (body: unknown, headers: Record<string, string> = {}, path = '/v1/completions') => ({
  method: 'POST',
  path,
  headers,
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  subsetHint: null,
});

describe('parseInferenceRequest', () => {
  it('reads model, kind, prompt, max tokens and headers', () => {
    const r = parseInferenceRequest(
      incoming({ model: 'm', prompt: 'hello world', max_tokens: 7 }, { 'x-llm-d-inference-objective': 'gold', 'x-llm-d-inference-fairness-id': 'tenant-a' }),
      'id-1',
      5,
    );
    expect(r).toMatchObject({
      requestId: 'id-1',
      kind: 'completions',
      incomingModel: 'm',
      targetModel: 'm',
      objective: 'gold',
      fairnessId: 'tenant-a',
      maxTokens: 7,
      estimatedInputTokens: 3,
      receivedAt: 5,
      prompt: { text: 'hello world', tokenIds: null, messages: null },
    });
  });

  it('accepts the deprecated header names and the rewrite header', () => {
    const r = parseInferenceRequest(
      incoming({ model: 'm', prompt: 'x' }, { 'x-gateway-inference-objective': 'old', 'x-gateway-inference-fairness-id': 't', 'x-gateway-model-name-rewrite': 'm2' }),
      'id',
      0,
    );
    expect(r).toMatchObject({ objective: 'old', fairnessId: 't', targetModel: 'm2', incomingModel: 'm' });
  });

  it('defaults the fairness id to default-flow', () => {
    expect(parseInferenceRequest(incoming({ model: 'm', prompt: 'x' }), 'id', 0).fairnessId).toBe('default-flow');
  });

  it.each([
    ['invalid JSON', 'no healthy upstream', /error unmarshaling request body/],
    ['a JSON array', [1, 2], /expected a JSON object/],
    ['no model', { prompt: 'hello world' }, /model not found in request body/],
    ['a non-string model', { model: 3, prompt: 'x' }, /model not found in request body/],
  ])('rejects %s with 400', (_label, body, message) => {
    let err: unknown;
    try {
      parseInferenceRequest(incoming(body), 'id', 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RouterError);
    expect((err as RouterError).status).toBe(400);
    expect((err as RouterError).message).toMatch(message);
  });
});

describe('promptViewOf', () => {
  it.each([
    ['a string prompt', 'completions', { prompt: 'abc' }, { text: 'abc', tokenIds: null }],
    ['a list of strings', 'completions', { prompt: ['a', 'b'] }, { text: 'a\nb', tokenIds: null }],
    ['token ids', 'completions', { prompt: [1, 2, 3] }, { text: '1,2,3', tokenIds: [1, 2, 3] }],
    ['lists of token ids', 'completions', { prompt: [[1, 2], [3]] }, { text: '1,2,3', tokenIds: [1, 2, 3] }],
    ['responses input', 'responses', { input: 'hi' }, { text: 'hi', tokenIds: null }],
    ['embeddings input', 'embeddings', { input: ['x', 'y'] }, { text: 'x\ny', tokenIds: null }],
  ] as const)('handles %s', (_label, kind, body, expected) => {
    expect(promptViewOf(kind, body as Record<string, unknown>)).toMatchObject(expected);
  });

  it('uses the JSON of the messages for chat, keeping the messages', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const view = promptViewOf('chat-completions', { messages });
    expect(view.text).toBe(JSON.stringify(messages));
    expect(view.messages).toEqual(messages);
  });
});
