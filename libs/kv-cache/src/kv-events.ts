// vLLM KV-cache events on the wire (vllm/distributed/kv_events.py): msgpack, one EventBatch per ZMQ message.
// Two encodings exist: legacy msgspec `array_like` (positional arrays, tag first) and, since vLLM #42892,
// events as maps tagged under "type". The decoder takes either, at the batch level and per event.
import { Encoder } from '@msgpack/msgpack';
import { readMsgpack } from './msgpack-reader.js';
import { eventBlockHash } from './vllm-hash.js';

/** New full blocks cached by an engine (vLLM `BlockStored`). */
export interface BlockStored {
  type: 'BlockStored';
  /** Engine hashes of the new blocks, in order, as uint64. */
  blockHashes: bigint[];
  /** Hash of the block before the first new one; null when the first new block starts the sequence. */
  parentBlockHash: bigint | null;
  /** All tokens of the new blocks (`blockHashes.length × blockSize`; empty for CPU offload stores). */
  tokenIds: number[];
  /** Tokens per block on the engine. */
  blockSize: number;
  /** Deprecated LoRA id, kept on the wire for compatibility. */
  loraId: number | null;
  /** Storage tier, e.g. "GPU" or "CPU". */
  medium: string | null;
  /** LoRA adapter name when the blocks belong to an adapter. */
  loraName: string | null;
  /** Per-block extra keys (LoRA name, multimodal ids, cache salt …) or null. */
  extraKeys?: (unknown[] | null)[] | null;
  /** KV-cache group (hybrid memory allocator). */
  groupIdx?: number | null;
  /** KV-cache spec of the group, e.g. "full_attention". */
  kvCacheSpecKind?: string | null;
  /** Sliding window of the group's KV-cache spec. */
  kvCacheSpecSlidingWindow?: number | null;
}

/** Blocks evicted by an engine (vLLM `BlockRemoved`). */
export interface BlockRemoved {
  type: 'BlockRemoved';
  /** Engine hashes of the evicted blocks as uint64. */
  blockHashes: bigint[];
  /** Storage tier the blocks left. */
  medium: string | null;
  /** KV-cache group (hybrid memory allocator). */
  groupIdx?: number | null;
}

/** The engine dropped its whole prefix cache (vLLM `AllBlocksCleared`, e.g. on `reset_prefix_cache`). */
export interface AllBlocksCleared {
  type: 'AllBlocksCleared';
}

/** One KV-cache event. */
export type KvEvent = BlockStored | BlockRemoved | AllBlocksCleared;

/** One published message: vLLM `EventBatch`. */
export interface KvEventBatch {
  /** Publication time in seconds since the epoch. */
  ts: number;
  events: KvEvent[];
  /** Data-parallel rank of the publisher, when set. */
  dataParallelRank: number | null;
}

/** Wire layout of events: legacy positional arrays, or maps tagged under "type" (vLLM ≥ #42892). */
export type KvEventWireFormat = 'array' | 'map';

/** Options of {@link encodeKvEventBatch}. */
export interface EncodeKvEventBatchOptions {
  format: KvEventWireFormat;
}

/** Options of {@link decodeKvEventBatch}. */
export interface DecodeKvEventBatchOptions {
  /** Called for each event whose tag is not known; such events are left out of the batch. */
  onUnknownEvent?: (tag: string, index: number) => void;
}

/** Malformed KV-event payload; `path` names the offending field, e.g. `events[2].block_hashes[0]`. */
export class KvEventDecodeError extends Error {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`invalid KV event batch at ${path}: ${reason}`, options);
    this.name = 'KvEventDecodeError';
    this.path = path;
  }
}

const UINT64_MAX = (1n << 64n) - 1n;
const encoder = new Encoder({ useBigInt64: true });

// ---------------------------------------------------------------------------------------------------------
// Encoding

function checkHashes(hashes: readonly bigint[], path: string): void {
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i];
    if (typeof h !== 'bigint' || h < 0n || h > UINT64_MAX) {
      throw new RangeError(`${path}[${i}]: expected a uint64 bigint, got ${String(h)}`);
    }
  }
}

function checkParent(parent: bigint | null, path: string): void {
  if (parent !== null && (typeof parent !== 'bigint' || parent < 0n || parent > UINT64_MAX)) {
    throw new RangeError(`${path}: expected a uint64 bigint or null, got ${String(parent)}`);
  }
}

