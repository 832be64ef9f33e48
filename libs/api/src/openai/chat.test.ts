import { describe, expect, it } from 'vitest';
import { zodErrorToOpenAIError } from '../errors.js';
import { chatCompletionRequestSchema } from './chat.js';

const base = { model: 'm', messages: [{ role: 'user', content: 'Hello' }] };

function errorOf(body: unknown) {
  const result = chatCompletionRequestSchema.safeParse(body);
  if (result.success) throw new Error('expected the body to be rejected');
  return zodErrorToOpenAIError(result.error);
}

describe('chatCompletionRequestSchema', () => {
  it.each([
    ['string content', [{ role: 'user', content: 'Hi' }]],
    ['text parts', [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]],
    ['media parts', [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }]],
    ['vLLM simple text parts', [{ role: 'user', content: [{ text: 'Hi' }] }]],
    [
      'a tool-call round trip',
      [
        { role: 'developer', content: 'Use tools.' },
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    ],
    ['a custom role and a name', [{ role: 'narrator', name: 'bob', content: 'Once…' }]],
  ])('accepts %s', (_label, messages) => {
    expect(chatCompletionRequestSchema.parse({ model: 'm', messages }).messages).toEqual(messages);
  });

  it('accepts the documented vLLM fields', () => {
    const body = {
      ...base,
      max_tokens: 5,
      max_completion_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
      top_p: 0.9,
      n: 1,
      stop: 'END',
      seed: 1,
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } },
      logprobs: true,
      top_logprobs: 2,
      ignore_eos: false,
      chat_template_kwargs: { enable_thinking: false },
      add_generation_prompt: true,
      priority: 1,
      cache_salt: 's',
      kv_transfer_params: { do_remote_prefill: true, remote_engine_id: 'e', remote_block_ids: [1, 2] },
      user: 'u',
      cache_hit_threshold: 0,
    };
    expect(chatCompletionRequestSchema.parse(body)).toEqual(body);
  });

  it.each(['none', 'auto', 'required'])('accepts tool_choice "%s"', (tool_choice) => {
    expect(chatCompletionRequestSchema.safeParse({ ...base, tool_choice }).success).toBe(true);
  });

  it('names the field and the types when a role is not a string', () => {
    const error = errorOf({ model: 'm', messages: [{ role: 1, content: 'x' }] });
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages.0.role');
    expect(error.message).toBe('messages.0.role: Invalid input: expected string, received number');
  });

  it.each([
    ['no messages', { model: 'm', messages: [] }, 'messages', 'Too small'],
    ['messages missing', { model: 'm' }, 'messages', 'expected array, received undefined'],
    ['messages not an array', { model: 'm', messages: 'hi' }, 'messages', 'expected array, received string'],
    ['a message that is not an object', { model: 'm', messages: ['hi'] }, 'messages.0', 'expected object'],
    ['a missing role', { model: 'm', messages: [{ content: 'x' }] }, 'messages.0.role', 'received undefined'],
    [
      'numeric content',
      { model: 'm', messages: [{ role: 'user', content: 5 }] },
      'messages.0.content',
      'expected string or array of content parts, received number',
    ],
    [
      'a text part without text',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages.0.content.0.text',
      'needs a string text',
    ],
    [
      'a text part with numeric text',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 3 }] }] },
      'messages.0.content.0.text',
      'expected string, received number',
    ],
    [
      'a tool call without a function name',
      { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { arguments: '{}' } }] }] },
      'messages.0.tool_calls.0.function.name',
      'expected string',
    ],
    ['an unknown tool_choice mode', { ...base, tool_choice: 'sometimes' }, 'tool_choice', 'expected "none"'],
    ['a negative max_completion_tokens', { ...base, max_completion_tokens: -1 }, 'max_completion_tokens', 'Too small'],
    ['a string logprobs', { ...base, logprobs: 'yes' }, 'logprobs', 'expected boolean'],
    ['chat_template_kwargs not an object', { ...base, chat_template_kwargs: 'x' }, 'chat_template_kwargs', 'expected record'],
    ['a tool without a function', { ...base, tools: [{ type: 'function' }] }, 'tools.0.function', 'expected object'],
  ])('rejects %s and names %s', (_label, body, param, fragment) => {
    const error = errorOf(body);
    expect(error.param).toBe(param);
    expect(error.message.startsWith(`${param}: `)).toBe(true);
    expect(error.message).toContain(fragment);
  });

  it('keeps unknown fields on the body, the messages and the parts', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }], meta: 1 }],
      reasoning_effort: 'low',
      mm_processor_kwargs: { fps: 2 },
    };
    expect(chatCompletionRequestSchema.parse(body)).toEqual(body);
  });
});
