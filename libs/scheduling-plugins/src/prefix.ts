import type { PluginFactory } from '@llmd/scheduling';
import { approxPrefixCacheProducer } from './approx-prefix-cache-producer/plugin.js';
import { inflightLoadProducer } from './inflight-load-producer/plugin.js';
import { noHitLruScorer } from './no-hit-lru-scorer/plugin.js';
import { prefixCacheAffinityFilter } from './prefix-cache-affinity-filter/plugin.js';
import { prefixCacheScorer } from './prefix-cache-scorer/plugin.js';
import { tokenLoadScorer } from './token-load-scorer/plugin.js';

/** The prefix-cache and token-load plugins (producers, scorers, the affinity filter), for explicit registration. */
export const PREFIX_PLUGINS: readonly PluginFactory[] = Object.freeze([
  // data producers
  approxPrefixCacheProducer,
  inflightLoadProducer,
  // scorers
  prefixCacheScorer,
  tokenLoadScorer,
  noHitLruScorer,
  // filters
  prefixCacheAffinityFilter,
]);
