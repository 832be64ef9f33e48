import { describe, it, expect, beforeAll } from 'vitest';
import { ChatTemplateRenderer, normalizeMessages, parseChatTemplateSource, specialTokenVariables } from './chat.js';
import { TokenizerError } from './errors.js';
import { loadTokenizer } from './load.js';
import type { ChatMessage, Tokenizer } from './types.js';

function catchError(run: () => unknown): TokenizerError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenizerError);
    return err as TokenizerError;
  }
  throw new Error('expected a TokenizerError, nothing was thrown');
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('Qwen3 chat template', () => {
  let qwen3: Tokenizer;

  beforeAll(async () => {
    qwen3 = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
  });

  it('renders a user turn and the generation prompt', () => {
    const prompt = qwen3.applyChatTemplate([{ role: 'user', content: 'What is a KV cache?' }], {
      addGenerationPrompt: true,
    });
    expect(prompt).toBe('<|im_start|>user\nWhat is a KV cache?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('leaves out the generation prompt unless asked', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    expect(qwen3.applyChatTemplate(messages)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('passes chat template kwargs such as enable_thinking', () => {
    const prompt = qwen3.applyChatTemplate([{ role: 'user', content: 'Hi' }], {
      addGenerationPrompt: true,
      chatTemplateKwargs: { enable_thinking: false },
    });
    expect(prompt).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  });

  it('joins text parts with newlines and leaves out non-text parts', () => {
    const prompt = qwen3.applyChatTemplate([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Describe' },
          { type: 'image_url', image_url: { url: 'https://example.invalid/cat.png' } },
          { type: 'text', text: 'this picture.' },
        ],
      },
    ]);
    expect(prompt).toBe('<|im_start|>user\nDescribe\nthis picture.<|im_end|>\n');
  });

  it('renders tools and tool calls whose arguments arrive as a JSON string', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', content: 'sunny', tool_call_id: 'call_1' },
    ];
    const prompt = qwen3.applyChatTemplate(messages, { tools: [WEATHER_TOOL], addGenerationPrompt: true });
    expect(prompt).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
    expect(prompt).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>');
    expect(prompt).toContain('<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>');
    expect(prompt.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('encodeChat encodes the rendered prompt without adding special tokens again', () => {
    const messages = [{ role: 'user', content: 'Hello' }];
    const ids = qwen3.encodeChat(messages, { addGenerationPrompt: true });
    expect(ids).toEqual(qwen3.encode(qwen3.applyChatTemplate(messages, { addGenerationPrompt: true }), { addSpecialTokens: false }));
    expect(ids).toEqual([151644, 872, 198, 9707, 151645, 198, 151644, 77091, 198]);
  });
});

