// llm-d "request keys" (pkg/kvcache/kvblock/token_processor.go): the indexer's own block keys, chained
// from a root that folds in the hash seed and the model name. They are independent of vLLM's hashes.
import { CborWriter } from './cbor.js';
import { fnv64a, fnv64aHalves } from './fnv.js';
import { xxh64 } from './xxh64.js';

/** The chain algorithms llm-d accepts as `tokenProcessorConfig.hashAlgorithm`; `cbor-fnv` is its default. */
export type RequestKeyAlgorithm = 'cbor-fnv' | 'xxh64';

/** Options of {@link requestBlockKeys}. */
export interface RequestBlockKeysOptions {
  /** Tokens per block (`blockSizeTokens`). */
  blockSize: number;
  /** `hashSeed` of the token processor config; "" upstream by default. */
  hashSeed: string;
  /** Model name folded into the root key (the LoRA name, when the request targets an adapter). */
  modelName: string;
  /** Key of the block before `tokens[0]`; absent or 0 starts from the root, as upstream. */
  parentKey?: bigint;
  /**
   * Extra features of the block at this index, hashed with its tokens; null for text. For `cbor-fnv` the
   * array is CBOR-encoded as given (upstream passes `[{ Hash: "<id>" }, …]`); for `xxh64` each item must
   * be a string or a `{ Hash: string }` object.
   */
  extra?: (blockIndex: number) => unknown[] | null;
  /** Chain algorithm; `cbor-fnv` when absent. */
  algorithm?: RequestKeyAlgorithm;
}

const UINT64_MAX = (1n << 64n) - 1n;
const utf8 = new TextEncoder();
const cbor = new CborWriter(4096);
const roots = new Map<string, bigint>();
const MAX_CACHED_ROOTS = 1024;

// Byte sink for the xxh64 layout (little-endian fields), reused across blocks.
let raw = new Uint8Array(1024);
let rawView = new DataView(raw.buffer);
let rawPos = 0;

function rawEnsure(extra: number): void {
  if (rawPos + extra <= raw.length) return;
  let size = raw.length * 2;
  while (size < rawPos + extra) size *= 2;
  const next = new Uint8Array(size);
  next.set(raw.subarray(0, rawPos));
  raw = next;
  rawView = new DataView(raw.buffer);
}

function xxh64Key(parent: bigint, tokens: ArrayLike<number>, start: number, end: number, extras: readonly unknown[] | null): bigint {
  rawPos = 0;
  rawEnsure(8 + (end - start) * 4);
  rawView.setBigUint64(rawPos, parent, true);
  rawPos += 8;
  for (let i = start; i < end; i++) {
    const token = tokens[i] as number;
    if (!Number.isInteger(token) || token < 0 || token > 0xffff_ffff) {
      throw new RangeError(`tokens[${i - start}]: expected a uint32 token id, got ${String(token)}`);
    }
    rawView.setUint32(rawPos, token, true);
    rawPos += 4;
  }
  if (extras !== null) {
    for (let j = 0; j < extras.length; j++) {
      const item = extras[j];
      const text = typeof item === 'string' ? item : (item as { Hash?: unknown } | null)?.Hash;
      if (typeof text !== 'string') {
        throw new TypeError(`extra[${j}]: xxh64 keys take strings or { Hash: string } objects`);
      }
      const bytes = utf8.encode(text);
      rawEnsure(8 + bytes.length);
      rawView.setBigUint64(rawPos, BigInt(bytes.length), true);
      rawPos += 8;
      raw.set(bytes, rawPos);
      rawPos += bytes.length;
    }
  }
  return xxh64(raw.subarray(0, rawPos));
}

