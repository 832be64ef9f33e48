import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';
import { loadTokenizer } from './load.js';
import { TokenizerPool } from './pool.js';
import type { ChatMessage, Tokenizer } from './types.js';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: [{ type: 'text', text: 'Explain prefix caching' }, { type: 'text', text: 'in one line.' }] },
];

const TEXTS = ['Hello world', 'Ünïcödé and 漢字 and 🦙', 'The quick brown fox jumps over the lazy dog. '.repeat(20)];

async function rejection(promise: Promise<unknown>): Promise<TokenizerError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the promise to reject');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(TokenizerError);
  return error as TokenizerError;
}

describe.each([
  ['Qwen3', { model: 'Qwen/Qwen3-0.6B' }],
  ['Llama 3', { model: 'meta-llama/Llama-3.1-8B-Instruct' }],
])('TokenizerPool (%s)', (_label, source) => {
  let pool: TokenizerPool;
  let local: Tokenizer;

  beforeAll(async () => {
    [pool, local] = await Promise.all([TokenizerPool.create({ source, size: 2 }), loadTokenizer(source)]);
  });

  afterAll(async () => {
    await pool.close();
  });

  it('reports the tokenizer it holds', () => {
    expect(pool.name).toBe(local.name);
    expect(pool.vocabSize).toBe(local.vocabSize);
    expect(pool.size).toBe(2);
  });

  it.each(TEXTS)('encodes %j like the in-thread tokenizer', async (text) => {
    expect(await pool.encode(text)).toEqual(local.encode(text));
    expect(await pool.encode(text, { addSpecialTokens: false })).toEqual(local.encode(text, { addSpecialTokens: false }));
  });

  it('decodes like the in-thread tokenizer', async () => {
    const ids = local.encode(TEXTS[1] ?? '');
    expect(await pool.decode(ids)).toBe(local.decode(ids));
    expect(await pool.decode(ids, { skipSpecialTokens: true })).toBe(local.decode(ids, { skipSpecialTokens: true }));
  });

  it('renders and encodes chats like the in-thread tokenizer', async () => {
    const opts = { addGenerationPrompt: true };
    expect(await pool.applyChatTemplate(MESSAGES, opts)).toBe(local.applyChatTemplate(MESSAGES, opts));
    expect(await pool.encodeChat(MESSAGES, opts)).toEqual(local.encodeChat(MESSAGES, opts));
  });

  it('answers many concurrent requests, each with its own result', async () => {
    const texts = Array.from({ length: 24 }, (_, i) => `request number ${i}: ${'word '.repeat(i)}`);
    const results = await Promise.all(texts.map((text) => pool.encode(text)));
    expect(results).toEqual(texts.map((text) => local.encode(text)));
  });

  it('passes errors back as TokenizerError with their code', async () => {
    const error = await rejection(pool.decode([-5]));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('ids[0] = -5');
    const chatError = await rejection(pool.encodeChat([{ role: 7 } as unknown as ChatMessage]));
    expect(chatError.code).toBe('INVALID_INPUT');
    expect(chatError.message).toContain('messages[0].role');
  });

  it('keeps working after a failed request', async () => {
    await rejection(pool.decode([-1]));
    expect(await pool.encode('still alive')).toEqual(local.encode('still alive'));
  });
});

describe('TokenizerPool lifecycle', () => {
  it('close() lets requests in flight finish, then refuses new ones', async () => {
    const pool = await TokenizerPool.create({ source: { model: 'Qwen/Qwen3-0.6B' }, size: 1 });
    const local = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
    const text = 'finishing before the pool closes';
    const inFlight = pool.encode(text);
    const closed = pool.close();
    expect(pool.close()).toBe(closed);
    expect(await inFlight).toEqual(local.encode(text));
    await closed;
    expect(pool.size).toBe(0);
    const error = await rejection(pool.encode('too late'));
    expect(error.code).toBe('POOL_CLOSED');
  });

  it('supports await using', async () => {
    let outside: TokenizerPool | undefined;
    {
      await using pool = await TokenizerPool.create({ source: { model: 'made-up/model' }, size: 1 });
      outside = pool;
      expect(pool.name).toBe('fallback:qwen3');
      expect(await pool.encode('Hello world')).toEqual([9707, 1879]);
    }
    expect(outside.size).toBe(0);
    expect((await rejection(outside.decode([1]))).code).toBe('POOL_CLOSED');
  });

  it('rejects creation when the workers cannot load the tokenizer, naming the path', async () => {
    const path = join(tmpdir(), 'llmd-tokenizer-no-such-folder');
    const error = await rejection(TokenizerPool.create({ source: { path }, size: 2 }));
    expect(error.code).toBe('TOKENIZER_NOT_FOUND');
    expect(error.message).toContain(path);
  });

  it.each([0, -1, 1.5])('rejects size %s', async (size) => {
    const error = await rejection(TokenizerPool.create({ source: { model: 'Qwen/Qwen3-0.6B' }, size }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('size');
  });
});
