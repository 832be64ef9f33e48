import { silentLogger } from '@llmd/observability';
import { loadTokenizerSync, TokenizerError, TokenizerPool, type ChatMessage, type TokenizerSource } from '@llmd/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { PromptTokenizers } from './prompt-tokenizers.js';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant that answers in one short sentence and never more than that.' },
  { role: 'user', content: 'Which block size does vLLM use by default?' },
];
const LONG = 'Anarchism is a political philosophy and movement that is sceptical of authority and rejects all involuntary, coercive forms of hierarchy. '.repeat(12);

describe('PromptTokenizers', () => {
  const started: TokenizerSource[] = [];
  const tokenizers = new PromptTokenizers({
    tokenizerPath: null,
    poolSize: 1,
    prefixCacheTokens: 100_000,
    logger: silentLogger(),
    createPool: (source, size) => {
      started.push(source);
      return TokenizerPool.create({ source, size });
    },
  });
  afterAll(() => tokenizers.close());

  it.each([
    ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-0.6B'],
    ['meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct'],
    ['a made-up model (the Qwen3 fallback)', 'acme/unknown-7b'],
  ])('tokenizes prompts with special tokens as vLLM completions do, and chats as encodeChat does, for %s', async (_label, model) => {
    const reference = loadTokenizerSync({ model });
    expect(await tokenizers.encodePrompt(model, LONG)).toEqual(reference.encode(LONG, { addSpecialTokens: true }));
    // Twice: the second answer comes (partly) from the prefix cache and must not differ.
    expect(await tokenizers.encodePrompt(model, `${LONG}And more.`)).toEqual(reference.encode(`${LONG}And more.`, { addSpecialTokens: true }));
    const kwargs = { chatTemplateKwargs: { enable_thinking: false } };
    expect(await tokenizers.encodeChat(model, MESSAGES, kwargs)).toEqual(reference.encodeChat(MESSAGES, { addGenerationPrompt: true, ...kwargs }));
  });

  it('starts one pool per tokenizer family, whatever the model names', async () => {
    await tokenizers.encodePrompt('Qwen/Qwen3-8B', 'x');
    await tokenizers.encodePrompt('someone/else', 'x');
    expect(started.map((s) => ('model' in s ? s.model : s.path))).toEqual(['Qwen/Qwen3-0.6B', 'meta-llama/Llama-3.1-8B-Instruct']);
  });

  it('reuses cached prefix tokens', () => {
    const stats = tokenizers.prefixCacheStats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.reusedTokens).toBeGreaterThan(0);
    expect(stats.tokens).toBeGreaterThan(0);
  });

  it('retries a tokenizer whose start failed, and uses a folder for every model', async () => {
    let attempts = 0;
    const failing = new PromptTokenizers({
      tokenizerPath: '/nonexistent/tokenizer',
      poolSize: 1,
      prefixCacheTokens: 0,
      logger: silentLogger(),
      createPool: (source, size) => {
        attempts++;
        expect(source).toEqual({ path: '/nonexistent/tokenizer' });
        return TokenizerPool.create({ source, size });
      },
    });
    await expect(failing.encodePrompt('Qwen/Qwen3-0.6B', 'x')).rejects.toBeInstanceOf(TokenizerError);
    await expect(failing.encodePrompt('other', 'x')).rejects.toThrow('/nonexistent/tokenizer');
    expect(attempts).toBe(2);
    await failing.close();
  });
});