describe('Llama 3 chat template', () => {
  let llama3: Tokenizer;

  beforeAll(async () => {
    llama3 = await loadTokenizer({ model: 'meta-llama/Meta-Llama-3-8B-Instruct' });
  });

  it('renders header tokens, BOS first, and the generation prompt when asked', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    const body =
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    expect(llama3.applyChatTemplate(messages)).toBe(body);
    expect(llama3.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      `${body}<|start_header_id|>assistant<|end_header_id|>\n\n`,
    );
  });

  it('encodeChat starts with exactly one <|begin_of_text|>', () => {
    const ids = llama3.encodeChat([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    expect(ids[0]).toBe(128000);
    expect(ids.filter((id) => id === 128000)).toHaveLength(1);
    expect(ids.slice(0, 4)).toEqual([128000, 128006, 882, 128007]);
    expect(ids.slice(-4)).toEqual([128006, 78191, 128007, 271]);
  });
});

describe('normalizeMessages', () => {
  it('does not modify the caller’s messages', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'a' }] },
      { role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{"x":1}' } }] },
    ];
    const copy = structuredClone(messages);
    const out = normalizeMessages(messages);
    expect(messages).toEqual(copy);
    expect(out[0]).toEqual({ role: 'user', content: 'a' });
    expect(out[1]).toEqual({ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { x: 1 } } }] });
  });

  it('keeps extra fields such as name and reasoning_content', () => {
    const out = normalizeMessages([{ role: 'assistant', content: 'x', name: 'bot', reasoning_content: 'r' } as ChatMessage]);
    expect(out[0]).toEqual({ role: 'assistant', content: 'x', name: 'bot', reasoning_content: 'r' });
  });

  it('turns empty tool-call arguments into an empty object', () => {
    const out = normalizeMessages([{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: '' } }] }]);
    expect(out[0]?.['tool_calls']).toEqual([{ function: { name: 'f', arguments: {} } }]);
  });

  it.each([
    ['not an array', 'nope', 'messages must be an array'],
    ['a message that is not an object', [42], 'messages[0] must be an object'],
    ['a missing role', [{ content: 'x' }], 'messages[0].role must be a string'],
    ['a numeric content', [{ role: 'user', content: 7 }], 'messages[0].content must be a string'],
    ['a bad part', [{ role: 'user', content: ['ok', 3] }], 'messages[0].content[1] must be an object'],
    ['a text part without text', [{ role: 'user', content: [{ type: 'text' }] }], 'messages[0].content[0].text'],
    [
      'tool-call arguments that are not JSON',
      [{ role: 'user', content: 'x' }, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: '{' } }] }],
      'messages[1].tool_calls[0].function.arguments is not valid JSON',
    ],
  ])('rejects %s naming the field', (_label, messages, part) => {
    const error = catchError(() => normalizeMessages(messages as ChatMessage[]));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain(part);
  });
});

describe('ChatTemplateRenderer', () => {
  const messages = [{ role: 'user', content: 'Hi' }];

  it('exposes special tokens from the config to the template', () => {
    const vars = specialTokenVariables({
      bos_token: '<s>',
      eos_token: { __type: 'AddedToken', content: '</s>' },
      pad_token: null,
      additional_special_tokens: ['<x>', { content: '<y>' }],
    });
    expect(vars).toEqual({ bos_token: '<s>', eos_token: '</s>', additional_special_tokens: ['<x>', '<y>'] });
    const renderer = new ChatTemplateRenderer('{{ bos_token }}{{ messages[0].content }}{{ eos_token }}', vars, 'test');
    expect(renderer.render(messages)).toBe('<s>Hi</s>');
  });

  it('chooses the "tool_use" template when tools are given, else "default"', () => {
    const source = parseChatTemplateSource(
      [
        { name: 'default', template: 'plain' },
        { name: 'tool_use', template: 'tools:{{ tools | length }}' },
      ],
      'cfg',
    );
    const renderer = new ChatTemplateRenderer(source, {}, 'test');
    expect(renderer.render(messages)).toBe('plain');
    expect(renderer.render(messages, { tools: [WEATHER_TOOL] })).toBe('tools:1');
  });

  it('rejects named templates without a default', () => {
    const renderer = new ChatTemplateRenderer({ other: 'x' }, {}, 'the-model');
    const error = catchError(() => renderer.render(messages));
    expect(error.code).toBe('CHAT_TEMPLATE_MISSING');
    expect(error.message).toContain('the-model');
  });

  it('reports raise_exception from the template as a template error', () => {
    const renderer = new ChatTemplateRenderer("{{ raise_exception('roles must alternate') }}", {}, 'the-model');
    const error = catchError(() => renderer.render(messages));
    expect(error.code).toBe('CHAT_TEMPLATE_ERROR');
    expect(error.message).toContain('roles must alternate');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reports a template that does not compile', () => {
    const renderer = new ChatTemplateRenderer('{% for m in messages %}', {}, 'the-model');
    const error = catchError(() => renderer.render(messages));
    expect(error.code).toBe('CHAT_TEMPLATE_ERROR');
    expect(error.message).toContain('does not compile');
  });

  it.each(['messages', 'tools', 'add_generation_prompt'])('refuses to let chatTemplateKwargs.%s override the renderer', (key) => {
    const renderer = new ChatTemplateRenderer('x', {}, 'test');
    const error = catchError(() => renderer.render(messages, { chatTemplateKwargs: { [key]: 1 } }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain(`chatTemplateKwargs.${key}`);
  });
});
