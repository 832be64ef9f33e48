import type { PluginFactory } from '@llmd/scheduling';
import { edfOrderingPolicy } from './edf-ordering-policy/plugin.js';
import { fcfsOrderingPolicy } from './fcfs-ordering-policy/plugin.js';
import { globalStrictFairnessPolicy } from './global-strict-fairness-policy/plugin.js';
import { priorityHoldbackPolicy } from './priority-holdback-policy/plugin.js';
import { roundRobinFairnessPolicy } from './round-robin-fairness-policy/plugin.js';
import { staticUsageLimitPolicy } from './static-usage-limit-policy/plugin.js';

export { EDF_ORDERING_POLICY_TYPE, compareDeadline, edfOrderingPolicy } from './edf-ordering-policy/plugin.js';
export { FCFS_ORDERING_POLICY_TYPE, compareArrival, fcfsOrderingPolicy } from './fcfs-ordering-policy/plugin.js';
export { GLOBAL_STRICT_FAIRNESS_POLICY_TYPE, globalStrictFairnessPolicy } from './global-strict-fairness-policy/plugin.js';
export { ROUND_ROBIN_FAIRNESS_POLICY_TYPE, RoundRobinBandState, roundRobinFairnessPolicy } from './round-robin-fairness-policy/plugin.js';
export { PRIORITY_HOLDBACK_POLICY_TYPE, holdbackCeilings, priorityHoldbackParameters, priorityHoldbackPolicy } from './priority-holdback-policy/plugin.js';
export type { PriorityHoldbackParameters } from './priority-holdback-policy/plugin.js';
export { STATIC_USAGE_LIMIT_POLICY_TYPE, staticUsageLimitPolicy } from './static-usage-limit-policy/plugin.js';

/** The flow-control policy plugin types (fairness, ordering, usage limits), for one explicit `registry.register(...FLOW_CONTROL_POLICY_PLUGINS)`. */
export const FLOW_CONTROL_POLICY_PLUGINS: readonly PluginFactory[] = Object.freeze([
  globalStrictFairnessPolicy,
  roundRobinFairnessPolicy,
  fcfsOrderingPolicy,
  edfOrderingPolicy,
  staticUsageLimitPolicy,
  priorityHoldbackPolicy,
] as PluginFactory[]);
