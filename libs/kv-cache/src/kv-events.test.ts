import { describe, it, expect } from 'vitest';
import { Decoder, encode } from '@msgpack/msgpack';
import {
  KvEventDecodeError,
  decodeKvEventBatch,
  encodeKvEventBatch,
  type BlockStored,
  type KvEvent,
  type KvEventBatch,
} from './kv-events.js';
import { readVector } from './test-support/vectors.js';

const recorded = readVector('kvcm_kv_event_base_qwen3-0.6b_seed42.json') as {
  block_hashes: bigint[];
  token_ids: number[];
  block_size: number;
  medium: string;
};

// What a vLLM publisher would put on the wire, built from plain arrays and maps.
const wire = (value: unknown): Uint8Array => encode(value, { useBigInt64: true });
const rawDecode = (bytes: Uint8Array): unknown => new Decoder({ useBigInt64: true }).decode(bytes);

const fullStored: BlockStored = {
  type: 'BlockStored',
  blockHashes: [17705339885301241772n, 5n, 0n, 0xffffffffffffffffn],
  parentBlockHash: 1902323794085395034n,
  tokenIds: [1, 2, 3, 4, 5, 6, 7, 8],
  blockSize: 2,
  loraId: 3,
  medium: 'GPU',
  loraName: 'Alice',
  extraKeys: [['Alice'], null, ['Alice', 'salt'], [['mm-hash', 0]]],
  groupIdx: 1,
  kvCacheSpecKind: 'sliding_window',
  kvCacheSpecSlidingWindow: 4096,
};

const minimalStored: BlockStored = {
  type: 'BlockStored',
  blockHashes: [42n],
  parentBlockHash: null,
  tokenIds: [9, 9],
  blockSize: 2,
  loraId: null,
  medium: null,
  loraName: null,
};

// The decoder always fills the optional fields, with null when absent.
const filled = (e: KvEvent): KvEvent =>
  e.type === 'BlockStored'
    ? { extraKeys: null, groupIdx: null, kvCacheSpecKind: null, kvCacheSpecSlidingWindow: null, ...e }
    : e.type === 'BlockRemoved'
      ? { groupIdx: null, ...e }
      : e;

const sample: KvEventBatch = {
  ts: 1789095808.83,
  events: [
    fullStored,
    minimalStored,
    { type: 'BlockRemoved', blockHashes: [7n, 8n], medium: 'CPU', groupIdx: 0 },
    { type: 'BlockRemoved', blockHashes: [], medium: null },
    { type: 'AllBlocksCleared' },
  ],
  dataParallelRank: 2,
};

describe('encodeKvEventBatch / decodeKvEventBatch round trip', () => {
  it.each(['array', 'map'] as const)('round-trips every event kind in %s format', (format) => {
    const decoded = decodeKvEventBatch(encodeKvEventBatch(sample, { format }));
    expect(decoded).toEqual({ ...sample, events: sample.events.map(filled) });
  });

  it.each(['array', 'map'] as const)('round-trips a batch without a rank in %s format', (format) => {
    const batch: KvEventBatch = { ts: 12.5, events: [], dataParallelRank: null };
    expect(decodeKvEventBatch(encodeKvEventBatch(batch, { format }))).toEqual(batch);
  });
});

