// ZMQ ingestion of vLLM KV events: subscriber (centralized or per endpoint, with replay) and the
// sharded pool that applies batches in order per publisher.
export { END_SEQ, decodeSeq, encodeSeq, parseLiveFrames, parseReplayFrames } from './frames.js';
export type { LiveFrames, ReplayFrames } from './frames.js';
export { ConcurrencyLimiter } from './limiter.js';
export { ShardedEventPool, fnv1a32 } from './pool.js';
export type { KvBatchApplier, KvEventSink, KvEventTask, ShardedEventPoolCounters, ShardedEventPoolOptions } from './pool.js';
export { DEFAULT_REPLAY_OPTIONS, KvEventSubscriber } from './subscriber.js';
export type { KvEventSubscriberCounters, KvEventSubscriberOptions, ReplayOptions } from './subscriber.js';
