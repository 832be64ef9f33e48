import { xxh64 } from '@llmd/kv-cache';
import type { InferenceRequest } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { request } from '../test-support/fixtures.js';
import { ByteScratch, estimatePromptTokens, hashRequestBlocks, promptInputs } from './hashing.js';

/** Reference: the HEAD chain written out plainly with the BigInt XXH64 of @llmd/kv-cache. */
function referenceChain(bytes: Uint8Array, blockTokens: number, seedInput: string): bigint[] {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const blockBytes = blockTokens * 4;
  let prev = xxh64(new TextEncoder().encode(seedInput));
  const out: bigint[] = [];
  for (let start = 0; start < padded.length; start += blockBytes) {
    const content = xxh64(padded.subarray(start, Math.min(start + blockBytes, padded.length)));
    const pair = new Uint8Array(16);
    const view = new DataView(pair.buffer);
    view.setBigUint64(0, content, true);
    view.setBigUint64(8, prev, true);
    prev = xxh64(pair);
    out.push(prev);
  }
  return out;
}

function hashesOf(req: InferenceRequest, blockTokens = 64, maxBlocks = Infinity): bigint[] {
  const h = hashRequestBlocks(req, blockTokens, maxBlocks, new ByteScratch());
  return Array.from({ length: h.count }, (_, i) => (BigInt(h.halves[2 * i + 1] as number) << 32n) | BigInt(h.halves[2 * i] as number));
}

const text = (n: number, seed = 0): string => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + seed) % 26))).join('');

function chat(messages: unknown[], extra: Record<string, unknown> = {}): InferenceRequest {
  return request({
    kind: 'chat-completions',
    body: { model: 'm', messages, ...extra },
    promptView: { text: JSON.stringify(messages), tokenIds: null, messages: messages as Record<string, unknown>[] },
    model: 'm',
  });
}

