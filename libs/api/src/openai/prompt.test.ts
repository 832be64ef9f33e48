import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './chat.js';
import type { PromptInput } from './prompt-input.js';
import { chatMessagesOf, chatMessageText, completionPromptParts, REQUEST_PATHS, REQUEST_SCHEMAS, requestKindOf } from './prompt.js';
import type { PromptPart, RequestKind } from './prompt.js';

describe('completionPromptParts', () => {
  it.each<[string, PromptInput, PromptPart[]]>([
    ['a string', 'Hello', [{ text: 'Hello' }]],
    ['an array of strings', ['a', 'b'], [{ text: 'a' }, { text: 'b' }]],
    ['an array of token ids', [1, 2, 3], [{ tokenIds: [1, 2, 3] }]],
    ['an array of token-id arrays', [[1, 2], [3]], [{ tokenIds: [1, 2] }, { tokenIds: [3] }]],
    ['an empty array', [], []],
  ])('normalises %s', (_label, prompt, parts) => {
    expect(completionPromptParts({ prompt })).toEqual(parts);
  });
});

describe('chatMessagesOf', () => {
  it('returns the messages of a chat request as they are', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
    ];
    expect(chatMessagesOf({ messages })).toBe(messages);
  });

  it('turns a Responses string input and instructions into system and user messages', () => {
    expect(chatMessagesOf({ instructions: 'Be brief.', input: 'Hi' })).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('keeps only message items of a Responses input array', () => {
    expect(
      chatMessagesOf({
        input: [
          { role: 'user', content: 'Q' },
          { type: 'function_call_output', call_id: 'c', output: '42' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'A' }] },
        ],
      }),
    ).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: [{ type: 'output_text', text: 'A' }] },
    ]);
  });
});

describe('chatMessageText', () => {
  it.each<[string, ChatMessage, string]>([
    ['string content', { role: 'user', content: 'abc' }, 'abc'],
    ['null content', { role: 'assistant', content: null }, ''],
    ['absent content', { role: 'assistant' }, ''],
    [
      'text parts, skipping media',
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'image_url', image_url: { url: 'u' } },
          { text: 'two' },
          { type: 'input_text', text: 'three' },
        ],
      },
      'one\ntwo\nthree',
    ],
  ])('reads %s', (_label, message, text) => {
    expect(chatMessageText(message)).toBe(text);
  });
});

describe('requestKindOf', () => {
  it.each<[string, RequestKind | null]>([
    ['/v1/completions', 'completions'],
    ['/v1/chat/completions', 'chat-completions'],
    ['/v1/embeddings', 'embeddings'],
    ['/v1/responses', 'responses'],
    ['/v1/chat/completions?stream=1', 'chat-completions'],
    ['/v1/models', null],
    ['/v1/messages', null],
    ['/v1/completions/render', null],
    ['/v1/completions/', null],
    ['/V1/completions', null],
    ['', null],
  ])('maps %j to %s', (path, kind) => {
    expect(requestKindOf(path)).toBe(kind);
  });

  it('round-trips every kind through its path and has a schema for it', () => {
    for (const [kind, path] of Object.entries(REQUEST_PATHS)) {
      expect(requestKindOf(path)).toBe(kind);
      expect(REQUEST_SCHEMAS[kind as RequestKind]).toBeDefined();
    }
  });

  it('pairs each kind with the schema of its body', () => {
    expect(REQUEST_SCHEMAS.completions.safeParse({ model: 'm', prompt: 'x' }).success).toBe(true);
    expect(REQUEST_SCHEMAS['chat-completions'].safeParse({ model: 'm', prompt: 'x' }).success).toBe(false);
    expect(REQUEST_SCHEMAS.embeddings.safeParse({ model: 'm', input: [1] }).success).toBe(true);
    expect(REQUEST_SCHEMAS.responses.safeParse({ model: 'm', input: 'x' }).success).toBe(true);
  });
});
