import { describe, it, expect } from 'vitest';
import { encodeCanonicalCbor } from './cbor.js';
import { readVector } from './test-support/vectors.js';
import {
  VllmBlockHasher,
  blockExtraKeys,
  eventBlockHash,
  hashBlockTokens,
  noneHash,
  type BlockHashFunctions,
} from './vllm-hash.js';

interface RecordedEvent {
  model_name: string;
  lora_name: string | null;
  block_hashes: bigint[];
  parent_block_hash: bigint | null;
  token_ids: number[];
  block_size: number;
  medium: string;
  hash_seed: string;
}

interface HashVectors {
  vllm_sha256_cbor: {
    none_hash_hex_seed_42: string;
    first_block_cbor_hex: string;
    base_seed42_bs16: string[];
    lora_Alice_seed42_bs16: string[];
    base_seed42_bs64: string[];
  };
}

const base = readVector('kvcm_kv_event_base_qwen3-0.6b_seed42.json') as RecordedEvent;
const lora = readVector('kvcm_kv_event_lora_alice_qwen3-0.6b_seed42.json') as RecordedEvent;
const vectors = (readVector('hash_vectors.json') as HashVectors).vllm_sha256_cbor;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('recorded vLLM events (Qwen3-0.6B, PYTHONHASHSEED=42, sha256_cbor)', () => {
  it('reads the recorded hashes as exact uint64 values', () => {
    expect(base.block_hashes).toHaveLength(25);
    expect(base.block_hashes[0]).toBe(17705339885301241772n);
    expect(base.block_hashes.map(String)).toEqual(vectors.base_seed42_bs16);
    expect(lora.block_hashes.map(String)).toEqual(vectors.lora_Alice_seed42_bs16);
  });

  it('computes the none hash of seed "42"', () => {
    expect(hex(noneHash('42'))).toBe(vectors.none_hash_hex_seed_42);
    expect(hex(new VllmBlockHasher({ seed: '42', blockSize: 16 }).noneHash)).toBe(vectors.none_hash_hex_seed_42);
  });

  it('encodes the first block payload byte for byte', () => {
    const payload = [noneHash('42'), base.token_ids.slice(0, 16), null];
    expect(hex(encodeCanonicalCbor(payload))).toBe(vectors.first_block_cbor_hex);
  });

  it('reproduces all 25 base block hashes', () => {
    const hasher = new VllmBlockHasher({ seed: base.hash_seed, blockSize: base.block_size });
    const { digests, hashes } = hasher.hashBlocks(base.token_ids);
    expect(hashes).toEqual(base.block_hashes);
    expect(digests).toHaveLength(25);
    expect(digests.every((d) => d.length === 32)).toBe(true);
  });

  it('reproduces all 25 LoRA "Alice" block hashes with extra keys ["Alice"]', () => {
    const hasher = new VllmBlockHasher({ seed: lora.hash_seed, blockSize: lora.block_size });
    const { hashes } = hasher.hashBlocks(lora.token_ids, {
      extraKeys: (i) => blockExtraKeys({ loraName: lora.lora_name, blockStartToken: i * lora.block_size }),
    });
    expect(hashes).toEqual(lora.block_hashes);
  });

  it('reproduces the block-size-64 chain', () => {
    const { hashes } = new VllmBlockHasher({ seed: '42', blockSize: 64 }).hashBlocks(base.token_ids);
    expect(hashes.map(String)).toEqual(vectors.base_seed42_bs64);
  });

  it('ignores a trailing partial block', () => {
    const hasher = new VllmBlockHasher({ seed: '42', blockSize: 16 });
    const { hashes } = hasher.hashBlocks([...base.token_ids, 1, 2, 3]);
    expect(hashes).toEqual(base.block_hashes);
    expect(hasher.hashBlocks(base.token_ids.slice(0, 15)).hashes).toEqual([]);
  });

  it('continues a chain from a given parent digest', () => {
    const hasher = new VllmBlockHasher({ seed: '42', blockSize: 16 });
    const { digests } = hasher.hashBlocks(base.token_ids);
    const rest = hasher.hashBlocks(base.token_ids.slice(32), { parent: digests[1] as Uint8Array });
    expect(rest.hashes).toEqual(base.block_hashes.slice(2));
  });

  it('satisfies the injected interface block by block, and takes typed arrays', () => {
    const hasher: BlockHashFunctions = new VllmBlockHasher({ seed: '42', blockSize: 16 });
    const tokens = Uint32Array.from(base.token_ids);
    let parent: Uint8Array | null = null;
    const hashes: bigint[] = [];
    for (let start = 0; start + 16 <= tokens.length; start += 16) {
      parent = hasher.hashBlock(parent, tokens.subarray(start, start + 16), null);
      hashes.push(hasher.eventHash(parent));
    }
    expect(hashes).toEqual(base.block_hashes);
  });

  it('matches the free function hashBlockTokens', () => {
    const digest = hashBlockTokens(noneHash('42'), base.token_ids.slice(0, 16), ['Alice']);
    expect(eventBlockHash(digest)).toBe(lora.block_hashes[0]);
  });
});

