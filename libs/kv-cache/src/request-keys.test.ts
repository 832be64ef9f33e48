import { describe, it, expect } from 'vitest';
import { encodeCanonicalCbor } from './cbor.js';
import { fnv64a } from './fnv.js';
import { requestBlockKeyWords, requestBlockKeys, requestKeyRoot } from './request-keys.js';
import { readVector } from './test-support/vectors.js';
import { xxh64 } from './xxh64.js';

interface RequestKeyVectors {
  golden: { model: string; hashSeed: string; blockSizeTokens: number; tokens: number[]; keys: string[] };
  qwen3_seed42_bs16: string[];
  qwen3_seed_empty_bs64: string[];
}

const vectors = (readVector('hash_vectors.json') as { llmd_request_keys_cbor_fnv: RequestKeyVectors })
  .llmd_request_keys_cbor_fnv;
const qwen = readVector('kvcm_kv_event_base_qwen3-0.6b_seed42.json') as { model_name: string; token_ids: number[] };
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('requestBlockKeys (cbor-fnv)', () => {
  it('reproduces the upstream golden key 1334984470577408192', () => {
    const { golden } = vectors;
    const keys = requestBlockKeys(golden.tokens, {
      blockSize: golden.blockSizeTokens,
      hashSeed: golden.hashSeed,
      modelName: golden.model,
    });
    expect(keys).toEqual([1334984470577408192n]);
    expect(keys.map(String)).toEqual(golden.keys);
  });

  it('builds the root payload as upstream documents it', () => {
    const payload = encodeCanonicalCbor([0xcbf29ce484222325n, null, vectors.golden.model]);
    expect(hex(payload).startsWith('831bcbf29ce484222325f67823')).toBe(true);
    expect(requestKeyRoot('', vectors.golden.model)).toBe(fnv64a(payload));
  });

  it.each<[string, string, number, keyof RequestKeyVectors]>([
    ['seed "42", block size 16', '42', 16, 'qwen3_seed42_bs16'],
    ['empty seed, block size 64', '', 64, 'qwen3_seed_empty_bs64'],
  ])('reproduces the Qwen3 chain with %s', (_name, hashSeed, blockSize, vector) => {
    const keys = requestBlockKeys(qwen.token_ids, { blockSize, hashSeed, modelName: qwen.model_name });
    expect(keys.map(String)).toEqual(vectors[vector]);
  });

  it('continues a chain from parentKey, and treats parentKey 0 as "start from the root"', () => {
    const opts = { blockSize: 16, hashSeed: '42', modelName: qwen.model_name };
    const keys = requestBlockKeys(qwen.token_ids, opts);
    expect(requestBlockKeys(qwen.token_ids.slice(32), { ...opts, parentKey: keys[1] as bigint })).toEqual(keys.slice(2));
    expect(requestBlockKeys(qwen.token_ids, { ...opts, parentKey: 0n })).toEqual(keys);
  });

  it('folds the model name into the root', () => {
    const a = requestBlockKeys(qwen.token_ids.slice(0, 16), { blockSize: 16, hashSeed: '42', modelName: 'a' });
    const b = requestBlockKeys(qwen.token_ids.slice(0, 16), { blockSize: 16, hashSeed: '42', modelName: 'b' });
    expect(a[0]).not.toBe(b[0]);
  });

  it('hashes extra features of one block into it and every later key', () => {
    const opts = { blockSize: 16, hashSeed: '42', modelName: qwen.model_name };
    const plain = requestBlockKeys(qwen.token_ids.slice(0, 48), opts);
    const withNulls = requestBlockKeys(qwen.token_ids.slice(0, 48), { ...opts, extra: () => null });
    expect(withNulls).toEqual(plain);
    const mm = requestBlockKeys(qwen.token_ids.slice(0, 48), {
      ...opts,
      extra: (i) => (i === 1 ? [{ Hash: 'image-1' }] : null),
    });
    expect(mm[0]).toBe(plain[0]);
    expect(mm[1]).not.toBe(plain[1]);
    expect(mm[2]).not.toBe(plain[2]);
    // Block 1 is fnv64a(cbor([key0, tokens, [{"Hash": "image-1"}]])).
    const expected1 = fnv64a(encodeCanonicalCbor([plain[0] as bigint, qwen.token_ids.slice(16, 32), [{ Hash: 'image-1' }]]));
    expect(mm[1]).toBe(expected1);
  });

  it('returns no keys for fewer tokens than a block', () => {
    expect(requestBlockKeys([1, 2, 3], { blockSize: 4, hashSeed: '', modelName: 'm' })).toEqual([]);
  });

  it.each<[string, Partial<Parameters<typeof requestBlockKeys>[1]>, RegExp]>([
    ['a zero block size', { blockSize: 0 }, /blockSize/],
    ['a fractional block size', { blockSize: 2.5 }, /blockSize/],
    ['a negative parent key', { parentKey: -1n }, /parentKey/],
    ['a parent key above 2^64-1', { parentKey: 1n << 64n }, /parentKey/],
  ])('rejects %s', (_name, override, message) => {
    expect(() => requestBlockKeys([1, 2, 3, 4], { blockSize: 4, hashSeed: '', modelName: 'm', ...override })).toThrow(message);
  });
});

