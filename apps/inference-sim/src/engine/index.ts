// Public entry of the simulator's engine model; the server, CLI and benchmarks import only this.
export { ManualClock, realClock } from './clock.js';
export type { Clock } from './clock.js';
export type {
  BlockHasher,
  EngineCounters,
  EngineRequest,
  EngineSnapshot,
  KvBlockRemoved,
  KvBlockStored,
  KvEventSink,
  RequestObserver,
  RequestOutcome,
  SubmitResult,
} from './contracts.js';
export { Engine } from './engine.js';
export type { EngineDeps } from './engine.js';
export { EngineOptionsError } from './errors.js';
export {
  DEFAULT_REQUEST_TIMING,
  LATENCY_MODEL_KINDS,
  attentionPairs,
  jitter,
  loadFactor,
  presetRoofline,
  resolveLatencyModel,
  stepDurationMs,
} from './latency.js';
export type {
  LatencyModel,
  LatencyModelKind,
  LatencyModelOptions,
  RequestTimingParams,
  RooflineParams,
  StepComposition,
} from './latency.js';
export {
  DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS,
  DEFAULT_MAX_LAG_MS,
  defaultEngineOptions,
  meanKvTransferMs,
  validateEngineOptions,
} from './options.js';
export type { EngineOptions, KvTransferOptions } from './options.js';
export {
  DEFAULT_PRESET,
  H100_SXM,
  PRESETS,
  attentionFlopsPerPair,
  derivedNumGpuBlocks,
  getPreset,
  kvBytesPerToken,
} from './presets.js';
export type { GpuSpec, ModelArchitecture, ModelPreset } from './presets.js';
export {
  PROFILE_BATCH_SIZES,
  PROFILE_CACHED_FRACTIONS,
  PROFILE_CONTEXTS,
  PROFILE_PROMPTS,
  cachedTokensFor,
  profileCurves,
  timeToFirstTokenMs,
} from './profile.js';
export type { ItlPoint, ProfileCurves, ProfileOptions, SaturationPoint, TtftPoint } from './profile.js';