describe('noneHash', () => {
  it('draws 32 random bytes when there is no seed', () => {
    const a = noneHash(undefined);
    const b = noneHash(undefined);
    expect(a).toHaveLength(32);
    expect(hex(a)).not.toBe(hex(b));
  });

  it('hashes the empty seed as an empty CBOR text, not as no seed', () => {
    // sha256 of the single byte 0x60.
    expect(hex(noneHash(''))).toBe('8d33f520a3c4cef80d2453aef81b612bfe1cb44c8b2025630ad38662763f13d3');
  });
});

describe('eventBlockHash', () => {
  it.each<[string, number[], bigint]>([
    ['last 8 bytes of a 32-byte digest', [...new Array<number>(24).fill(0xaa), 0, 0, 0, 0, 0, 0, 1, 2], 0x102n],
    ['exactly 8 bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0xffffffffffffffffn],
    ['high bit set', [0x80, 0, 0, 0, 0, 0, 0, 0], 0x8000000000000000n],
    ['shorter input is left-padded', [0x01, 0x02, 0x03], 0x010203n],
    ['empty input', [], 0n],
  ])('reads %s', (_name, bytes, expected) => {
    expect(eventBlockHash(Uint8Array.from(bytes))).toBe(expected);
  });
});

describe('blockExtraKeys', () => {
  it.each<[string, Parameters<typeof blockExtraKeys>[0], unknown[] | null]>([
    ['nothing', { blockStartToken: 0 }, null],
    ['nulls', { loraName: null, cacheSalt: null, blockStartToken: 0 }, null],
    ['a LoRA on any block', { loraName: 'Alice', blockStartToken: 32 }, ['Alice']],
    ['the salt on the first block', { cacheSalt: 's1', blockStartToken: 0 }, ['s1']],
    ['no salt after the first block', { cacheSalt: 's1', blockStartToken: 16 }, null],
    ['LoRA then salt', { loraName: 'Alice', cacheSalt: 's1', blockStartToken: 0 }, ['Alice', 's1']],
    ['an empty salt is no salt', { cacheSalt: '', blockStartToken: 0 }, null],
  ])('for %s', (_name, input, expected) => {
    expect(blockExtraKeys(input)).toEqual(expected);
  });

  it('changes only the first block hash when a salt is set', () => {
    const hasher = new VllmBlockHasher({ seed: '42', blockSize: 16 });
    const tokens = base.token_ids.slice(0, 32);
    const salted = hasher.hashBlocks(tokens, {
      extraKeys: (i) => blockExtraKeys({ cacheSalt: 'tenant-a', blockStartToken: i * 16 }),
    });
    expect(salted.hashes[0]).not.toBe(base.block_hashes[0]);
    const second = hashBlockTokens(salted.digests[0] as Uint8Array, tokens.slice(16), null);
    expect(salted.hashes[1]).toBe(eventBlockHash(second));
  });
});

describe('argument checks', () => {
  it.each([0, -1, 1.5, NaN])('rejects blockSize %s', (blockSize) => {
    expect(() => new VllmBlockHasher({ seed: '42', blockSize })).toThrow(/blockSize/);
  });

  it('rejects a parent that is not a 32-byte digest', () => {
    expect(() => hashBlockTokens(new Uint8Array(8), [1, 2], null)).toThrow(/parent: expected a 32-byte digest/);
  });

  it('names a token that is not an integer', () => {
    expect(() => hashBlockTokens(noneHash('42'), [1, 2, 3.5], null)).toThrow(/tokens\[2\]/);
  });
});
