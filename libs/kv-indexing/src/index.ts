export * from './index/index.js';
export * from './scoring/index.js';
export * from './events/index.js';
export * from './ingest/index.js';
export { KvIndexer } from './indexer.js';
export type { KvIndexerOptions, ScoreOptions } from './indexer.js';
export { KvEventIngestion, replayEndpointOf } from './ingestion.js';
export type { KvEventIngestionOptions } from './ingestion.js';
