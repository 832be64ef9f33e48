import { requestBlockKeys } from '@llmd/kv-cache';
import type { BlockStored } from '@llmd/kv-cache';
import { silentLogger } from '@llmd/observability';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BlockKey } from '../index/types.js';
import { KvEventApplier } from './applier.js';
import type { BlockExtraHash } from './extra-keys.js';
import { MapKvBlockIndex } from './test-support/map-index.js';
import { RECORDED_MODEL, batchOf, recordedBase, recordedLora } from './test-support/vectors.js';

const POD = '10.0.0.7:8000';
const base = recordedBase();

function keys(tokens: number[], model = RECORDED_MODEL, blockSize = 16, extra?: (i: number) => BlockExtraHash[] | null): BlockKey[] {
  return requestBlockKeys(tokens, { blockSize, hashSeed: '', modelName: model, ...(extra ? { extra } : {}) });
}

/** Consecutive blocks from the first that `pod` holds (on any tier). */
async function prefix(index: MapKvBlockIndex, requestKeys: BlockKey[], pod = POD): Promise<number> {
  return (await index.lookup(requestKeys, new Set([pod]))).length;
}

function stored(over: Partial<BlockStored>): BlockStored {
  return { ...base.event, ...over };
}

function removed(hashes: bigint[], medium: string | null = 'GPU', groupIdx: number | null = null) {
  return { type: 'BlockRemoved' as const, blockHashes: hashes, medium, groupIdx };
}

describe('KvEventApplier with the recorded vLLM events', () => {
  let index: MapKvBlockIndex;
  let applier: KvEventApplier;

  beforeEach(() => {
    index = new MapKvBlockIndex();
    applier = new KvEventApplier({ index, logger: silentLogger() });
  });

  it('indexes the base event under request keys of the same tokens', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event));
    const found = await index.lookup(keys(base.tokens));
    expect(found).toHaveLength(25);
    expect(found.every((holders) => holders.length === 1 && holders[0]?.pod === POD && holders[0]?.tier === 'gpu')).toBe(true);
    expect(await prefix(index, keys(base.tokens), 'other:1')).toBe(0);
    expect(applier.counters.applied.blockStored).toBe(1);
    expect(applier.counters.blocksStored).toBe(25);
  });

  it('cuts the prefix at a removed block and empties the pod on AllBlocksCleared', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event));
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([base.hashes[10] as bigint])));
    expect(await prefix(index, keys(base.tokens))).toBe(10);
    expect(applier.counters.blocksRemoved).toBe(1);

    await applier.apply(POD, RECORDED_MODEL, batchOf({ type: 'AllBlocksCleared' }));
    expect(await prefix(index, keys(base.tokens))).toBe(0);
    expect((await index.stats()).entries).toBe(0);
    expect(applier.counters.applied).toEqual({ blockStored: 1, blockRemoved: 1, allBlocksCleared: 1 });
  });

  it('keys a LoRA event under the adapter name, not the base model', async () => {
    const lora = recordedLora();
    await applier.apply(POD, RECORDED_MODEL, batchOf(lora.event));
    expect(await prefix(index, keys(lora.tokens, 'Alice'))).toBe(25);
    expect(await prefix(index, keys(lora.tokens, RECORDED_MODEL))).toBe(0);
  });

  it('drops a BlockStored whose parent it does not know, leaving the index alone', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ parentBlockHash: 42n })));
    expect(applier.counters.dropped['unknown-parent']).toBe(1);
    expect(applier.counters.applied.blockStored).toBe(0);
    expect(index.calls.add).toBe(0);
  });

  it('continues a chain from a known parent', async () => {
    const split = 160;
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ blockHashes: base.hashes.slice(0, 10), tokenIds: base.tokens.slice(0, split) })));
    await applier.apply(
      POD,
      RECORDED_MODEL,
      batchOf(stored({ blockHashes: base.hashes.slice(10), parentBlockHash: base.hashes[9] as bigint, tokenIds: base.tokens.slice(split) })),
    );
    expect(await prefix(index, keys(base.tokens))).toBe(25);
  });

  it('keeps going after an index failure', async () => {
    let failures = 1;
    const add = index.add.bind(index);
    index.add = async (...args) => {
      if (failures-- > 0) throw new Error('backend down');
      return add(...args);
    };
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event, base.event));
    expect(applier.counters.dropped['index-error']).toBe(1);
    expect(await prefix(index, keys(base.tokens))).toBe(25);
  });
});

