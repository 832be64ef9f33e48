export type { BlockKey, KeyType, KvBlockIndex, PodEntry } from './types.js';
export { MAX_BLOCK_KEY, isBlockKey } from './block-key.js';
export { InMemoryKvBlockIndex } from './in-memory.js';
export type { InMemoryKvBlockIndexMemory, InMemoryKvBlockIndexOptions } from './in-memory.js';
export { RedisKvBlockIndex } from './redis.js';
export type { RedisKvBlockIndexOptions } from './redis.js';
