import type { PluginFactory } from '@llmd/scheduling';
import { concurrencyDetector } from './concurrency-detector/plugin.js';
import { utilizationDetector } from './utilization-detector/plugin.js';

export { CONCURRENCY_DETECTOR_TYPE, ConcurrencyDetector, concurrencyDetector } from './concurrency-detector/plugin.js';
export type { ConcurrencyDetectorParameters } from './concurrency-detector/plugin.js';
export { UTILIZATION_DETECTOR_TYPE, UtilizationDetector, utilizationDetector } from './utilization-detector/plugin.js';
export type { UtilizationDetectorParameters } from './utilization-detector/plugin.js';

/** The saturation detectors (admission, flow-control dispatch, and filters with headroom). */
export const SATURATION_PLUGINS: readonly PluginFactory[] = Object.freeze([utilizationDetector, concurrencyDetector] as PluginFactory[]);
