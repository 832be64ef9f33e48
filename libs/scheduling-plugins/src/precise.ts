import type { PluginFactory } from '@llmd/scheduling';
import { precisePrefixCacheProducer } from './precise-prefix-cache-producer/plugin.js';
import { precisePrefixCacheScorer } from './precise-prefix-cache-scorer/plugin.js';

export { EmbeddedIndexSource } from './precise-prefix-cache-producer/embedded.js';
export { PRECISE_PREFIX_CACHE_PRODUCER_TYPE, precisePrefixCacheProducer, preciseProducerParameters } from './precise-prefix-cache-producer/plugin.js';
export type { PrecisePrefixCacheProducer, PreciseProducerParameters } from './precise-prefix-cache-producer/plugin.js';
export { RemoteIndexerSource, requestTokenIds } from './precise-prefix-cache-producer/source.js';
export type { PrefixScores, PrefixScoreSource } from './precise-prefix-cache-producer/source.js';
export { PRECISE_PREFIX_CACHE_SCORER_TYPE, normalisedScores, precisePrefixCacheScorer } from './precise-prefix-cache-scorer/plugin.js';

/** The precise prefix-cache plugin types (KV-event driven). */
export const PRECISE_PLUGINS: readonly PluginFactory[] = [precisePrefixCacheProducer, precisePrefixCacheScorer] as readonly PluginFactory[];