describe('requestBlockKeys (xxh64)', () => {
  // Independent construction of upstream's byte layout: parent u64 LE, tokens u32 LE, each extra string
  // as u64 LE byte length then its bytes.
  function layout(parent: bigint, tokens: number[], extras: string[]): Uint8Array {
    const parts: number[] = [];
    const u64 = (v: bigint): void => {
      for (let i = 0n; i < 8n; i++) parts.push(Number((v >> (8n * i)) & 0xffn));
    };
    u64(parent);
    for (const t of tokens) parts.push(t & 0xff, (t >>> 8) & 0xff, (t >>> 16) & 0xff, (t >>> 24) & 0xff);
    for (const e of extras) {
      const bytes = new TextEncoder().encode(e);
      u64(BigInt(bytes.length));
      parts.push(...bytes);
    }
    return Uint8Array.from(parts);
  }

  it('chains from xxh64(seed) with the model name as the root extra', () => {
    const model = qwen.model_name;
    const root = xxh64(layout(xxh64(new TextEncoder().encode('42')), [], [model]));
    expect(requestKeyRoot('42', model, 'xxh64')).toBe(root);

    const tokens = qwen.token_ids.slice(0, 32);
    const keys = requestBlockKeys(tokens, {
      blockSize: 16,
      hashSeed: '42',
      modelName: model,
      algorithm: 'xxh64',
      extra: (i) => (i === 1 ? ['mm-1', { Hash: 'mm-2' }] : null),
    });
    const k0 = xxh64(layout(root, tokens.slice(0, 16), []));
    const k1 = xxh64(layout(k0, tokens.slice(16), ['mm-1', 'mm-2']));
    expect(keys).toEqual([k0, k1]);
  });

  it('differs from cbor-fnv and rejects extras it cannot hash', () => {
    const base = { blockSize: 16, hashSeed: '42', modelName: 'm' };
    const tokens = qwen.token_ids.slice(0, 16);
    expect(requestBlockKeys(tokens, { ...base, algorithm: 'xxh64' })).not.toEqual(requestBlockKeys(tokens, base));
    expect(() => requestBlockKeys(tokens, { ...base, algorithm: 'xxh64', extra: () => [42] })).toThrow(/extra\[0\]/);
    expect(() => requestBlockKeys([1, -2], { ...base, blockSize: 2, algorithm: 'xxh64' })).toThrow(/tokens\[1\]/);
  });

  it('rejects an unknown algorithm', () => {
    expect(() => requestKeyRoot('', 'm', 'sha1' as never)).toThrow(/algorithm/);
  });
});

describe('requestBlockKeyWords', () => {
  const join = (w: Uint32Array) => Array.from({ length: w.length / 2 }, (_, i) => (BigInt(w[2 * i + 1] as number) << 32n) | BigInt(w[2 * i] as number));
  const tokens = Array.from({ length: 16 * 40 + 5 }, (_, i) => (i * 7919 + 3) % 151_000);

  it.each([
    ['text', { blockSize: 16, hashSeed: '42', modelName: 'Qwen/Qwen3-0.6B' }],
    ['xxh64', { blockSize: 16, hashSeed: '', modelName: 'm', algorithm: 'xxh64' as const }],
    ['a parent key', { blockSize: 16, hashSeed: '', modelName: 'm', parentKey: 0xfedc_ba98_7654_3210n }],
    ['extras', { blockSize: 16, hashSeed: '', modelName: 'm', extra: (i: number) => (i === 0 ? [{ Hash: 'img' }] : null) }],
  ])('gives the same keys as requestBlockKeys, with %s', (_, options) => {
    const words = requestBlockKeyWords(tokens, options);
    expect(words.length).toBe(80);
    expect(join(words)).toEqual(requestBlockKeys(tokens, options));
  });

  it('hashes a block holding a token outside uint32 through the generic encoder, and rejects a non-integer naming its place', () => {
    const odd = [...tokens.slice(0, 20), -1, ...tokens.slice(21, 48)];
    const options = { blockSize: 16, hashSeed: '', modelName: 'm' };
    const keys = requestBlockKeys(odd, options);
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toBe(requestBlockKeys(tokens.slice(0, 16), options)[0]);
    expect(keys[1]).toBe(fnv64a(encodeCanonicalCbor([keys[0], odd.slice(16, 32), null])));
    expect(join(requestBlockKeyWords(odd, options))).toEqual(keys);
    expect(() => requestBlockKeyWords([...tokens.slice(0, 20), 1.5, ...tokens.slice(21, 32)], options)).toThrow(/tokens\[4\]/);
  });
});
