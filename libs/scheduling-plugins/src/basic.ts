import type { PluginFactory } from '@llmd/scheduling';
import { activeRequestScorer } from './active-request-scorer/plugin.js';
import { byLabelFilter } from './by-label/plugin.js';
import { decodeFilter } from './decode-filter/plugin.js';
import { kvCacheUtilizationScorer } from './kv-cache-utilization-scorer/plugin.js';
import { labelSelectorFilter } from './label-selector-filter/plugin.js';
import { loadAwareScorer } from './load-aware-scorer/plugin.js';
import { loraAffinityScorer } from './lora-affinity-scorer/plugin.js';
import { maxScorePicker } from './max-score-picker/plugin.js';
import { prefillFilter } from './prefill-filter/plugin.js';
import { queueScorer } from './queue-scorer/plugin.js';
import { randomPicker } from './random-picker/plugin.js';
import { runningRequestsSizeScorer } from './running-requests-size-scorer/plugin.js';
import { sessionAffinityScorer } from './session-affinity-scorer/plugin.js';
import { singleProfileHandler } from './single-profile-handler/plugin.js';
import { weightedRandomPicker } from './weighted-random-picker/plugin.js';

/** The basic built-in plugins (metric scorers, label filters, pickers, single-profile handler), for explicit registration. */
export const BASIC_PLUGINS: readonly PluginFactory[] = Object.freeze([
  // scorers
  queueScorer,
  kvCacheUtilizationScorer,
  runningRequestsSizeScorer,
  loadAwareScorer,
  activeRequestScorer,
  loraAffinityScorer,
  sessionAffinityScorer,
  // filters
  byLabelFilter,
  labelSelectorFilter,
  decodeFilter,
  prefillFilter,
  // pickers
  maxScorePicker,
  randomPicker,
  weightedRandomPicker,
  // profile handlers
  singleProfileHandler,
]);