describe('KvEventApplier block-size realignment', () => {
  it('maps 16-token engine blocks onto 64-token request blocks, across events', async () => {
    const index = new MapKvBlockIndex();
    const applier = new KvEventApplier({ index, blockSize: 64, logger: silentLogger() });
    // 16 engine blocks, then 8 continuing from engine block 15, then the trailing 16 tokens.
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ blockHashes: base.hashes.slice(0, 16), tokenIds: base.tokens.slice(0, 256) })));
    await applier.apply(
      POD,
      RECORDED_MODEL,
      batchOf(stored({ blockHashes: base.hashes.slice(16, 24), parentBlockHash: base.hashes[15] as bigint, tokenIds: base.tokens.slice(256, 384) })),
    );
    await applier.apply(
      POD,
      RECORDED_MODEL,
      batchOf(stored({ blockHashes: base.hashes.slice(24), parentBlockHash: base.hashes[23] as bigint, tokenIds: base.tokens.slice(384) })),
    );
    const requestKeys = keys(base.tokens, RECORDED_MODEL, 64);
    expect(requestKeys).toHaveLength(6);
    expect(await prefix(index, requestKeys)).toBe(6);
    expect(applier.counters.dropped['no-full-block']).toBe(1);

    // Engine block 5 lies in request block 1.
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([base.hashes[5] as bigint])));
    expect(await prefix(index, requestKeys)).toBe(1);
  });

  it('leaves an engine block past the last full request block unmapped', async () => {
    const index = new MapKvBlockIndex();
    const applier = new KvEventApplier({ index, blockSize: 64, logger: silentLogger() });
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event));
    expect(await prefix(index, keys(base.tokens, RECORDED_MODEL, 64))).toBe(6);
    expect(await index.getRequestKey(base.hashes[23] as bigint)).toBe(keys(base.tokens, RECORDED_MODEL, 64)[5]);
    expect(await index.getRequestKey(base.hashes[24] as bigint)).toBeNull();
  });

  it('maps 64-token engine blocks onto 16-token request blocks, across events', async () => {
    const index = new MapKvBlockIndex();
    const applier = new KvEventApplier({ index, blockSize: 16, logger: silentLogger() });
    const engine = [101n, 102n, 103n, 104n, 105n, 106n];
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ blockHashes: engine.slice(0, 5), blockSize: 64, tokenIds: base.tokens.slice(0, 320) })));
    await applier.apply(
      POD,
      RECORDED_MODEL,
      batchOf(stored({ blockHashes: engine.slice(5), blockSize: 64, parentBlockHash: 105n, tokenIds: base.tokens.slice(320, 384) })),
    );
    const requestKeys = keys(base.tokens.slice(0, 384));
    expect(requestKeys).toHaveLength(24);
    expect(await prefix(index, requestKeys)).toBe(24);

    // Engine block 1 holds request blocks 4..7.
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([102n])));
    expect(await prefix(index, requestKeys)).toBe(4);
  });
});

describe('KvEventApplier extra keys', () => {
  const salt = 'salt-1';
  const img = 'img-A';
  const none = () => null;
  // One table row per engine/indexer block-size pair and multimodal key layout.
  it.each([
    {
      name: 'equal sizes, cache salt on block 0',
      engineBlockSize: 16,
      blockSize: 16,
      extraKeys: (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? [salt] : null)),
      expected: (i: number) => (i === 0 ? [{ Hash: salt }] : null),
    },
    {
      name: 'equal sizes, LoRA name first, image tuple after it',
      engineBlockSize: 16,
      blockSize: 16,
      lora: 'Alice',
      extraKeys: (n: number) => Array.from({ length: n }, (_, i) => (i === 3 ? ['Alice', [img, 4]] : ['Alice'])),
      expected: (i: number) => (i === 3 ? [{ Hash: img }] : null),
    },
    {
      name: 'engine 16 / indexer 64, image tuples on engine blocks 2..5, salt on 0',
      engineBlockSize: 16,
      blockSize: 64,
      extraKeys: (n: number) =>
        Array.from({ length: n }, (_, i) => (i === 0 ? [salt] : i >= 2 && i <= 5 ? [[img, i === 2 ? 0 : -16 * (i - 2)]] : null)),
      expected: (i: number) => (i === 0 ? [{ Hash: img }, { Hash: salt }] : i === 1 ? [{ Hash: img }] : null),
    },
    {
      name: 'engine 16 / indexer 64, bare image ids on engine blocks 0..5 with salt on 0',
      engineBlockSize: 16,
      blockSize: 64,
      extraKeys: (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? [img, salt] : i <= 5 ? [img] : null)),
      expected: (i: number) => (i === 0 ? [{ Hash: img }, { Hash: salt }] : i === 1 ? [{ Hash: img }] : null),
    },
    {
      name: 'engine 64 / indexer 16, image on engine blocks 0..1, salt on 0',
      engineBlockSize: 64,
      blockSize: 16,
      extraKeys: (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? [img, salt] : i === 1 ? [img] : null)),
      expected: (i: number) => (i === 0 ? [{ Hash: img }, { Hash: salt }] : i < 8 ? [{ Hash: img }] : null),
    },
  ])('$name', async ({ engineBlockSize, blockSize, extraKeys, expected, lora }) => {
    const index = new MapKvBlockIndex();
    const applier = new KvEventApplier({ index, blockSize, logger: silentLogger() });
    const tokens = base.tokens.slice(0, 384);
    const engineBlocks = tokens.length / engineBlockSize;
    const hashes = Array.from({ length: engineBlocks }, (_, i) => 1000n + BigInt(i));
    const model = lora ?? RECORDED_MODEL;
    await applier.apply(
      POD,
      RECORDED_MODEL,
      batchOf(stored({ blockHashes: hashes, blockSize: engineBlockSize, tokenIds: tokens, loraName: lora ?? null, extraKeys: extraKeys(engineBlocks) })),
    );
    const withExtras = keys(tokens, model, blockSize, expected);
    expect(await prefix(index, withExtras)).toBe(tokens.length / blockSize);
    // The extras change the keys: the text-only chain is not what was indexed.
    const textOnly = keys(tokens, model, blockSize, none);
    expect(await prefix(index, textOnly)).toBeLessThan(tokens.length / blockSize);
  });
});

