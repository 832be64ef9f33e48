// vLLM prefix-cache block hashing with `--prefix-caching-hash-algo sha256_cbor` (vllm/v1/core/kv_cache_utils.py):
// h_i = sha256(cbor([h_{i-1}, tokens_i, extra_keys_i])), with h_{-1} = NONE_HASH = sha256(cbor(PYTHONHASHSEED)).
import { hash, randomBytes } from 'node:crypto';
import { CborWriter } from './cbor.js';

/** Length in bytes of a sha256 block digest. */
export const BLOCK_DIGEST_LENGTH = 32;

const writer = new CborWriter(4096);

function sha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/**
 * vLLM's NONE_HASH, the parent of the first block: sha256 of the seed encoded as CBOR text. Without a
 * seed vLLM draws 32 random bytes per process, so its hashes cannot be reproduced elsewhere.
 */
export function noneHash(seed: string | undefined): Uint8Array {
  if (seed === undefined) return new Uint8Array(randomBytes(BLOCK_DIGEST_LENGTH));
  return sha256(writer.reset().text(seed).view());
}

function hashRange(
  parent: Uint8Array,
  tokens: ArrayLike<number>,
  start: number,
  end: number,
  extraKeys: readonly unknown[] | null,
): Uint8Array {
  if (!(parent instanceof Uint8Array) || parent.length !== BLOCK_DIGEST_LENGTH) {
    throw new TypeError(`parent: expected a ${BLOCK_DIGEST_LENGTH}-byte digest`);
  }
  writer.reset().arrayHeader(3).bytes(parent).integerArray(tokens, start, end, 'tokens');
  if (extraKeys === null || extraKeys === undefined) writer.null();
  else writer.value(extraKeys);
  return sha256(writer.view());
}

/** One vLLM block digest: sha256(cbor([parent as 32 bytes, [tokens...], extraKeys or null])). */
export function hashBlockTokens(
  parent: Uint8Array,
  tokens: ArrayLike<number>,
  extraKeys: readonly unknown[] | null,
): Uint8Array {
  return hashRange(parent, tokens, 0, tokens.length, extraKeys);
}

// Big-endian uint32 at `at`; callers have checked that the four bytes exist.
function readUint32(bytes: Uint8Array, at: number): number {
  const b0 = bytes[at] as number;
  const b1 = bytes[at + 1] as number;
  const b2 = bytes[at + 2] as number;
  const b3 = bytes[at + 3] as number;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/**
 * The uint64 vLLM publishes in KV events for a digest (`VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES`): its last
 * 8 bytes, big-endian. Shorter inputs are read as if left-padded with zeros.
 */
export function eventBlockHash(digest: Uint8Array): bigint {
  const n = digest.length;
  if (n >= 8) {
    const hi = readUint32(digest, n - 8);
    const lo = readUint32(digest, n - 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  let value = 0n;
  for (let i = 0; i < n; i++) value = (value << 8n) | BigInt(digest[i] as number);
  return value;
}

/** Inputs to {@link blockExtraKeys}: what vLLM folds into a block's hash besides its tokens. */
export interface BlockExtraKeysInput {
  /** Name of the LoRA adapter serving the request, if any. */
  loraName?: string | null;
  /** The request's `cache_salt`, if any. */
  cacheSalt?: string | null;
  /** Index of the block's first token within the request. */
  blockStartToken: number;
}

/**
 * A block's extra keys as vLLM builds them for text requests (generate_block_hash_extra_keys): the LoRA
 * name, then the cache salt on the block that starts at token 0 only; null when there are none.
 */
export function blockExtraKeys(input: BlockExtraKeysInput): unknown[] | null {
  const keys: unknown[] = [];
  // vLLM adds the adapter name whenever a LoRA request is present, but the salt only when it is truthy.
  if (input.loraName !== null && input.loraName !== undefined) keys.push(input.loraName);
  if (input.cacheSalt && input.blockStartToken === 0) keys.push(input.cacheSalt);
  return keys.length > 0 ? keys : null;
}

/** The block-hashing interface the simulator takes by injection. */
export interface BlockHashFunctions {
  /** Digest of one full block; a null parent means the first block of a request. */
  hashBlock(parent: Uint8Array | null, tokens: ArrayLike<number>, extraKeys: readonly unknown[] | null): Uint8Array;
  /** The uint64 a KV event carries for a digest. */
  eventHash(digest: Uint8Array): bigint;
}

/** Options of {@link VllmBlockHasher}. */
export interface VllmBlockHasherOptions {
  /** vLLM's `PYTHONHASHSEED`; without it the none hash is random for this instance. */
  seed?: string;
  /** Tokens per block (vLLM `--block-size`, default 16 there). */
  blockSize: number;
}

/** Options of {@link VllmBlockHasher.hashBlocks}. */
export interface HashBlocksOptions {
  /** Digest of the block before `tokens[0]`; the none hash when absent. */
  parent?: Uint8Array;
  /** Extra keys of the block at this index (counted from the first block of `tokens`). */
  extraKeys?: (blockIndex: number) => readonly unknown[] | null;
}

/** Hashes token sequences into vLLM block digests for one seed and block size. */
export class VllmBlockHasher implements BlockHashFunctions {
  /** Parent digest of the first block (sha256 of the CBOR seed, or random without one). */
  readonly noneHash: Uint8Array;
  /** Tokens per block. */
  readonly blockSize: number;

  constructor(options: VllmBlockHasherOptions) {
    if (!Number.isSafeInteger(options.blockSize) || options.blockSize <= 0) {
      throw new RangeError(`blockSize: expected a positive integer, got ${String(options.blockSize)}`);
    }
    this.blockSize = options.blockSize;
    this.noneHash = noneHash(options.seed);
  }

  /** Digests and event hashes of every full block of `tokens`; a trailing partial block is ignored. */
  hashBlocks(tokens: ArrayLike<number>, opts: HashBlocksOptions = {}): { digests: Uint8Array[]; hashes: bigint[] } {
    const count = Math.floor(tokens.length / this.blockSize);
    const digests: Uint8Array[] = new Array<Uint8Array>(count);
    const hashes: bigint[] = new Array<bigint>(count);
    let parent = opts.parent ?? this.noneHash;
    for (let i = 0; i < count; i++) {
      const start = i * this.blockSize;
      const extra = opts.extraKeys ? opts.extraKeys(i) : null;
      parent = hashRange(parent, tokens, start, start + this.blockSize, extra);
      digests[i] = parent;
      hashes[i] = eventBlockHash(parent);
    }
    return { digests, hashes };
  }

  /** Digest of one block; a null parent stands for the none hash. */
  hashBlock(parent: Uint8Array | null, tokens: ArrayLike<number>, extraKeys: readonly unknown[] | null): Uint8Array {
    return hashRange(parent ?? this.noneHash, tokens, 0, tokens.length, extraKeys);
  }

  /** The uint64 a KV event carries for a digest (last 8 bytes, big-endian). */
  eventHash(digest: Uint8Array): bigint {
    return eventBlockHash(digest);
  }
}