describe('encodeKvEventBatch wire layout', () => {
  it('writes ts as float64 even when it is integral', () => {
    const bytes = encodeKvEventBatch({ ts: 1700000000, events: [], dataParallelRank: 0 }, { format: 'array' });
    expect(Buffer.from(bytes.subarray(0, 2)).toString('hex')).toBe('93cb');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getFloat64(2)).toBe(1700000000);
    expect(rawDecode(bytes)).toEqual([1700000000, [], 0]);
  });

  it('writes hashes as uint64 even when they are small', () => {
    const bytes = encodeKvEventBatch(
      { ts: 1, events: [{ type: 'BlockRemoved', blockHashes: [5n], medium: null }], dataParallelRank: null },
      { format: 'array' },
    );
    // 0xcf marks msgpack uint64; a fixint 5 would be a lone 0x05.
    expect(Buffer.from(bytes).toString('hex')).toContain('cf0000000000000005');
  });

  it('uses vLLM positions and drops only trailing defaults in array format', () => {
    const withGroup: BlockStored = { ...minimalStored, groupIdx: 0 };
    const bytes = encodeKvEventBatch(
      {
        ts: 1.5,
        events: [minimalStored, withGroup, { type: 'BlockRemoved', blockHashes: [1n], medium: 'GPU' }, { type: 'AllBlocksCleared' }],
        dataParallelRank: null,
      },
      { format: 'array' },
    );
    expect(rawDecode(bytes)).toEqual([
      1.5,
      [
        ['BlockStored', [42n], null, [9, 9], 2, null, null, null],
        ['BlockStored', [42n], null, [9, 9], 2, null, null, null, null, 0],
        ['BlockRemoved', [1n], 'GPU'],
        ['AllBlocksCleared'],
      ],
      null,
    ]);
  });

  it('writes "type"-tagged maps without default-valued optional fields in map format', () => {
    const bytes = encodeKvEventBatch(
      {
        ts: 2.5,
        events: [{ ...minimalStored, groupIdx: 0, kvCacheSpecKind: 'full_attention' }, { type: 'AllBlocksCleared' }],
        dataParallelRank: 0,
      },
      { format: 'map' },
    );
    const [ts, events, rank] = rawDecode(bytes) as [number, Record<string, unknown>[], number];
    expect([ts, rank]).toEqual([2.5, 0]);
    expect(events[0]).toEqual({
      type: 'BlockStored',
      block_hashes: [42n],
      parent_block_hash: null,
      token_ids: [9, 9],
      block_size: 2,
      lora_id: null,
      medium: null,
      lora_name: null,
      group_idx: 0,
      kv_cache_spec_kind: 'full_attention',
    });
    expect(Object.keys(events[0] as object)[0]).toBe('type');
    expect(events[1]).toEqual({ type: 'AllBlocksCleared' });
  });

  it.each<[string, KvEvent, RegExp]>([
    ['a negative hash', { type: 'BlockRemoved', blockHashes: [-1n], medium: null }, /events\[0\]\.blockHashes\[0\]/],
    ['a hash above 2^64-1', { type: 'BlockRemoved', blockHashes: [1n << 64n], medium: null }, /blockHashes\[0\]/],
    ['a number hash', { type: 'BlockRemoved', blockHashes: [5 as unknown as bigint], medium: null }, /blockHashes\[0\]/],
    ['a negative parent', { ...minimalStored, parentBlockHash: -5n }, /events\[0\]\.parentBlockHash/],
    ['an unknown type', { type: 'Bogus' } as unknown as KvEvent, /events\[0\]\.type/],
  ])('rejects %s', (_name, event, message) => {
    expect(() => encodeKvEventBatch({ ts: 1, events: [event], dataParallelRank: null }, { format: 'array' })).toThrow(message);
  });

  it('rejects an unknown format', () => {
    expect(() => encodeKvEventBatch(sample, { format: 'json' as never })).toThrow(/format/);
  });
});