function eventToWire(event: KvEvent, format: KvEventWireFormat, path: string): unknown {
  switch (event.type) {
    case 'BlockStored': {
      checkHashes(event.blockHashes, `${path}.blockHashes`);
      checkParent(event.parentBlockHash, `${path}.parentBlockHash`);
      const optional: [string, unknown][] = [
        ['extra_keys', event.extraKeys ?? null],
        ['group_idx', event.groupIdx ?? null],
        ['kv_cache_spec_kind', event.kvCacheSpecKind ?? null],
        ['kv_cache_spec_sliding_window', event.kvCacheSpecSlidingWindow ?? null],
      ];
      if (format === 'map') {
        const wire: Record<string, unknown> = {
          type: 'BlockStored',
          block_hashes: event.blockHashes,
          parent_block_hash: event.parentBlockHash,
          token_ids: event.tokenIds,
          block_size: event.blockSize,
          lora_id: event.loraId,
          medium: event.medium,
          lora_name: event.loraName,
        };
        for (const [key, value] of optional) if (value !== null) wire[key] = value;
        return wire;
      }
      const wire: unknown[] = [
        'BlockStored',
        event.blockHashes,
        event.parentBlockHash,
        event.tokenIds,
        event.blockSize,
        event.loraId,
        event.medium,
        event.loraName,
        ...optional.map(([, value]) => value),
      ];
      // msgspec omit_defaults drops only a trailing run of defaults; lora_id..lora_name have none.
      while (wire.length > 8 && wire[wire.length - 1] === null) wire.pop();
      return wire;
    }
    case 'BlockRemoved': {
      checkHashes(event.blockHashes, `${path}.blockHashes`);
      const groupIdx = event.groupIdx ?? null;
      if (format === 'map') {
        const wire: Record<string, unknown> = { type: 'BlockRemoved', block_hashes: event.blockHashes, medium: event.medium };
        if (groupIdx !== null) wire['group_idx'] = groupIdx;
        return wire;
      }
      return groupIdx === null
        ? ['BlockRemoved', event.blockHashes, event.medium]
        : ['BlockRemoved', event.blockHashes, event.medium, groupIdx];
    }
    case 'AllBlocksCleared':
      return format === 'map' ? { type: 'AllBlocksCleared' } : ['AllBlocksCleared'];
    default:
      throw new TypeError(`${path}.type: unknown event type ${JSON.stringify((event as { type?: unknown }).type)}`);
  }
}

/**
 * Encodes a batch as vLLM publishes it: `[ts, events, data_parallel_rank]` with ts always a float64 and
 * hashes as msgpack uint64; events as positional arrays (`array`) or "type"-tagged maps (`map`).
 */
