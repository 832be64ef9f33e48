import type { PluginFactory } from '@llmd/scheduling';
import { BASIC_PLUGINS } from './basic.js';
import { PD_PLUGINS } from './pd.js';
import { PRECISE_PLUGINS } from './precise.js';
import { PREFIX_PLUGINS } from './prefix.js';
import { SATURATION_PLUGINS } from './saturation.js';

export { BASIC_PLUGINS } from './basic.js';
export { PREFIX_PLUGINS } from './prefix.js';
export { PD_PLUGINS, isPdDecisionSource } from './pd.js';
export { EmbeddedIndexSource, PRECISE_PLUGINS, RemoteIndexerSource } from './precise.js';
export {
  CONCURRENCY_DETECTOR_TYPE,
  ConcurrencyDetector,
  SATURATION_PLUGINS,
  UTILIZATION_DETECTOR_TYPE,
  UtilizationDetector,
  concurrencyDetector,
  utilizationDetector,
} from './saturation.js';
export type { ConcurrencyDetectorParameters, UtilizationDetectorParameters } from './saturation.js';
export type { PrecisePrefixCacheProducer, PrefixScoreSource } from './precise.js';
export type { PdDecision, PdDecisionSource } from './pd.js';

/** Every built-in scheduling plugin type, for one explicit `registry.register(...BUILTIN_PLUGINS)`. */
export const BUILTIN_PLUGINS: readonly PluginFactory[] = [...BASIC_PLUGINS, ...PREFIX_PLUGINS, ...PD_PLUGINS, ...PRECISE_PLUGINS, ...SATURATION_PLUGINS];
