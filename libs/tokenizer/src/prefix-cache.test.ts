import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizerSync } from './load.js';
import { PrefixTokenCache, isSafeCut, segmentCuts } from './prefix-cache.js';
import type { ChatMessage, Tokenizer } from './types.js';

/** mulberry32: a small seeded generator, so a failing prompt can be regenerated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Words and separators chosen to stress the pre-tokenizer: contractions, digits runs, punctuation runs,
// non-Latin scripts, combining marks (NFC), emoji and surrogate pairs, code, and every kind of blank.
const WORDS = [
  'the', 'The', 'prefix', 'cache', 'KV', 'blocks', 'tokenization', 'vLLM', 'llm-d', 'Anarchism', 'is', 'a', 'I',
  "don't", "it's", "we'll", "they're", "I'm", "O'Neil", "'s", "'ll", "n't", "'S",
  'café', 'naïve', 'Ünïcödé', 'Привет', 'мир', '漢字', '日本語のテキスト', 'العربية', 'ελληνικά', 'e\u0301t\u0301e', 'n\u0303',
  '123', '4567', '3.14', '1,000,000', '2026-06-12', 'x86_64', 'v0.26.0', '42nd',
  ',', '.', '!', '?', '...', '—', '(', ')', '"', "'", ':', ';', '-', '--', '…', '«', '»',
  '🦙', '👍🏽', '𝒜𝒷𝒸', '𠀀', 'foo_bar', 'x=1;', '{a:b}', '<div>', 'https://example.com/a?b=c', '#include', '$HOME',
];
const SEPARATORS = [' ', ' ', ' ', ' ', ' ', ' ', '', '  ', '   ', '\n', '\n\n', '\t', ' \n', '\n ', '\r\n', ' \t '];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function prompt(rnd: () => number, minChars: number, maxChars: number): string {
  const target = minChars + Math.floor(rnd() * (maxChars - minChars));
  let text = rnd() < 0.2 ? pick(rnd, SEPARATORS) : '';
  while (text.length < target) text += pick(rnd, WORDS) + pick(rnd, SEPARATORS);
  return text;
}

const PROMPTS = 500;

describe.each([
  ['Qwen3', 'Qwen/Qwen3-0.6B'],
  ['Llama 3', 'meta-llama/Llama-3.1-8B-Instruct'],
])('prefix token cache with the %s tokenizer', (_label, model) => {
  let tok: Tokenizer;
  const encode = (text: string) => tok.encode(text, { addSpecialTokens: false });

  beforeAll(() => {
    tok = loadTokenizerSync({ model });
  });

  it(`tokenizes every cut of ${PROMPTS} generated prompts at a safe cut like the whole prompt`, () => {
    const rnd = random(model.length);
    let checked = 0;
    for (let n = 0; n < PROMPTS; n++) {
      const text = prompt(rnd, 80, 400);
      const full = encode(text);
      for (let at = 0; at < text.length; at++) {
        if (!isSafeCut(text, at)) continue;
        expect([...encode(text.slice(0, at)), ...encode(text.slice(at))], `${JSON.stringify(text)} cut at ${at}`).toEqual(full);
        checked++;
      }
    }
    // The generator must actually produce cuts, or the property above says nothing.
    expect(checked).toBeGreaterThan(PROMPTS * 3);
  });

  it('finds cuts where the property is checked to fail: arbitrary cuts do change tokens', () => {
    const rnd = random(7);
    let differing = 0;
    for (let n = 0; n < 40; n++) {
      const text = prompt(rnd, 80, 200);
      const full = encode(text);
      for (let at = 1; at < text.length; at += 3) {
        const joined = [...encode(text.slice(0, at)), ...encode(text.slice(at))];
        if (joined.length !== full.length || joined.some((t, i) => t !== full[i])) differing++;
      }
    }
    expect(differing).toBeGreaterThan(0);
  });

  it(`gives full tokenization for ${PROMPTS} prompts that share prefixes, reusing cached segments`, async () => {
    const rnd = random(model.length + 1);
    const cache = new PrefixTokenCache(encode, { maxTokens: 50_000, minSegmentChars: 24 });
    const seen: string[] = [];
    for (let n = 0; n < PROMPTS; n++) {
      // Half the prompts extend a random-length prefix of an earlier prompt (system prompt, chat history).
      const base = seen.length > 0 && rnd() < 0.5 ? pick(rnd, seen) : '';
      const text = base.slice(0, Math.floor(rnd() * (base.length + 1))) + prompt(rnd, 40, 300);
      seen.push(text);
      expect(await cache.encode(text), JSON.stringify(text)).toEqual(encode(text));
    }
    const stats = cache.stats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.misses).toBeGreaterThan(0);
    expect(stats.reusedTokens).toBeGreaterThan(0);
  });

  it('gives encodeChat tokens for rendered chats (special tokens included) through the cache', async () => {
    const rnd = random(99);
    const cache = new PrefixTokenCache(encode, { maxTokens: 50_000, minSegmentChars: 16 });
    const system: ChatMessage = { role: 'system', content: prompt(rnd, 300, 600) };
    for (let n = 0; n < 20; n++) {
      const messages: ChatMessage[] = [system, { role: 'user', content: prompt(rnd, 20, 200) }];
      if (n % 2 === 1) messages.push({ role: 'assistant', content: prompt(rnd, 20, 100) }, { role: 'user', content: prompt(rnd, 10, 80) });
      const rendered = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
      expect(await cache.encode(rendered)).toEqual(tok.encodeChat(messages, { addGenerationPrompt: true }));
    }
    expect(cache.stats().hits).toBeGreaterThan(0);
  });
});

describe('PrefixTokenCache', () => {
  /** An encoder that splits on characters and records what it was asked, to see what the cache skips. */
  function recordingEncoder(): { calls: string[]; encode: (text: string) => Promise<number[]> } {
    const calls: string[] = [];
    return { calls, encode: async (text) => (calls.push(text), [...text].map((c) => c.codePointAt(0) as number)) };
  }

  it.each([
    ['a space between letters', 'ab cd', 2, true],
    ['a space after a digit', 'a1 cd', 2, false],
    ['a space before a digit', 'ab 1d', 2, false],
    ['a double space', 'ab  cd', 2, false],
    ['not a space', 'abcd', 2, false],
    ['the first character', ' bc', 0, false],
    ['the last character', 'ab ', 2, false],
    ['a tab', 'ab\tcd', 2, false],
    ['non-Latin letters', 'жы ўэ', 2, true],
    ['after a surrogate pair letter', '𝒜 b', 2, false],
    ['after a combining mark', 'e\u0301 b', 2, false],
  ])('isSafeCut: %s', (_label, text, at, expected) => {
    expect(isSafeCut(text, at)).toBe(expected);
  });

  it('cuts at the first safe cut after the minimum segment length', () => {
    const text = 'aaaa bbbb, cccc dddd eeee 1 ffff';
    expect(segmentCuts(text, 1)).toEqual([4, 15, 20]);
    expect(segmentCuts(text, 6)).toEqual([15]);
    expect(segmentCuts(text, 100)).toEqual([]);
  });

  it('tokenizes a shared prefix once and only the new part of a longer prompt', async () => {
    const { calls, encode } = recordingEncoder();
    const cache = new PrefixTokenCache(encode, { maxTokens: 1000, minSegmentChars: 4 });
    await cache.encode('alpha beta gamma');
    expect(calls).toEqual(['alpha', ' beta', ' gamma']);
    calls.length = 0;
    expect(await cache.encode('alpha beta gamma delta')).toEqual([...'alpha beta gamma delta'].map((c) => c.codePointAt(0)));
    expect(calls).toEqual([' gamma', ' delta']);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 3, reusedTokens: 10, entries: 3, tokens: 16 });
  });

  it('drops the least recently used segments beyond maxTokens', async () => {
    const { calls, encode } = recordingEncoder();
    const cache = new PrefixTokenCache(encode, { maxTokens: 10, minSegmentChars: 4 });
    await cache.encode('aaaa bbbb x'); // stores "aaaa" (4) and " bbbb" (5)
    await cache.encode('cccc dddd x'); // storing "cccc" drops "aaaa", storing " dddd" drops " bbbb"
    expect(cache.stats()).toMatchObject({ entries: 2, tokens: 9 });
    calls.length = 0;
    await cache.encode('aaaa bbbb x');
    expect(calls).toEqual(['aaaa', ' bbbb', ' x']);
  });

  it('tokenizes a segment once when requests race', async () => {
    const { calls, encode } = recordingEncoder();
    const cache = new PrefixTokenCache(encode, { maxTokens: 1000, minSegmentChars: 4 });
    const [a, b] = await Promise.all([cache.encode('shared prefix one'), cache.encode('shared prefix two')]);
    expect(a).toHaveLength(17);
    expect(b).toHaveLength(17);
    expect(calls.filter((c) => c === 'shared')).toHaveLength(1);
  });

  it('passes encoder failures on and does not cache them', async () => {
    let fail = true;
    const cache = new PrefixTokenCache(async (text) => {
      if (fail) throw new Error('worker died');
      return [text.length];
    }, { maxTokens: 100, minSegmentChars: 2 });
    await expect(cache.encode('ab cd')).rejects.toThrow('worker died');
    fail = false;
    expect(await cache.encode('ab cd')).toEqual([2, 3]);
  });

  it('with maxTokens 0 only passes through', async () => {
    const { calls, encode } = recordingEncoder();
    const cache = new PrefixTokenCache(encode, { maxTokens: 0 });
    await cache.encode('x y');
    await cache.encode('x y');
    expect(calls).toEqual(['x y', 'x y']);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });
  });

  it.each([
    [{ maxTokens: -1 }, 'maxTokens'],
    [{ maxTokens: 1.5 }, 'maxTokens'],
    [{ maxTokens: 10, minSegmentChars: 0 }, 'minSegmentChars'],
  ])('rejects %j naming %s', (options, field) => {
    expect(() => new PrefixTokenCache(() => [], options)).toThrow(field);
  });
});