// A uint64 assembled from two 32-bit halves through shared memory: one bigint allocation, no
// bigint arithmetic (the halves are written in the platform's byte order).
const keyWords = new Uint32Array(2);
const keyWord64 = new BigUint64Array(keyWords.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function keyOf(hi: number, lo: number): bigint {
  keyWords[LITTLE_ENDIAN ? 0 : 1] = lo;
  keyWords[LITTLE_ENDIAN ? 1 : 0] = hi;
  return keyWord64[0] as bigint;
}

// Scratch for one text-only block's CBOR bytes: [parent, [tokens…], null] is at most 9 + 9 + 5 per
// token + 1 bytes. The bytes are written first and then hashed in one tight loop, which runs about
// twice as fast as feeding the hash byte by byte through shared state.
let blockBytes = new Uint8Array(1024);

/** Writes the canonical CBOR head of an unsigned integer (major type `major`, value hi·2^32 + lo) at `p`. */
function writeUintHead(out: Uint8Array, p: number, major: number, hi: number, lo: number): number {
  const m = major << 5;
  if (hi !== 0) {
    out[p] = m | 27;
    out[p + 1] = hi >>> 24;
    out[p + 2] = hi >>> 16;
    out[p + 3] = hi >>> 8;
    out[p + 4] = hi;
    out[p + 5] = lo >>> 24;
    out[p + 6] = lo >>> 16;
    out[p + 7] = lo >>> 8;
    out[p + 8] = lo;
    return p + 9;
  }
  if (lo < 24) {
    out[p] = m | lo;
    return p + 1;
  }
  if (lo < 0x100) {
    out[p] = m | 24;
    out[p + 1] = lo;
    return p + 2;
  }
  if (lo < 0x10000) {
    out[p] = m | 25;
    out[p + 1] = lo >>> 8;
    out[p + 2] = lo;
    return p + 3;
  }
  out[p] = m | 26;
  out[p + 1] = lo >>> 24;
  out[p + 2] = lo >>> 16;
  out[p + 3] = lo >>> 8;
  out[p + 4] = lo;
  return p + 5;
}

/**
 * fnv64a(cbor([parent, tokens[start:end], null])) with the parent and result as 32-bit halves, the
 * same bytes {@link cborFnvKey} hashes. Returns false (leaving the halves untouched) on a token that
 * is not a uint32, so the caller can take the generic path and its error.
 */
function cborFnvTextKey(parent: { hi: number; lo: number }, tokens: ArrayLike<number>, start: number, end: number): boolean {
  const need = 20 + (end - start) * 5;
  if (blockBytes.length < need) blockBytes = new Uint8Array(need * 2);
  const out = blockBytes;
  out[0] = 0x83;
  let p = writeUintHead(out, 1, 0, parent.hi, parent.lo);
  p = writeUintHead(out, p, 4, 0, end - start);
  for (let i = start; i < end; i++) {
    const t = tokens[i] as number;
    if (!(t >= 0 && t <= 0xffff_ffff && Number.isInteger(t))) return false;
    p = writeUintHead(out, p, 0, 0, t >>> 0);
  }
  out[p++] = 0xf6;
  fnv64aHalves(out, p, parent);
  return true;
}

function cborFnvKey(parent: bigint, tokens: ArrayLike<number>, start: number, end: number, extra: unknown): bigint {
  cbor.reset().arrayHeader(3).bigint(parent).integerArray(tokens, start, end, 'tokens');
  if (extra === null || extra === undefined) cbor.null();
  else cbor.value(extra);
  return fnv64a(cbor.view());
}

/**
 * Root key of a model's chains: for `cbor-fnv`, fnv64a(cbor([fnv64a(utf8(seed)), null, modelName]));
 * for `xxh64`, the xxh64 layout with parent xxh64(seed), no tokens and the model name as the one extra.
 */
export function requestKeyRoot(hashSeed: string, modelName: string, algorithm: RequestKeyAlgorithm = 'cbor-fnv'): bigint {
  const cacheKey = `${algorithm}\u0000${hashSeed}\u0000${modelName}`;
  const cached = roots.get(cacheKey);
  if (cached !== undefined) return cached;
  let root: bigint;
  if (algorithm === 'xxh64') {
    root = xxh64Key(xxh64(utf8.encode(hashSeed)), [], 0, 0, [modelName]);
  } else if (algorithm === 'cbor-fnv') {
    const init = fnv64a(utf8.encode(hashSeed));
    cbor.reset().arrayHeader(3).bigint(init).null().text(modelName);
    root = fnv64a(cbor.view());
  } else {
    throw new RangeError(`algorithm: expected "cbor-fnv" or "xxh64", got ${JSON.stringify(algorithm)}`);
  }
  if (roots.size >= MAX_CACHED_ROOTS) roots.clear();
  roots.set(cacheKey, root);
  return root;
}

/** llm-d request keys of every full block of `tokens`, chained from `parentKey` or the model's root. */
export function requestBlockKeys(tokens: ArrayLike<number>, options: RequestBlockKeysOptions): bigint[] {
  const { blockSize, parentKey } = options;
  const algorithm = options.algorithm ?? 'cbor-fnv';
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) {
    throw new RangeError(`blockSize: expected a positive integer, got ${String(blockSize)}`);
  }
  if (parentKey !== undefined && (parentKey < 0n || parentKey > UINT64_MAX)) {
    throw new RangeError(`parentKey: expected a uint64, got ${parentKey}`);
  }
  const count = Math.floor(tokens.length / blockSize);
  const keys = new Array<bigint>(count);
  if (count === 0) return keys;
  let parent = parentKey !== undefined && parentKey !== 0n ? parentKey : requestKeyRoot(options.hashSeed, options.modelName, algorithm);
  if (algorithm === 'cbor-fnv' && !options.extra) {
    // Text-only chain: keep the parent as two numbers, make a bigint only for each output key.
    const halves = { hi: Number(parent >> 32n), lo: Number(parent & 0xffff_ffffn) };
    for (let i = 0; i < count; i++) {
      const start = i * blockSize;
      if (!cborFnvTextKey(halves, tokens, start, start + blockSize)) {
        // A token outside uint32: the generic encoder hashes it (or reports it with its position).
        const key = cborFnvKey(BigInt(halves.hi) * 0x1_0000_0000n + BigInt(halves.lo), tokens, start, start + blockSize, null);
        halves.hi = Number(key >> 32n);
        halves.lo = Number(key & 0xffff_ffffn);
      }
      keys[i] = keyOf(halves.hi, halves.lo);
    }
    return keys;
  }
  for (let i = 0; i < count; i++) {
    const start = i * blockSize;
    const extra = options.extra ? options.extra(i) : null;
    parent =
      algorithm === 'xxh64'
        ? xxh64Key(parent, tokens, start, start + blockSize, extra ?? null)
        : cborFnvKey(parent, tokens, start, start + blockSize, extra);
    keys[i] = parent;
  }
  return keys;
}

