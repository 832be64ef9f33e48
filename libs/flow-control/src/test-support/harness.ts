// Builders for the flow-control tests and benchmark: a config with real policies, a detector with
// a fixed number of slots, and requests.
import { EMPTY_METRICS, type Endpoint, type FairnessPolicy, type LoadedBandTemplate, type LoadedFlowControl, type OrderingPolicy, type SaturationDetector } from '@llmd/scheduling';
import { edfOrderingPolicy } from '../policies/edf-ordering-policy/plugin.js';
import { fcfsOrderingPolicy } from '../policies/fcfs-ordering-policy/plugin.js';
import { globalStrictFairnessPolicy } from '../policies/global-strict-fairness-policy/plugin.js';
import { roundRobinFairnessPolicy } from '../policies/round-robin-fairness-policy/plugin.js';
import type { FlowControlRequest } from '../controller.js';

/** A handle good enough for the policies' factories (they use none of it). */
const noHandle = {} as Parameters<typeof fcfsOrderingPolicy.create>[2];

/** The four policies, built by their factories. */
export const POLICIES = {
  globalStrict: globalStrictFairnessPolicy.create('global-strict-fairness-policy', {}, noHandle) as FairnessPolicy,
  roundRobin: roundRobinFairnessPolicy.create('round-robin-fairness-policy', {}, noHandle) as FairnessPolicy,
  fcfs: fcfsOrderingPolicy.create('fcfs-ordering-policy', {}, noHandle) as OrderingPolicy,
  edf: edfOrderingPolicy.create('edf-ordering-policy', {}, noHandle) as OrderingPolicy,
};

/** A band template with upstream's defaults unless overridden. */
export function band(over: Partial<LoadedBandTemplate> = {}): LoadedBandTemplate {
  return { maxBytes: 1_000_000_000, maxRequests: 0, requestTTLMs: null, fairnessPolicy: POLICIES.globalStrict, orderingPolicy: POLICIES.fcfs, ...over };
}

/** A flow-control config: the given bands (priority 0 added when missing) and limits. */
export function flowConfig(over: Partial<Omit<LoadedFlowControl, 'priorityBands'>> & { bands?: Record<number, Partial<LoadedBandTemplate>> } = {}): LoadedFlowControl {
  const { bands = {}, ...rest } = over;
  const defaultPriorityBand = rest.defaultPriorityBand ?? band();
  const priorityBands = Object.entries(bands).map(([p, b]) => ({ priority: Number(p), ...band(b) }));
  if (!priorityBands.some((b) => b.priority === 0)) priorityBands.push({ priority: 0, ...defaultPriorityBand });
  priorityBands.sort((a, b) => b.priority - a.priority);
  return { maxBytes: 0, maxRequests: 0, defaultRequestTTLMs: 60_000, noEndpointRequestTTLMs: null, defaultNegativePriorityBand: null, usageLimitPolicy: null, ...rest, defaultPriorityBand, priorityBands };
}

/** An endpoint with empty metrics. */
export function endpoint(name: string): Endpoint {
  return { metadata: { id: `default/${name}`, name, namespace: 'default', address: '10.0.0.1', port: 8000, hostPort: '10.0.0.1:8000', labels: {} }, metrics: EMPTY_METRICS };
}

/**
 * A detector with `slots` places: saturation = (busy + pending dispatches) / slots. Tests move
 * `busy` as requests start and finish; `slots` 0 means always saturated.
 */
export class SlotDetector implements SaturationDetector {
  readonly type = 'slot-detector';
  readonly name = 'slots';
  busy = 0;
  checks = 0;
  constructor(public slots: number) {}
  saturation(endpoints: readonly Endpoint[], pending = 0): number {
    this.checks++;
    if (endpoints.length === 0 || this.slots <= 0) return 1;
    return (this.busy + pending) / this.slots;
  }
}

let counter = 0;
const POOL = [endpoint('a')];

/** A request of tenant `fairnessId` at `priority` (one endpoint candidate unless told otherwise). */
export function request(fairnessId = 'default-flow', priority = 0, over: Partial<FlowControlRequest> = {}): FlowControlRequest {
  return {
    requestId: `r-${++counter}`,
    fairnessId,
    priority,
    byteSize: 100,
    modelName: 'm',
    targetModelName: 'm',
    candidates: () => POOL,
    ...over,
  };
}