describe('KvEventApplier tiers and the dedup filter', () => {
  let index: MapKvBlockIndex;
  let applier: KvEventApplier;
  const hash3 = () => base.hashes[3] as bigint;

  beforeEach(() => {
    index = new MapKvBlockIndex();
    applier = new KvEventApplier({ index, logger: silentLogger() });
  });

  it('forwards a removal only when every store of the block has been removed', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event, base.event));
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([hash3()])));
    expect(await prefix(index, keys(base.tokens))).toBe(25);
    expect(applier.counters.removalsSuppressed).toBe(1);
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([hash3()])));
    expect(await prefix(index, keys(base.tokens))).toBe(3);
    expect(applier.counters.blocksRemoved).toBe(1);
    expect(applier.dedupSize).toBe(24);
  });

  it.each([
    { name: 'another tier', medium: 'CPU', group: null, left: 25 },
    { name: 'another group', medium: 'GPU', group: 7, left: 25 },
    { name: 'the same tier, lower-cased', medium: 'gpu', group: null, left: 3 },
  ])('counts per (pod, tier, group): a removal on $name', async ({ medium, group, left }) => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event));
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([hash3()], medium, group)));
    expect(await prefix(index, keys(base.tokens))).toBe(left);
  });

  it('adds a CPU tier from a tokenless store and removes it on its own', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event));
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ tokenIds: [], blockHashes: base.hashes.slice(0, 5), medium: 'CPU' })));
    const found = await index.lookup(keys(base.tokens));
    expect(found.map((holders) => holders.map((h) => h.tier).sort().join('+'))).toEqual([
      ...Array<string>(5).fill('cpu+gpu'),
      ...Array<string>(20).fill('gpu'),
    ]);
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed(base.hashes.slice(0, 5), 'CPU')));
    expect((await index.lookup(keys(base.tokens))).flat().every((h) => h.tier === 'gpu')).toBe(true);
    expect(await prefix(index, keys(base.tokens))).toBe(25);
  });

  it('drops a tokenless store of blocks the index does not know', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(stored({ tokenIds: [], blockHashes: [5n, 6n], medium: 'CPU' })));
    expect(applier.counters.dropped['unknown-engine-keys']).toBe(1);
    expect(index.calls.add).toBe(0);
  });

  it('indexes only prefix-indexable KV-cache groups', async () => {
    const sliding = stored({ groupIdx: 1, kvCacheSpecKind: 'sliding_window', blockHashes: [7n, 8n], tokenIds: base.tokens.slice(0, 32) });
    const full = stored({ groupIdx: 0, kvCacheSpecKind: 'full_attention' });
    await applier.apply(POD, RECORDED_MODEL, batchOf(sliding, full, removed([7n], 'GPU', 1), removed([hash3()], 'GPU', 0)));
    expect(applier.counters.dropped['unindexed-group']).toBe(2);
    expect(applier.counters.applied).toMatchObject({ blockStored: 1, blockRemoved: 1 });
    expect(await prefix(index, keys(base.tokens))).toBe(3);
  });

  it('drops a grouped store whose tokens do not fill its blocks', async () => {
    const ragged = stored({ groupIdx: 0, kvCacheSpecKind: 'full_attention', tokenIds: base.tokens.slice(0, 390) });
    await applier.apply(POD, RECORDED_MODEL, batchOf(ragged));
    expect(applier.counters.dropped['non-dense-span']).toBe(1);
    expect(index.calls.add).toBe(0);
  });

  it('clears the dedup counts with the pod', async () => {
    await applier.apply(POD, RECORDED_MODEL, batchOf(base.event, base.event, { type: 'AllBlocksCleared' }, base.event));
    await applier.apply(POD, RECORDED_MODEL, batchOf(removed([hash3()])));
    expect(await prefix(index, keys(base.tokens))).toBe(3);
  });
});
