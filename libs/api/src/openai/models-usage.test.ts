import { describe, expect, it } from 'vitest';
import { modelListSchema } from './models.js';
import { usageSchema } from './usage.js';

describe('modelListSchema', () => {
  it('parses a vLLM model list with a LoRA adapter, keeping extra keys', () => {
    const list = {
      object: 'list',
      data: [
        {
          id: 'base',
          object: 'model',
          created: 1700000000,
          owned_by: 'vllm',
          root: 'base',
          parent: null,
          max_model_len: 4096,
          permission: [],
        },
        { id: 'adapter', object: 'model', created: 1700000000, owned_by: 'vllm', root: '/adapters/a', parent: 'base' },
      ],
    };
    expect(modelListSchema.parse(list)).toEqual(list);
  });

  it('rejects an entry whose object is not "model"', () => {
    const result = modelListSchema.safeParse({ object: 'list', data: [{ id: 'x', object: 'thing', created: 1, owned_by: 'o' }] });
    expect(result.error?.issues[0]?.path).toEqual(['data', 0, 'object']);
  });
});

describe('usageSchema', () => {
  it.each([
    [{ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }],
    [{ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } }],
    [{ prompt_tokens: 7, total_tokens: 7, prompt_tokens_details: null }],
  ])('accepts %j', (usage) => {
    expect(usageSchema.parse(usage)).toEqual(usage);
  });

  it('rejects a usage without prompt_tokens', () => {
    expect(usageSchema.safeParse({ completion_tokens: 1, total_tokens: 1 }).success).toBe(false);
  });
});
