export { EMPTY_METRICS } from './endpoint.js';
export type { Endpoint, EndpointMetadata, EndpointMetrics } from './endpoint.js';
export type { InferenceRequest, PromptView, RequestKind } from './request.js';
export { CycleState, EndpointAttributes, PluginState } from './state.js';
export { RouterError, routerErrorStatus, toRouterError } from './errors.js';
export type { RouterErrorCode } from './errors.js';
export {
  isAdmitter,
  isDataProducer,
  isFilter,
  isPicker,
  isPreRequestHook,
  isProfileHandler,
  isResponseHooks,
  isScorer,
} from './plugins.js';
export type {
  AdmissionResult,
  Admitter,
  DataProducer,
  Filter,
  HeaderMutations,
  Picker,
  Plugin,
  PreRequestHook,
  ProfileHandler,
  ProfileRunResult,
  ResponseHooks,
  ResponseInfo,
  ResponseOutcome,
  ResponseUsage,
  ScoredEndpoint,
  SchedulerProfile,
  SchedulingContext,
  SchedulingResult,
  Scorer,
  ScorerCategory,
  WeightedScorer,
} from './plugins.js';
export { isFairnessPolicy, isOrderingPolicy, isSaturationDetector, isUsageLimitPolicy } from './flow-control.js';
export type { FairnessBandState, FairnessPolicy, FlowQueueView, OrderingPolicy, QueuedRequestView, SaturationDetector, UsageLimitPolicy } from './flow-control.js';
export { definePlugin } from './registry.js';
export type { PluginFactory, PluginHandle } from './registry.js';