/**
 * The same keys as {@link requestBlockKeys}, as 32-bit words: key i is `words[2i]` (low half) and
 * `words[2i + 1]` (high half). Text-only `cbor-fnv` chains, the scoring hot path, make no bigint.
 */
export function requestBlockKeyWords(tokens: ArrayLike<number>, options: RequestBlockKeysOptions): Uint32Array {
  const algorithm = options.algorithm ?? 'cbor-fnv';
  const { blockSize, parentKey } = options;
  if (algorithm !== 'cbor-fnv' || options.extra || !Number.isSafeInteger(blockSize) || blockSize <= 0 || (parentKey !== undefined && parentKey !== 0n)) {
    const keys = requestBlockKeys(tokens, options);
    const words = new Uint32Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as bigint;
      words[2 * i] = Number(key & 0xffff_ffffn);
      words[2 * i + 1] = Number(key >> 32n);
    }
    return words;
  }
  const count = Math.floor(tokens.length / blockSize);
  const words = new Uint32Array(count * 2);
  if (count === 0) return words;
  const root = requestKeyRoot(options.hashSeed, options.modelName, algorithm);
  const halves = { hi: Number(root >> 32n), lo: Number(root & 0xffff_ffffn) };
  for (let i = 0; i < count; i++) {
    const start = i * blockSize;
    if (!cborFnvTextKey(halves, tokens, start, start + blockSize)) {
      // A token outside uint32: the generic encoder hashes it (or reports it with its position).
      const key = cborFnvKey(BigInt(halves.hi) * 0x1_0000_0000n + BigInt(halves.lo), tokens, start, start + blockSize, null);
      halves.hi = Number(key >> 32n);
      halves.lo = Number(key & 0xffff_ffffn);
    }
    words[2 * i] = halves.lo;
    words[2 * i + 1] = halves.hi;
  }
  return words;
}