export function encodeKvEventBatch(batch: KvEventBatch, options: EncodeKvEventBatchOptions): Uint8Array {
  const { format } = options;
  if (format !== 'array' && format !== 'map') {
    throw new RangeError(`format: expected "array" or "map", got ${JSON.stringify(format)}`);
  }
  if (typeof batch.ts !== 'number') throw new TypeError(`ts: expected a number, got ${typeof batch.ts}`);
  const events = batch.events.map((event, i) => eventToWire(event, format, `events[${i}]`));
  // The library writes integral numbers as integers, but msgspec always sends the float field ts as
  // float64; so encode [events, rank] and put the array header and the float in front by hand.
  const tail = encoder.encodeSharedRef([events, batch.dataParallelRank ?? null]);
  const out = new Uint8Array(tail.length + 9);
  out[0] = 0x93;
  out[1] = 0xcb;
  new DataView(out.buffer).setFloat64(2, batch.ts);
  out.set(tail.subarray(1), 10);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value} (${String(value)})`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

// Paths are built only when something fails: decoding runs once per block on the indexer's hot path.
// `event` is the event's index in the batch, or -1 for fields of the batch itself.
function fail(event: number, field: string, reason: string): never {
  const base = event < 0 ? '$' : `events[${event}]`;
  throw new KvEventDecodeError(field === '' ? base : field.startsWith('[') ? base + field : `${base}.${field}`, reason);
}

// The uint64 for a hash as it came off the wire, or undefined when the value cannot be a hash.
function wireHash(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value < 0n ? BigInt.asUintN(64, value) : value;
  if (typeof value === 'number' && Number.isInteger(value)) {
    return value >= 0 ? BigInt(value) : BigInt.asUintN(64, BigInt(value));
  }
  if (value instanceof Uint8Array && value.length > 0) return eventBlockHash(value);
  return undefined;
}

function hashProblem(value: unknown): string {
  return value instanceof Uint8Array ? 'empty byte string hash' : `expected an integer or bytes hash, got ${describe(value)}`;
}

// Normalises the decoded array in place: it is ours, and copying every hash list would cost a lot.
function toHashes(value: unknown, event: number): bigint[] {
  if (!Array.isArray(value)) fail(event, 'block_hashes', `expected an array, got ${describe(value)}`);
  const items = value as unknown[];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'bigint' && item >= 0n) continue;
    const h = wireHash(item);
    if (h === undefined) fail(event, `block_hashes[${i}]`, hashProblem(item));
    items[i] = h;
  }
  return items as bigint[];
}

function toTokens(value: unknown, event: number): number[] {
  if (!Array.isArray(value)) fail(event, 'token_ids', `expected an array, got ${describe(value)}`);
  const items = value as unknown[];
  for (let i = 0; i < items.length; i++) {
    const t = items[i];
    if (typeof t === 'number' && t >= 0 && t <= 0xffff_ffff && Number.isInteger(t)) continue;
    if (typeof t === 'bigint' && t >= 0n && t <= 0xffff_ffffn) {
      items[i] = Number(t);
      continue;
    }
    fail(event, `token_ids[${i}]`, `expected a uint32 token id, got ${describe(t)}`);
  }
  return items as number[];
}

function toInt(value: unknown, event: number, field: string): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  return fail(event, field, `expected an integer, got ${describe(value)}`);
}

function toOptInt(value: unknown, event: number, field: string): number | null {
  return value === null || value === undefined ? null : toInt(value, event, field);
}

function toOptString(value: unknown, event: number, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return fail(event, field, `expected a string or nil, got ${describe(value)}`);
}

function toExtraKeys(value: unknown, event: number): (unknown[] | null)[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) fail(event, 'extra_keys', `expected an array or nil, got ${describe(value)}`);
  const items = value as unknown[];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item !== null && !Array.isArray(item)) {
      fail(event, `extra_keys[${i}]`, `expected an array or nil, got ${describe(item)}`);
    }
  }
  return items as (unknown[] | null)[];
}

function blockStored(
  event: number,
  hashes: unknown,
  parent: unknown,
  tokens: unknown,
  blockSize: unknown,
  loraId: unknown,
  medium: unknown,
  loraName: unknown,
  extraKeys: unknown,
  groupIdx: unknown,
  specKind: unknown,
  slidingWindow: unknown,
): BlockStored {
  return {
    type: 'BlockStored',
    blockHashes: toHashes(hashes, event),
    parentBlockHash:
      parent === null || parent === undefined
        ? null
        : (wireHash(parent) ?? fail(event, 'parent_block_hash', hashProblem(parent))),
    tokenIds: toTokens(tokens, event),
    blockSize: toInt(blockSize, event, 'block_size'),
    loraId: toOptInt(loraId, event, 'lora_id'),
    medium: toOptString(medium, event, 'medium'),
    loraName: toOptString(loraName, event, 'lora_name'),
    extraKeys: toExtraKeys(extraKeys, event),
    groupIdx: toOptInt(groupIdx, event, 'group_idx'),
    kvCacheSpecKind: toOptString(specKind, event, 'kv_cache_spec_kind'),
    kvCacheSpecSlidingWindow: toOptInt(slidingWindow, event, 'kv_cache_spec_sliding_window'),
  };
}

function blockRemoved(event: number, hashes: unknown, medium: unknown, groupIdx: unknown): BlockRemoved {
  return {
    type: 'BlockRemoved',
    blockHashes: toHashes(hashes, event),
    medium: toOptString(medium, event, 'medium'),
    groupIdx: toOptInt(groupIdx, event, 'group_idx'),
  };
}

// Positional layout; fields appended by newer vLLM are ignored, missing trailing ones read as nil.
function eventFromArray(e: unknown[], event: number): KvEvent | string {
  const tag = e[0];
  if (typeof tag !== 'string') fail(event, '[0]', `expected the event tag, got ${describe(tag)}`);
  switch (tag) {
    case 'BlockStored':
      if (e.length < 5) {
        fail(event, '', `BlockStored needs at least tag, block_hashes, parent_block_hash, token_ids and block_size, got ${e.length} fields`);
      }
      return blockStored(event, e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], e[11]);
    case 'BlockRemoved':
      if (e.length < 2) fail(event, '', `BlockRemoved needs at least tag and block_hashes, got ${e.length} fields`);
      return blockRemoved(event, e[1], e[2], e[3]);
    case 'AllBlocksCleared':
      return { type: 'AllBlocksCleared' };
    default:
      return tag;
  }
}

function required(e: Record<string, unknown>, key: string, event: number): unknown {
  const value = e[key];
  if (value === undefined) fail(event, key, 'missing');
  return value;
}

function eventFromMap(e: Record<string, unknown>, event: number): KvEvent | string {
  const tag = e['type'];
  if (typeof tag !== 'string') fail(event, 'type', `expected the event tag, got ${describe(tag)}`);
  switch (tag) {
    case 'BlockStored':
      return blockStored(
        event,
        required(e, 'block_hashes', event),
        e['parent_block_hash'],
        required(e, 'token_ids', event),
        required(e, 'block_size', event),
        e['lora_id'],
        e['medium'],
        e['lora_name'],
        e['extra_keys'],
        e['group_idx'],
        e['kv_cache_spec_kind'],
        e['kv_cache_spec_sliding_window'],
      );
    case 'BlockRemoved':
      return blockRemoved(event, required(e, 'block_hashes', event), e['medium'], e['group_idx']);
    case 'AllBlocksCleared':
      return { type: 'AllBlocksCleared' };
    default:
      return tag;
  }
}

/**
 * Decodes one vLLM KV-event payload. Accepts the batch as an array `[ts, events, rank?]` or a map
 * `{ts, events, data_parallel_rank}`; each event as a positional array or a "type"-tagged map; hashes as
 * uint64, int64 (reinterpreted as uint64) or bytes (last 8 bytes, big-endian). Unknown trailing fields
 * and map keys are ignored; events with an unknown tag are skipped and reported to `onUnknownEvent`.
 * Anything else malformed throws {@link KvEventDecodeError}.
 */
export function decodeKvEventBatch(bytes: Uint8Array, options: DecodeKvEventBatchOptions = {}): KvEventBatch {
  let root: unknown;
  try {
    root = readMsgpack(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new KvEventDecodeError('$', `not a single msgpack value (${reason})`, { cause: err });
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown;
  if (Array.isArray(root)) {
    if (root.length < 2) fail(-1, '', `batch array needs ts and events, got ${root.length} fields`);
    [ts, events, rank] = root as unknown[];
  } else if (isMap(root)) {
    ts = required(root, 'ts', -1);
    events = required(root, 'events', -1);
    rank = root['data_parallel_rank'];
  } else {
    return fail(-1, '', `expected the batch as an array or a map, got ${describe(root)}`);
  }

  let seconds: number;
  if (typeof ts === 'number') seconds = ts;
  else if (typeof ts === 'bigint') seconds = Number(ts);
  else return fail(-1, 'ts', `expected a number, got ${describe(ts)}`);
  if (!Array.isArray(events)) fail(-1, 'events', `expected an array, got ${describe(events)}`);

  const raw = events as unknown[];
  const out: KvEvent[] = [];
  for (let i = 0; i < raw.length; i++) {
    const e = raw[i];
    let event: KvEvent | string;
    if (Array.isArray(e)) {
      if (e.length === 0) fail(i, '', 'empty event array (no tag)');
      event = eventFromArray(e as unknown[], i);
    } else if (isMap(e)) {
      event = eventFromMap(e, i);
    } else {
      return fail(i, '', `expected an event array or map, got ${describe(e)}`);
    }
    if (typeof event === 'string') options.onUnknownEvent?.(event, i);
    else out.push(event);
  }
  return { ts: seconds, events: out, dataParallelRank: toOptInt(rank, -1, 'data_parallel_rank') };
}
