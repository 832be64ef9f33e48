// VariantAutoscaling (llm-d.ai/v1alpha1, short name `va`): one model variant the autoscaler sizes.
import type { z } from 'zod';
import { conditions, objectName } from './schema/common.js';
import { resource, type CrdDefinition } from './schema/crd.js';
import { boolean, enumOf, integer, number, object, optional, string, withDefault } from './schema/dsl.js';

/** API group of VariantAutoscaling (upstream moved it from `llmd.ai` to `llm-d.ai` in v0.8). */
export const VARIANT_AUTOSCALING_GROUP = 'llm-d.ai';
/** `apiVersion` of VariantAutoscaling. */
export const VARIANT_AUTOSCALING_API_VERSION = 'llm-d.ai/v1alpha1';
/** Label on a VariantAutoscaling (or its target) naming the accelerator, as the older autoscaler read it. */
export const ACCELERATOR_NAME_LABEL = 'inference.optimization/acceleratorName';

/** Condition types of a VariantAutoscaling status. */
export const VariantAutoscalingConditions = {
  TargetResolved: 'TargetResolved',
  MetricsAvailable: 'MetricsAvailable',
  OptimizationReady: 'OptimizationReady',
} as const;

/** Condition reasons of a VariantAutoscaling status, by condition type. */
export const VariantAutoscalingReasons = {
  TargetResolved: { TargetFound: 'TargetFound', TargetNotFound: 'TargetNotFound', InvalidConfiguration: 'InvalidConfiguration', SkippedProcessing: 'SkippedProcessing' },
  MetricsAvailable: { MetricsFound: 'MetricsFound', MetricsMissing: 'MetricsMissing', MetricsStale: 'MetricsStale', PrometheusError: 'PrometheusError' },
  OptimizationReady: { OptimizationSucceeded: 'OptimizationSucceeded', OptimizationFailed: 'OptimizationFailed', MetricsUnavailable: 'MetricsUnavailable' },
} as const;

const scaleTargetRef = object(
  {
    apiVersion: optional(string({ description: 'API version of the target, e.g. apps/v1.', minLength: 1, maxLength: 253 })),
    kind: enumOf(['Deployment', 'StatefulSet', 'LeaderWorkerSet'], { description: 'Kind of the target: Deployment, StatefulSet or LeaderWorkerSet.' }),
    name: objectName('Name of the target, in the namespace of the VariantAutoscaling.'),
  },
  { description: 'The workload whose replicas this variant sizes (as in a HorizontalPodAutoscaler).' },
);

const sloClassRef = object(
  {
    name: string({ description: 'Name of the ConfigMap of service classes.', minLength: 1, maxLength: 253 }),
    key: string({ description: 'Key of the service class within the ConfigMap.', minLength: 1, maxLength: 253 }),
  },
  { description: 'A service class (SLO targets per model) in a ConfigMap, as the queueing-model analyzer reads it.' },
);

const slo = object(
  {
    targetTTFT: optional(number({ description: 'Time-to-first-token target in milliseconds.', minimum: 0 })),
    targetITL: optional(number({ description: 'Inter-token latency target in milliseconds.', minimum: 0 })),
  },
  { description: 'Latency targets of the SLO analyzer for this variant; inferred from the idle latency when absent.' },
);

/** Schema of `spec`. */
export const variantAutoscalingSpec = object(
  {
    scaleTargetRef,
    modelID: string({ description: 'The model this variant serves (its served model name); variants with one modelID form a group.', minLength: 1, maxLength: 256 }),
    variantCost: withDefault(
      string({ description: 'Cost of one replica of this variant, a decimal number as a string; the cheapest variant grows first.', maxLength: 32, pattern: '^\\d+(\\.\\d+)?$', patternMessage: 'must be a decimal number such as 10.0' }),
      '10.0',
    ),
    minReplicas: withDefault(integer({ description: 'Fewest replicas; 0 allows scaling to zero.', format: 'int32', minimum: 0 }), 1),
    maxReplicas: withDefault(integer({ description: 'Most replicas.', format: 'int32', minimum: 1 }), 2),
    accelerator: optional(string({ description: 'Accelerator type of one replica, e.g. H100 or A100-80GB.', minLength: 1, maxLength: 64 })),
    acceleratorCount: optional(integer({ description: 'Accelerator units per replica.', format: 'int32', minimum: 1 })),
    sloClassRef: optional(sloClassRef),
    slo: optional(slo),
  },
  {
    description: 'How to size one variant of a model.',
    rules: [
      {
        rule: 'self.minReplicas <= self.maxReplicas',
        message: 'minReplicas must not exceed maxReplicas',
        fieldPath: '.minReplicas',
        holds: (s) => s.minReplicas <= s.maxReplicas,
      },
    ],
  },
);

