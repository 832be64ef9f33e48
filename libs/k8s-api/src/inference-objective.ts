// InferenceObjective and InferenceModelRewrite: per-pool request priority, and model-name rewriting
// with weighted targets. Upstream served them as inference.networking.x-k8s.io/v1alpha2 and since
// v0.8 as llm-d.ai/v1alpha2, with one schema; both groups are defined here.
import type { z } from 'zod';
import { conditions, group, kind, objectName } from './schema/common.js';
import { resource, type CrdDefinition, type PrinterColumn } from './schema/crd.js';
import { array, enumOf, integer, object, optional, string, withDefault } from './schema/dsl.js';
import { INFERENCE_GROUP, INFERENCE_X_GROUP } from './inference-pool.js';

/** `apiVersion` of InferenceObjective and InferenceModelRewrite in the x-k8s.io group. */
export const INFERENCE_X_V1ALPHA2_API_VERSION = 'inference.networking.x-k8s.io/v1alpha2';
/** `apiVersion` of InferenceObjective and InferenceModelRewrite in the llm-d.ai group (upstream v0.8). */
export const LLMD_V1ALPHA2_API_VERSION = 'llm-d.ai/v1alpha2';

/** Schema of a reference from an objective or rewrite to its InferencePool (same namespace). */
export const poolObjectReference = object(
  {
    group: withDefault(group('Group of the pool; inference.networking.k8s.io when unset.'), INFERENCE_GROUP),
    kind: withDefault(kind('Kind of the pool; InferencePool when unset.'), 'InferencePool'),
    name: objectName('Name of the pool, in the same namespace.'),
  },
  { description: 'The InferencePool this applies to.' },
);

/** Schema of an InferenceObjective `spec`. */
export const inferenceObjectiveSpec = object(
  {
    priority: optional(
      integer({ description: 'How important requests naming this objective are; higher is served first under scarcity, negative allowed; unset counts as 0.' }),
    ),
    poolRef: poolObjectReference,
  },
  { description: 'Desired state of the objective.' },
);

/** Schema of an InferenceObjective or InferenceModelRewrite `status`. */
export const acceptedStatus = object({ conditions: optional(conditions('Accepted.')) }, { description: 'Observed state.' });

/** Schema of an InferenceModelRewrite `spec`. */
export const inferenceModelRewriteSpec = object(
  {
    poolRef: poolObjectReference,
    rules: array(
      object(
        {
          matches: optional(
            array(
              object(
                {
                  model: object(
                    {
                      type: withDefault(enumOf(['Exact'], { description: 'How to compare: Exact (the only kind).' }), 'Exact'),
                      value: string({ description: 'The model name to match in the request body.', minLength: 1 }),
                    },
                    { description: 'A match on the request body\'s `model`.' },
                  ),
                },
                { description: 'One criterion; a rule matches when any of its criteria does.' },
              ),
              { description: 'Criteria of the rule (logical OR); empty or unset matches every request.' },
            ),
          ),
          targets: optional(
            array(
              object(
                {
                  modelRewrite: string({ description: 'Model name the request is sent with.' }),
                  weight: optional(integer({ description: 'Share of requests, relative to the other targets; set on all targets or none.', format: 'int32', minimum: 1, maximum: 1000000 })),
                },
                { description: 'A weighted destination model.' },
              ),
              { description: 'Where matching requests go, split by weight.', minItems: 1 },
            ),
          ),
        },
        { description: 'A rule: criteria and weighted targets. The first matching rule wins.' },
      ),
      { description: 'Ordered rules; an Exact match beats a catch-all rule, and among resources the oldest wins.' },
    ),
  },
  { description: 'Desired state of the rewrite.' },
);

function objectiveResource<const V extends string>(apiVersion: V) {
  return resource({
    apiVersion,
    kind: 'InferenceObjective',
    description: 'InferenceObjective gives requests that name it (x-llm-d-inference-objective) a priority within a pool.',
    spec: inferenceObjectiveSpec,
    status: acceptedStatus,
  });
}

function rewriteResource<const V extends string>(apiVersion: V) {
  return resource({
    apiVersion,
    kind: 'InferenceModelRewrite',
    description: 'InferenceModelRewrite rewrites the model name of matching requests, split over weighted targets.',
    spec: inferenceModelRewriteSpec,
    status: acceptedStatus,
  });
}

