// Rules on block keys that every backend applies the same way, so they stay interchangeable.
import type { BlockKey } from './types.js';

/** 2^64 − 1, the largest block key. */
export const MAX_BLOCK_KEY: BlockKey = 0xffff_ffff_ffff_ffffn;

/** Whether `key` is a usable block key: a uint64 other than 0, upstream's "no hash" sentinel. */
export function isBlockKey(key: BlockKey): boolean {
  return key > 0n && key <= MAX_BLOCK_KEY;
}

/** Throws a RangeError naming `what` unless every key is a usable block key. */
export function assertBlockKeys(keys: readonly BlockKey[], what: string): void {
  for (const key of keys) {
    if (typeof key !== 'bigint' || !isBlockKey(key)) throw new RangeError(`${what}: ${String(key)} is not a block key (a uint64 other than 0)`);
  }
}

/**
 * Upstream's pairing of engine keys with request keys in `Add`: with n = max(E, R), pair i maps
 * engine key ⌊i·E/n⌋ to request key ⌊i·R/n⌋. It covers 1:1, many:1 (the engine's blocks are
 * smaller) and 1:many (they are larger), and hands request keys to an engine key in order.
 */
export function forEachKeyPair(engineCount: number, requestCount: number, pair: (engineIndex: number, requestIndex: number) => void): void {
  if (engineCount === 0 || requestCount === 0) return;
  const n = Math.max(engineCount, requestCount);
  for (let i = 0; i < n; i++) pair(Math.floor((i * engineCount) / n), Math.floor((i * requestCount) / n));
}
