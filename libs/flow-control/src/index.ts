export { FlowController } from './controller.js';
export type {
  Dispatched,
  FlowControlObserver,
  FlowControlRequest,
  FlowControlResult,
  FlowControllerDeps,
  FlowControlStats,
  FlowLabels,
  NotDispatched,
} from './controller.js';
export { IndexedHeap } from './heap.js';
export type { HeapSlot } from './heap.js';
export { QUEUE_OUTCOMES, flowControlError } from './outcomes.js';
export type { OtherCause, QueueOutcome } from './outcomes.js';
export {
  EDF_ORDERING_POLICY_TYPE,
  FCFS_ORDERING_POLICY_TYPE,
  FLOW_CONTROL_POLICY_PLUGINS,
  GLOBAL_STRICT_FAIRNESS_POLICY_TYPE,
  PRIORITY_HOLDBACK_POLICY_TYPE,
  ROUND_ROBIN_FAIRNESS_POLICY_TYPE,
  STATIC_USAGE_LIMIT_POLICY_TYPE,
  RoundRobinBandState,
  compareArrival,
  compareDeadline,
  edfOrderingPolicy,
  fcfsOrderingPolicy,
  globalStrictFairnessPolicy,
  holdbackCeilings,
  priorityHoldbackParameters,
  priorityHoldbackPolicy,
  roundRobinFairnessPolicy,
  staticUsageLimitPolicy,
} from './policies/index.js';
export type { PriorityHoldbackParameters } from './policies/index.js';