describe('decodeKvEventBatch on hand-built vLLM payloads', () => {
  it('decodes the recorded BlockStored event in the legacy array layout', () => {
    const payload = wire([
      1750000000.25,
      [['BlockStored', recorded.block_hashes, null, recorded.token_ids, recorded.block_size, null, recorded.medium, null]],
      null,
    ]);
    const batch = decodeKvEventBatch(payload);
    expect(batch.ts).toBe(1750000000.25);
    expect(batch.dataParallelRank).toBeNull();
    const stored = batch.events[0] as BlockStored;
    expect(stored.blockHashes).toEqual(recorded.block_hashes);
    expect(stored.tokenIds).toEqual(recorded.token_ids);
    expect(stored).toMatchObject({ parentBlockHash: null, blockSize: 16, medium: 'GPU', loraId: null, loraName: null, extraKeys: null });
  });

  it('decodes map events inside an array batch, as vLLM v0.26 sends them', () => {
    const payload = wire([
      1789095808.83,
      [
        {
          type: 'BlockStored',
          block_hashes: [15760518052499183552n],
          parent_block_hash: null,
          token_ids: Array.from({ length: 16 }, (_, i) => i),
          block_size: 16,
          lora_id: null,
          medium: 'GPU',
          lora_name: null,
          extra_keys: [null],
          group_idx: 0,
          kv_cache_spec_kind: 'full_attention',
        },
        { type: 'BlockRemoved', block_hashes: [15760518052499183552n], medium: 'GPU' },
      ],
      0,
    ]);
    expect(decodeKvEventBatch(payload)).toEqual({
      ts: 1789095808.83,
      dataParallelRank: 0,
      events: [
        {
          type: 'BlockStored',
          blockHashes: [15760518052499183552n],
          parentBlockHash: null,
          tokenIds: Array.from({ length: 16 }, (_, i) => i),
          blockSize: 16,
          loraId: null,
          medium: 'GPU',
          loraName: null,
          extraKeys: [null],
          groupIdx: 0,
          kvCacheSpecKind: 'full_attention',
          kvCacheSpecSlidingWindow: null,
        },
        { type: 'BlockRemoved', blockHashes: [15760518052499183552n], medium: 'GPU', groupIdx: null },
      ],
    });
  });

  it('decodes a batch sent as a map', () => {
    const payload = wire({
      ts: 3.25,
      events: [['AllBlocksCleared'], { type: 'BlockRemoved', block_hashes: [1n] }],
      data_parallel_rank: 1,
      some_future_field: 'ignored',
    });
    expect(decodeKvEventBatch(payload)).toEqual({
      ts: 3.25,
      dataParallelRank: 1,
      events: [{ type: 'AllBlocksCleared' }, { type: 'BlockRemoved', blockHashes: [1n], medium: null, groupIdx: null }],
    });
  });

  it('reads negative int64 hashes as their uint64 bit pattern', () => {
    // Encoded with the default (non-bigint) encoder too, so -2 goes out as a negative fixint.
    const payload = encode([1, [['BlockRemoved', [-2, -1]]], null]);
    const withInt64 = wire([1, [['BlockStored', [-1n, -(1n << 63n)], -3n, [], 16, null, 'CPU', null]], null]);
    expect((decodeKvEventBatch(payload).events[0] as { blockHashes: bigint[] }).blockHashes).toEqual([
      0xfffffffffffffffen,
      0xffffffffffffffffn,
    ]);
    const stored = decodeKvEventBatch(withInt64).events[0] as BlockStored;
    expect(stored.blockHashes).toEqual([0xffffffffffffffffn, 0x8000000000000000n]);
    expect(stored.parentBlockHash).toBe(0xfffffffffffffffdn);
  });

  it('reads bytes hashes by their last 8 bytes, big-endian, left-padding short ones', () => {
    const digest = Uint8Array.from({ length: 32 }, (_, i) => i);
    const payload = wire([1, [['BlockStored', [digest, Uint8Array.of(1, 2)], digest, [1, 2], 2, null, 'GPU', null]], null]);
    const stored = decodeKvEventBatch(payload).events[0] as BlockStored;
    expect(stored.blockHashes).toEqual([0x18191a1b1c1d1e1fn, 0x0102n]);
    expect(stored.parentBlockHash).toBe(0x18191a1b1c1d1e1fn);
  });

  it.each<[string, unknown[], Partial<BlockStored>]>([
    ['the first layout (lora_id last)', ['BlockStored', [1], null, [5, 6], 2, 7], { loraId: 7, medium: null, loraName: null }],
    ['the layout without lora_id', ['BlockStored', [1], null, [5, 6], 2], { loraId: null, medium: null }],
    ['the layout with medium', ['BlockStored', [1], null, [5, 6], 2, null, 'CPU'], { medium: 'CPU', loraName: null }],
    ['the layout with lora_name', ['BlockStored', [1], 9, [5, 6], 2, 1, 'GPU', 'Bob'], { loraName: 'Bob', parentBlockHash: 9n }],
    [
      'a newer layout with unknown trailing fields',
      ['BlockStored', [1], null, [5, 6], 2, null, 'GPU', null, [['x']], 3, 'full_attention', 128, 'new-field', { x: 1 }],
      { extraKeys: [['x']], groupIdx: 3, kvCacheSpecKind: 'full_attention', kvCacheSpecSlidingWindow: 128 },
    ],
  ])('decodes BlockStored in %s', (_name, event, expected) => {
    const stored = decodeKvEventBatch(wire([1, [event]])).events[0] as BlockStored;
    expect(stored.blockHashes).toEqual([1n]);
    expect(stored.tokenIds).toEqual([5, 6]);
    expect(stored).toMatchObject(expected);
  });

  it('decodes old BlockRemoved layouts and a batch without the rank', () => {
    const batch = decodeKvEventBatch(wire([1, [['BlockRemoved', [3]], ['BlockRemoved', [4], 'GPU', 2, 'extra']]]));
    expect(batch.dataParallelRank).toBeNull();
    expect(batch.events).toEqual([
      { type: 'BlockRemoved', blockHashes: [3n], medium: null, groupIdx: null },
      { type: 'BlockRemoved', blockHashes: [4n], medium: 'GPU', groupIdx: 2 },
    ]);
  });

  it('ignores unknown map keys and unknown trailing batch fields', () => {
    const batch = decodeKvEventBatch(
      wire([1, [{ type: 'AllBlocksCleared', reason: 'rlhf' }, { type: 'BlockRemoved', block_hashes: [], locality: 'x' }], 0, 'trailing']),
    );
    expect(batch.events).toEqual([{ type: 'AllBlocksCleared' }, { type: 'BlockRemoved', blockHashes: [], medium: null, groupIdx: null }]);
    expect(batch.dataParallelRank).toBe(0);
  });

  it('skips events with unknown tags and reports them', () => {
    const seen: [string, number][] = [];
    const batch = decodeKvEventBatch(wire([1, [['BlockMoved', 1, 2], ['AllBlocksCleared'], { type: 'Snapshot', x: 1 }], null]), {
      onUnknownEvent: (tag, index) => seen.push([tag, index]),
    });
    expect(batch.events).toEqual([{ type: 'AllBlocksCleared' }]);
    expect(seen).toEqual([
      ['BlockMoved', 0],
      ['Snapshot', 2],
    ]);
  });

  it('decodes from a Buffer slice of a larger message', () => {
    const payload = wire([1, [['AllBlocksCleared']], null]);
    const frame = Buffer.concat([Buffer.from('topic'), Buffer.from(payload)]);
    expect(decodeKvEventBatch(frame.subarray(5)).events).toEqual([{ type: 'AllBlocksCleared' }]);
  });
});

