// Event application: decoded vLLM KV-event batches → the block index.
export { KV_EVENT_DROP_REASONS, KvEventApplier, defaultTierOf } from './applier.js';
export type { KvEventApplierCounters, KvEventApplierOptions, KvEventDropReason } from './applier.js';
export { EventDedupFilter } from './dedup-filter.js';
export { engineBlockIds, realignExtraKeys } from './extra-keys.js';
export type { BlockExtraHash, BlockExtras, RealignExtraKeysInput } from './extra-keys.js';