const lastUpdate = object(
  {
    updateTime: optional(string({ description: 'When the decision last changed.', format: 'date-time' })),
    numReplicasChanged: optional(integer({ description: 'Change of the desired replicas at that time (negative: scale-down).', format: 'int32', minimum: -10000, maximum: 10000 })),
    reason: optional(string({ description: 'Why the decision changed, in words.', maxLength: 1024 })),
  },
  { description: 'The last change of the desired allocation.' },
);

/** Schema of `status`. */
export const variantAutoscalingStatus = object(
  {
    currentAlloc: optional(
      object(
        {
          accelerator: optional(string({ description: 'Accelerator type in use.', maxLength: 64 })),
          numReplicas: integer({ description: 'Replicas currently running.', format: 'int32', minimum: 0 }),
        },
        { description: 'What the variant runs now.' },
      ),
    ),
    desiredOptimizedAlloc: optional(
      object(
        {
          lastRunTime: optional(string({ description: 'When the analyzer last ran.', format: 'date-time' })),
          accelerator: optional(string({ description: 'Accelerator type of the decision.', maxLength: 64 })),
          numReplicas: integer({ description: 'Replicas the autoscaler wants.', format: 'int32', minimum: 0 }),
          lastUpdate: optional(lastUpdate),
        },
        { description: 'What the autoscaler decided.' },
      ),
    ),
    actuation: optional(
      object({ applied: boolean({ description: 'Whether the decision was applied (metric exported or target scaled).' }) }, { description: 'Whether the decision took effect.' }),
    ),
    conditions: optional(conditions('TargetResolved, MetricsAvailable and OptimizationReady.')),
  },
  { description: 'What the autoscaler observed and decided.' },
);

/** Root schema of a VariantAutoscaling object. */
export const variantAutoscalingResource = resource({
  apiVersion: VARIANT_AUTOSCALING_API_VERSION,
  kind: 'VariantAutoscaling',
  description: 'VariantAutoscaling sizes one variant (a model on one kind of accelerator) of an inference workload.',
  spec: variantAutoscalingSpec,
  status: variantAutoscalingStatus,
});

/** zod schema of a whole VariantAutoscaling object; `parse` fills in defaults as the API server does. */
export const VariantAutoscalingSchema = variantAutoscalingResource.zod;
/** zod schema of a VariantAutoscaling `spec`. */
export const VariantAutoscalingSpecSchema = variantAutoscalingSpec.zod;
/** zod schema of a VariantAutoscaling `status`. */
export const VariantAutoscalingStatusSchema = variantAutoscalingStatus.zod;

/** A VariantAutoscaling as read (defaults filled in). */
export type VariantAutoscaling = z.output<typeof VariantAutoscalingSchema>;
/** A VariantAutoscaling as written (defaulted fields may be left out). */
export type VariantAutoscalingInput = z.input<typeof VariantAutoscalingSchema>;
/** `spec` of a VariantAutoscaling. */
export type VariantAutoscalingSpec = z.output<typeof VariantAutoscalingSpecSchema>;
/** `status` of a VariantAutoscaling. */
export type VariantAutoscalingStatus = z.output<typeof VariantAutoscalingStatusSchema>;

/** The VariantAutoscaling CRD. */
export const variantAutoscalingCrd: CrdDefinition = {
  group: VARIANT_AUTOSCALING_GROUP,
  kind: 'VariantAutoscaling',
  plural: 'variantautoscalings',
  singular: 'variantautoscaling',
  shortNames: ['va'],
  categories: ['llm-d'],
  scope: 'Namespaced',
  versions: [
    {
      name: 'v1alpha1',
      schema: variantAutoscalingResource,
      printerColumns: [
        { name: 'Model', type: 'string', jsonPath: '.spec.modelID' },
        { name: 'Accelerator', type: 'string', jsonPath: '.spec.accelerator' },
        { name: 'Target', type: 'string', jsonPath: '.spec.scaleTargetRef.name' },
        { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas', priority: 1 },
        { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas', priority: 1 },
        { name: 'Current', type: 'integer', jsonPath: '.status.currentAlloc.numReplicas' },
        { name: 'Optimized', type: 'integer', jsonPath: '.status.desiredOptimizedAlloc.numReplicas' },
        { name: 'MetricsReady', type: 'string', jsonPath: ".status.conditions[?(@.type=='MetricsAvailable')].status" },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    },
  ],
};