describe('hashRequestBlocks', () => {
  it.each([
    // 64-token blocks are 256 bytes; the last block may be partial and is still hashed.
    [1, 1],
    [255, 1],
    [256, 1],
    [257, 2],
    [512, 2],
    [513, 3],
  ])('cuts %i bytes into %i blocks', (bytes, blocks) => {
    expect(hashesOf(request({ prompt: text(bytes), model: 'm' }))).toHaveLength(blocks);
  });

  it('matches the reference chain, partial block zero-padded to a whole token', () => {
    const prompt = text(600, 3);
    expect(hashesOf(request({ prompt, model: 'm' }))).toEqual(referenceChain(new TextEncoder().encode(prompt), 64, 'm'));
  });

  it('seeds the chain with model ‖ cache_salt, so model and salt change every block', () => {
    const prompt = text(700);
    const base = hashesOf(request({ prompt, model: 'm' }));
    const otherModel = hashesOf(request({ prompt, model: 'n' }));
    const salted = hashesOf(request({ prompt, model: 'm', body: { model: 'm', prompt, cache_salt: 's' } }));
    expect(salted).toEqual(referenceChain(new TextEncoder().encode(prompt), 64, 'ms'));
    for (let i = 0; i < base.length; i++) {
      expect(otherModel[i]).not.toBe(base[i]);
      expect(salted[i]).not.toBe(base[i]);
    }
  });

  it('shares the leading hashes of a common prefix and diverges after it', () => {
    const a = hashesOf(request({ prompt: text(512) + 'x'.repeat(300), model: 'm' }));
    const b = hashesOf(request({ prompt: text(512) + 'y'.repeat(300), model: 'm' }));
    expect(a.slice(0, 2)).toEqual(b.slice(0, 2));
    expect(a[2]).not.toBe(b[2]);
  });

  it('hashes token ids as little-endian uint32, the same bytes the estimate backend packs from text', () => {
    const prompt = text(300);
    const bytes = new TextEncoder().encode(prompt);
    const view = new DataView(bytes.buffer);
    const ids = Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
    const fromIds = request({ model: 'm', promptView: { text: ids.join(','), tokenIds: ids, messages: null } });
    expect(hashesOf(fromIds, 16)).toEqual(hashesOf(request({ prompt, model: 'm' }), 16));
    expect(hashRequestBlocks(fromIds, 16, Infinity, new ByteScratch()).totalTokens).toBe(75);
  });

  it('caps each prompt at maxBlocks, keeping the uncapped token count', () => {
    const req = request({ prompt: text(2000), model: 'm' });
    const capped = hashRequestBlocks(req, 64, 3, new ByteScratch());
    expect(capped.count).toBe(3);
    expect(hashesOf(req, 64, 3)).toEqual(hashesOf(req).slice(0, 3));
    expect(capped.totalTokens).toBe(500);
    expect(hashRequestBlocks(req, 64, 0, new ByteScratch()).count).toBe(0);
  });

  it('chains each string of a completions list on its own', () => {
    const one = text(300, 1);
    const two = text(300, 2);
    const req = request({ model: 'm', body: { model: 'm', prompt: [one, two] } });
    const h = hashRequestBlocks(req, 64, Infinity, new ByteScratch());
    expect(h.promptEnds).toEqual([2, 4]);
    expect(hashesOf(req).slice(2)).toEqual(hashesOf(request({ prompt: two, model: 'm' })));
  });

  it('hashes nothing for an empty prompt', () => {
    expect(hashRequestBlocks(request({ prompt: '', model: 'm' }), 64, Infinity, new ByteScratch())).toMatchObject({ count: 0, totalTokens: 0 });
  });

  it('encodes multi-byte characters as UTF-8 and truncates on the byte limit', () => {
    const prompt = 'é'.repeat(200); // 400 bytes
    const req = request({ prompt, model: 'm' });
    expect(hashesOf(req, 64)).toEqual(referenceChain(new TextEncoder().encode(prompt), 64, 'm'));
    expect(hashesOf(req, 64, 1)).toEqual(referenceChain(new TextEncoder().encode(prompt).subarray(0, 256), 64, 'm'));
  });

  it('reuses the scratch buffer without leaking bytes between requests', () => {
    const scratch = new ByteScratch();
    hashRequestBlocks(request({ prompt: text(1000), model: 'm' }), 64, Infinity, scratch);
    const again = hashRequestBlocks(request({ prompt: 'abcde', model: 'm' }), 64, Infinity, scratch);
    expect((BigInt(again.halves[1] as number) << 32n) | BigInt(again.halves[0] as number)).toBe(referenceChain(new TextEncoder().encode('abcde'), 64, 'm')[0]);
  });
});

describe('promptInputs', () => {
  it('reads chat as tools JSON, then role and content text per message, skipping non-text parts', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const req = chat(
      [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'here' }] },
      ],
      { tools },
    );
    expect(promptInputs(req)).toEqual([{ parts: [JSON.stringify(tools), 'system', 'be brief', 'user', 'look', 'here'] }]);
  });

  it('reads responses as JSON of instructions, tools and input', () => {
    const req = request({ kind: 'responses', model: 'm', body: { model: 'm', input: 'hi', instructions: 'be kind' } });
    expect(promptInputs(req)).toEqual([{ parts: [JSON.stringify([{ instructions: 'be kind' }, { input: 'hi' }])] }]);
  });

  it('falls back to the parsed prompt text for other requests', () => {
    const req = request({ kind: 'other', model: 'm', body: { model: 'm' }, promptView: { text: 'raw', tokenIds: null, messages: null } });
    expect(promptInputs(req)).toEqual([{ parts: ['raw'] }]);
  });
});

describe('estimatePromptTokens', () => {
  it.each([
    ['ascii', request({ prompt: 'abcdefgh' }), 2],
    ['partial token rounds up', request({ prompt: 'abcdefghi' }), 3],
    ['UTF-8 bytes, not characters', request({ prompt: 'ééé' }), 2],
    ['token ids', request({ promptView: { text: '1,2,3', tokenIds: [1, 2, 3], messages: null } }), 3],
    ['chat role and content', chat([{ role: 'user', content: 'hello' }]), 3],
  ])('%s', (_name, req, tokens) => {
    expect(estimatePromptTokens(req)).toBe(tokens);
  });
});
