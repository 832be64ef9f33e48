import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { zodErrorToOpenAIError } from '../errors.js';
import { embeddingRequestSchema } from './embeddings.js';
import { responsesRequestSchema } from './responses.js';

/** The 400 a failed parse turns into; fails the test if the parse succeeded. */
function rejection(result: { success: boolean; error?: z.ZodError }) {
  if (result.success || !result.error) throw new Error('expected the body to be rejected');
  return zodErrorToOpenAIError(result.error);
}

describe('embeddingRequestSchema', () => {
  it.each([['text'], [['a', 'b']], [[1, 2, 3]], [[[1], [2, 3]]]])('accepts input %j', (input) => {
    expect(embeddingRequestSchema.parse({ model: 'e5', input }).input).toEqual(input);
  });

  it('accepts the optional fields and keeps unknown ones', () => {
    const body = { model: 'e5', input: 'x', encoding_format: 'base64', dimensions: 256, user: 'u', truncate_prompt_tokens: 8 };
    expect(embeddingRequestSchema.parse(body)).toEqual(body);
  });

  it.each([
    [{ model: 'e5', input: '' }, 'input', 'non-empty'],
    [{ model: 'e5', input: [true] }, 'input.0', 'received boolean'],
    [{ model: 'e5' }, 'input', 'received undefined'],
    [{ model: 'e5', input: 'x', encoding_format: 'int8' }, 'encoding_format', 'Invalid option'],
    [{ model: 'e5', input: 'x', dimensions: 0 }, 'dimensions', 'Too small'],
  ])('rejects %j naming %s', (body, param, fragment) => {
    const error = rejection(embeddingRequestSchema.safeParse(body));
    expect(error.param).toBe(param);
    expect(error.message).toContain(fragment);
  });
});

describe('responsesRequestSchema', () => {
  it.each([
    ['a string input', { model: 'm', input: 'Hi' }],
    [
      'message items',
      {
        model: 'm',
        instructions: 'Be brief.',
        input: [
          { role: 'user', content: 'Hi' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'again' }] },
        ],
        max_output_tokens: 64,
        stream: true,
      },
    ],
    ['a non-message item', { model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: '42' }] }],
  ])('accepts %s', (_label, body) => {
    expect(responsesRequestSchema.parse(body)).toEqual(body);
  });

  it.each([
    [{ model: 'm', input: 5 }, 'input', 'expected string or array of input items, received number'],
    [{ model: 'm', input: [{ content: 'x' }] }, 'input.0.role', 'needs a string role'],
    [{ model: 'm', input: [{ type: 'message', role: 'user' }] }, 'input.0.content', 'needs content'],
    [{ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] }, 'input.0.content.0.text', 'needs a string text'],
    [{ model: 'm', input: 'x', max_output_tokens: -5 }, 'max_output_tokens', 'Too small'],
    [{ model: 'm', input: 'x', instructions: 3 }, 'instructions', 'expected string'],
  ])('rejects %j naming %s', (body, param, fragment) => {
    const error = rejection(responsesRequestSchema.safeParse(body));
    expect(error.param).toBe(param);
    expect(error.message).toContain(fragment);
  });
});