describe('decodeKvEventBatch on malformed input', () => {
  it.each<[string, Uint8Array, string]>([
    ['the never-used byte 0xc1', Uint8Array.of(0xc1), '$'],
    ['a truncated message', wire([1, [['AllBlocksCleared']], null]).subarray(0, 5), '$'],
    ['bytes after the batch', Uint8Array.from([...wire([1, [], null]), 0x00]), '$'],
    ['an empty message', new Uint8Array(0), '$'],
    ['a batch that is a string', wire('hello'), '$'],
    ['a batch array without events', wire([1]), '$'],
    ['a batch map without events', wire({ ts: 1 }), '$.events'],
    ['a string ts', wire(['now', []]), '$.ts'],
    ['events that are not an array', wire([1, 'x']), '$.events'],
    ['an event that is a number', wire([1, [7]]), 'events[0]'],
    ['an empty event array', wire([1, [[]]]), 'events[0]'],
    ['a tag that is not a string', wire([1, [[5, [1]]]]), 'events[0][0]'],
    ['a map event without "type"', wire([1, [{ block_hashes: [] }]]), 'events[0].type'],
    ['a short BlockStored', wire([1, [['BlockStored', [1], null, [1]]]]), 'events[0]'],
    ['a short BlockRemoved', wire([1, [['AllBlocksCleared'], ['BlockRemoved']]]), 'events[1]'],
    ['a map BlockStored without token_ids', wire([1, [{ type: 'BlockStored', block_hashes: [], block_size: 16 }]]), 'events[0].token_ids'],
    ['a map BlockRemoved without block_hashes', wire([1, [{ type: 'BlockRemoved' }]]), 'events[0].block_hashes'],
    ['block_hashes that are not an array', wire([1, [['BlockRemoved', 5]]]), 'events[0].block_hashes'],
    ['a string hash', wire([1, [['BlockRemoved', [1, 'abc']]]]), 'events[0].block_hashes[1]'],
    ['a float hash', wire([1, [['BlockRemoved', [1.5]]]]), 'events[0].block_hashes[0]'],
    ['an empty bytes hash', wire([1, [['BlockRemoved', [new Uint8Array(0)]]]]), 'events[0].block_hashes[0]'],
    ['a map parent hash', wire([1, [['BlockStored', [1], { a: 1 }, [], 16]]]), 'events[0].parent_block_hash'],
    ['a negative token', wire([1, [['BlockStored', [1], null, [1, -4], 16]]]), 'events[0].token_ids[1]'],
    ['a fractional token', wire([1, [['BlockStored', [1], null, [0.5], 16]]]), 'events[0].token_ids[0]'],
    ['a string block_size', wire([1, [['BlockStored', [1], null, [], '16']]]), 'events[0].block_size'],
    ['a numeric medium', wire([1, [['BlockStored', [1], null, [], 16, null, 1]]]), 'events[0].medium'],
    ['a string lora_id', wire([1, [['BlockStored', [1], null, [], 16, 'x']]]), 'events[0].lora_id'],
    ['an extra_keys entry that is a string', wire([1, [['BlockStored', [1], null, [], 16, null, null, null, ['a']]]]), 'events[0].extra_keys[0]'],
    ['a string rank', wire([1, [], 'zero']), '$.data_parallel_rank'],
  ])('rejects %s', (_name, bytes, path) => {
    let thrown: unknown;
    try {
      decodeKvEventBatch(bytes);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(KvEventDecodeError);
    expect((thrown as KvEventDecodeError).path).toBe(path);
    expect((thrown as Error).message).toContain(path);
  });

  it('keeps the msgpack error as the cause', () => {
    try {
      decodeKvEventBatch(Uint8Array.of(0xc1));
      expect.unreachable('decoding 0xc1 should throw');
    } catch (err) {
      expect((err as Error).cause).toBeInstanceOf(Error);
    }
  });
});
