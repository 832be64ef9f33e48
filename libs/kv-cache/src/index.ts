// Public entry of @llmd/kv-cache: canonical CBOR, vLLM block hashing, llm-d request keys, KV-event codec.
export { CborEncodeError, CborWriter, encodeCanonicalCbor } from './cbor.js';
export { fnv64a } from './fnv.js';
export { xxh64 } from './xxh64.js';
export {
  BLOCK_DIGEST_LENGTH,
  VllmBlockHasher,
  blockExtraKeys,
  eventBlockHash,
  hashBlockTokens,
  noneHash,
} from './vllm-hash.js';
export type {
  BlockExtraKeysInput,
  BlockHashFunctions,
  HashBlocksOptions,
  VllmBlockHasherOptions,
} from './vllm-hash.js';
export { requestBlockKeyWords, requestBlockKeys, requestKeyRoot } from './request-keys.js';
export type { RequestBlockKeysOptions, RequestKeyAlgorithm } from './request-keys.js';
export { KvEventDecodeError, decodeKvEventBatch, encodeKvEventBatch } from './kv-events.js';
export type {
  AllBlocksCleared,
  BlockRemoved,
  BlockStored,
  DecodeKvEventBatchOptions,
  EncodeKvEventBatchOptions,
  KvEvent,
  KvEventBatch,
  KvEventWireFormat,
} from './kv-events.js';
export { formatKvTopic, parseKvTopic } from './kv-topic.js';
export type { KvTopic } from './kv-topic.js';