/** Root schema of an InferenceObjective (x-k8s.io group). */
export const inferenceObjectiveResource = objectiveResource(INFERENCE_X_V1ALPHA2_API_VERSION);
/** Root schema of an InferenceObjective (llm-d.ai group). */
export const inferenceObjectiveLlmdResource = objectiveResource(LLMD_V1ALPHA2_API_VERSION);
/** Root schema of an InferenceModelRewrite (x-k8s.io group). */
export const inferenceModelRewriteResource = rewriteResource(INFERENCE_X_V1ALPHA2_API_VERSION);
/** Root schema of an InferenceModelRewrite (llm-d.ai group). */
export const inferenceModelRewriteLlmdResource = rewriteResource(LLMD_V1ALPHA2_API_VERSION);

/** zod schema of an InferenceObjective in the x-k8s.io group. */
export const InferenceObjectiveSchema = inferenceObjectiveResource.zod;
/** zod schema of an InferenceObjective in the llm-d.ai group. */
export const InferenceObjectiveLlmdSchema = inferenceObjectiveLlmdResource.zod;
/** zod schema of an InferenceModelRewrite in the x-k8s.io group. */
export const InferenceModelRewriteSchema = inferenceModelRewriteResource.zod;
/** zod schema of an InferenceModelRewrite in the llm-d.ai group. */
export const InferenceModelRewriteLlmdSchema = inferenceModelRewriteLlmdResource.zod;

/** An InferenceObjective (either group: the two differ only in apiVersion). */
export type InferenceObjective = z.output<typeof InferenceObjectiveSchema> | z.output<typeof InferenceObjectiveLlmdSchema>;
/** An InferenceModelRewrite (either group). */
export type InferenceModelRewrite = z.output<typeof InferenceModelRewriteSchema> | z.output<typeof InferenceModelRewriteLlmdSchema>;
/** `spec` of an InferenceObjective. */
export type InferenceObjectiveSpec = z.output<typeof inferenceObjectiveSpec.zod>;
/** `spec` of an InferenceModelRewrite. */
export type InferenceModelRewriteSpec = z.output<typeof inferenceModelRewriteSpec.zod>;

/** Parses an InferenceObjective of either group, told apart by `apiVersion`. */
export function inferenceObjectiveSchemaFor(apiVersion: unknown) {
  return apiVersion === LLMD_V1ALPHA2_API_VERSION ? InferenceObjectiveLlmdSchema : InferenceObjectiveSchema;
}

/** Parses an InferenceModelRewrite of either group, told apart by `apiVersion`. */
export function inferenceModelRewriteSchemaFor(apiVersion: unknown) {
  return apiVersion === LLMD_V1ALPHA2_API_VERSION ? InferenceModelRewriteLlmdSchema : InferenceModelRewriteSchema;
}

const objectiveColumns: PrinterColumn[] = [
  { name: 'Inference Pool', type: 'string', jsonPath: '.spec.poolRef.name' },
  { name: 'Priority', type: 'string', jsonPath: '.spec.priority' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
const rewriteColumns: PrinterColumn[] = [
  { name: 'Inference Pool', type: 'string', jsonPath: '.spec.poolRef.name' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** InferenceObjective CRD in the x-k8s.io group. */
export const inferenceObjectiveCrd: CrdDefinition = {
  group: INFERENCE_X_GROUP,
  kind: 'InferenceObjective',
  plural: 'inferenceobjectives',
  singular: 'inferenceobjective',
  categories: ['llm-d'],
  scope: 'Namespaced',
  versions: [{ name: 'v1alpha2', schema: inferenceObjectiveResource, printerColumns: objectiveColumns }],
};

/** InferenceObjective CRD in the llm-d.ai group. */
export const inferenceObjectiveLlmdCrd: CrdDefinition = {
  ...inferenceObjectiveCrd,
  group: 'llm-d.ai',
  versions: [{ name: 'v1alpha2', schema: inferenceObjectiveLlmdResource, printerColumns: objectiveColumns }],
};

/** InferenceModelRewrite CRD in the x-k8s.io group. */
export const inferenceModelRewriteCrd: CrdDefinition = {
  group: INFERENCE_X_GROUP,
  kind: 'InferenceModelRewrite',
  plural: 'inferencemodelrewrites',
  singular: 'inferencemodelrewrite',
  categories: ['llm-d'],
  scope: 'Namespaced',
  versions: [{ name: 'v1alpha2', schema: inferenceModelRewriteResource, printerColumns: rewriteColumns }],
};

/** InferenceModelRewrite CRD in the llm-d.ai group. */
export const inferenceModelRewriteLlmdCrd: CrdDefinition = {
  ...inferenceModelRewriteCrd,
  group: 'llm-d.ai',
  versions: [{ name: 'v1alpha2', schema: inferenceModelRewriteLlmdResource, printerColumns: rewriteColumns }],
};
