// Sample objects of every kind, valid and invalid, shared by the unit tests (zod vs OpenAPI vs CEL)
// and the API-server test.
import {
  inferenceModelRewriteLlmdResource,
  inferenceModelRewriteResource,
  inferenceObjectiveLlmdResource,
  inferenceObjectiveResource,
} from '../inference-objective.js';
import { inferencePoolV1Alpha2Resource, inferencePoolV1Resource } from '../inference-pool.js';
import { modelServiceResource } from '../model-service.js';
import type { Schema } from '../schema/dsl.js';
import { variantAutoscalingResource } from '../variant-autoscaling.js';

const meta = { name: 'sample', namespace: 'default' };

const va = (spec: object, extra: object = {}) => ({ apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: meta, spec, ...extra });
const vaSpec = { scaleTargetRef: { kind: 'Deployment', name: 'qwen-decode' }, modelID: 'Qwen/Qwen3-0.6B' };

const pool = (spec: object) => ({ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: meta, spec });
const poolSpec = {
  selector: { matchLabels: { 'llm-d.ai/model': 'qwen' } },
  targetPorts: [{ number: 8000 }],
  endpointPickerRef: { name: 'qwen-epp', port: { number: 9002 } },
};
const poolAlpha = (spec: object) => ({ apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferencePool', metadata: meta, spec });

const objective = (apiVersion: string, spec: object) => ({ apiVersion, kind: 'InferenceObjective', metadata: meta, spec });
const rewrite = (apiVersion: string, spec: object) => ({ apiVersion, kind: 'InferenceModelRewrite', metadata: meta, spec });

const ms = (spec: object, metadata: object = meta) => ({ apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata, spec });
const model = { name: 'Qwen/Qwen3-0.6B', uri: 'hf://Qwen/Qwen3-0.6B' };
const decode = { replicas: 2 };

/** One sample object. */
export interface Case {
  label: string;
  schema: Schema;
  object: unknown;
  /** The field the error must name; absent for a valid object. */
  invalid?: string;
}

/** Every sample. */
export const CASES: Case[] = [
  // VariantAutoscaling
  { label: 'VA: minimal', schema: variantAutoscalingResource, object: va(vaSpec) },
  {
    label: 'VA: every field, with a status',
    schema: variantAutoscalingResource,
    object: va(
      { ...vaSpec, variantCost: '12.5', minReplicas: 0, maxReplicas: 8, accelerator: 'H100', acceleratorCount: 2, sloClassRef: { name: 'service-classes-config', key: 'premium' }, slo: { targetTTFT: 500, targetITL: 30 } },
      {
        status: {
          currentAlloc: { numReplicas: 2, accelerator: 'H100' },
          desiredOptimizedAlloc: { numReplicas: 3, lastRunTime: '2026-01-02T03:04:05Z', lastUpdate: { numReplicasChanged: 1, reason: 'scale up', updateTime: '2026-01-02T03:04:05Z' } },
          actuation: { applied: true },
          conditions: [{ type: 'MetricsAvailable', status: 'True', reason: 'MetricsFound', message: '', lastTransitionTime: '2026-01-02T03:04:05Z' }],
        },
      },
    ),
  },
  { label: 'VA: no modelID', schema: variantAutoscalingResource, object: va({ scaleTargetRef: vaSpec.scaleTargetRef }), invalid: 'spec.modelID' },
  { label: 'VA: minReplicas above maxReplicas', schema: variantAutoscalingResource, object: va({ ...vaSpec, minReplicas: 3, maxReplicas: 2 }), invalid: 'spec.minReplicas' },
  { label: 'VA: minReplicas above the default maxReplicas', schema: variantAutoscalingResource, object: va({ ...vaSpec, minReplicas: 3 }), invalid: 'spec.minReplicas' },
  { label: 'VA: negative minReplicas', schema: variantAutoscalingResource, object: va({ ...vaSpec, minReplicas: -1 }), invalid: 'spec.minReplicas' },
  { label: 'VA: variantCost not a number', schema: variantAutoscalingResource, object: va({ ...vaSpec, variantCost: 'cheap' }), invalid: 'spec.variantCost' },
  { label: 'VA: target kind not scalable', schema: variantAutoscalingResource, object: va({ ...vaSpec, scaleTargetRef: { kind: 'Pod', name: 'x' } }), invalid: 'spec.scaleTargetRef.kind' },
  { label: 'VA: no target name', schema: variantAutoscalingResource, object: va({ ...vaSpec, scaleTargetRef: { kind: 'Deployment' } }), invalid: 'spec.scaleTargetRef.name' },
  {
    label: 'VA: condition status not True/False/Unknown',
    schema: variantAutoscalingResource,
    object: va(vaSpec, { status: { conditions: [{ type: 'MetricsAvailable', status: 'Yes', reason: 'MetricsFound', message: '', lastTransitionTime: '2026-01-02T03:04:05Z' }] } }),
    invalid: 'status.conditions[0].status',
  },
  { label: 'VA: replicas in status not an integer', schema: variantAutoscalingResource, object: va(vaSpec, { status: { desiredOptimizedAlloc: { numReplicas: 1.5 } } }), invalid: 'status.desiredOptimizedAlloc.numReplicas' },

  // InferencePool v1
  { label: 'InferencePool v1: one port', schema: inferencePoolV1Resource, object: pool(poolSpec) },
  { label: 'InferencePool v1: eight ports, FailOpen, h2c', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, appProtocol: 'kubernetes.io/h2c', targetPorts: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ number: 8000 + i })), endpointPickerRef: { ...poolSpec.endpointPickerRef, failureMode: 'FailOpen' } }) },
  { label: 'InferencePool v1: no picker', schema: inferencePoolV1Resource, object: pool({ selector: poolSpec.selector, targetPorts: poolSpec.targetPorts }) },
  { label: 'InferencePool v1: picker of another kind without a port', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, endpointPickerRef: { group: 'example.com', kind: 'Picker', name: 'p' } }) },
  { label: 'InferencePool v1: duplicate port', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, targetPorts: [{ number: 8000 }, { number: 8000 }] }), invalid: 'spec.targetPorts' },
  { label: 'InferencePool v1: nine ports', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, targetPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ({ number: 8000 + i })) }), invalid: 'spec.targetPorts' },
  { label: 'InferencePool v1: no ports', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, targetPorts: [] }), invalid: 'spec.targetPorts' },
  { label: 'InferencePool v1: port 0', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, targetPorts: [{ number: 0 }] }), invalid: 'spec.targetPorts[0].number' },
  { label: 'InferencePool v1: port 70000', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, targetPorts: [{ number: 70000 }] }), invalid: 'spec.targetPorts[0].number' },
  { label: 'InferencePool v1: unknown failure mode', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, endpointPickerRef: { ...poolSpec.endpointPickerRef, failureMode: 'Maybe' } }), invalid: 'spec.endpointPickerRef.failureMode' },
  { label: 'InferencePool v1: Service picker without a port', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, endpointPickerRef: { name: 'qwen-epp' } }), invalid: 'spec.endpointPickerRef' },
  { label: 'InferencePool v1: no selector', schema: inferencePoolV1Resource, object: pool({ targetPorts: poolSpec.targetPorts }), invalid: 'spec.selector' },
  { label: 'InferencePool v1: bad label value', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, selector: { matchLabels: { app: 'not a label' } } }), invalid: 'spec.selector.matchLabels.app' },
  { label: 'InferencePool v1: unknown protocol', schema: inferencePoolV1Resource, object: pool({ ...poolSpec, appProtocol: 'grpc' }), invalid: 'spec.appProtocol' },

  // InferencePool v1alpha2
  { label: 'InferencePool v1alpha2: minimal', schema: inferencePoolV1Alpha2Resource, object: poolAlpha({ selector: { app: 'vllm' }, targetPortNumber: 8000, extensionRef: { name: 'epp' } }) },
  { label: 'InferencePool v1alpha2: no target port', schema: inferencePoolV1Alpha2Resource, object: poolAlpha({ selector: { app: 'vllm' }, extensionRef: { name: 'epp' } }), invalid: 'spec.targetPortNumber' },
  { label: 'InferencePool v1alpha2: no extensionRef', schema: inferencePoolV1Alpha2Resource, object: poolAlpha({ selector: { app: 'vllm' }, targetPortNumber: 8000 }), invalid: 'spec.extensionRef' },
  { label: 'InferencePool v1alpha2: bad extension port', schema: inferencePoolV1Alpha2Resource, object: poolAlpha({ selector: { app: 'vllm' }, targetPortNumber: 8000, extensionRef: { name: 'epp', portNumber: 0 } }), invalid: 'spec.extensionRef.portNumber' },

  // InferenceObjective / InferenceModelRewrite, both groups
  { label: 'InferenceObjective x-k8s.io: priority', schema: inferenceObjectiveResource, object: objective('inference.networking.x-k8s.io/v1alpha2', { priority: -5, poolRef: { name: 'qwen' } }) },
  { label: 'InferenceObjective llm-d.ai: no priority', schema: inferenceObjectiveLlmdResource, object: objective('llm-d.ai/v1alpha2', { poolRef: { name: 'qwen' } }) },
  { label: 'InferenceObjective: fractional priority', schema: inferenceObjectiveResource, object: objective('inference.networking.x-k8s.io/v1alpha2', { priority: 1.5, poolRef: { name: 'qwen' } }), invalid: 'spec.priority' },
  { label: 'InferenceObjective: no poolRef', schema: inferenceObjectiveResource, object: objective('inference.networking.x-k8s.io/v1alpha2', { priority: 1 }), invalid: 'spec.poolRef' },
  { label: 'InferenceObjective: empty pool name', schema: inferenceObjectiveLlmdResource, object: objective('llm-d.ai/v1alpha2', { poolRef: { name: '' } }), invalid: 'spec.poolRef.name' },
  {
    label: 'InferenceModelRewrite: canary split',
    schema: inferenceModelRewriteResource,
    object: rewrite('inference.networking.x-k8s.io/v1alpha2', {
      poolRef: { name: 'qwen' },
      rules: [{ matches: [{ model: { value: 'qwen' } }], targets: [{ modelRewrite: 'qwen-v1', weight: 90 }, { modelRewrite: 'qwen-v2', weight: 10 }] }, { targets: [{ modelRewrite: 'qwen-v1' }] }],
    }),
  },
  { label: 'InferenceModelRewrite llm-d.ai: catch-all', schema: inferenceModelRewriteLlmdResource, object: rewrite('llm-d.ai/v1alpha2', { poolRef: { name: 'qwen' }, rules: [{ targets: [{ modelRewrite: 'b' }] }] }) },
  { label: 'InferenceModelRewrite: weight 0', schema: inferenceModelRewriteResource, object: rewrite('inference.networking.x-k8s.io/v1alpha2', { poolRef: { name: 'qwen' }, rules: [{ targets: [{ modelRewrite: 'b', weight: 0 }] }] }), invalid: 'spec.rules[0].targets[0].weight' },
  { label: 'InferenceModelRewrite: prefix match', schema: inferenceModelRewriteResource, object: rewrite('inference.networking.x-k8s.io/v1alpha2', { poolRef: { name: 'qwen' }, rules: [{ matches: [{ model: { type: 'Prefix', value: 'q' } }] }] }), invalid: 'spec.rules[0].matches[0].model.type' },
  { label: 'InferenceModelRewrite: no targets in the list', schema: inferenceModelRewriteResource, object: rewrite('inference.networking.x-k8s.io/v1alpha2', { poolRef: { name: 'qwen' }, rules: [{ targets: [] }] }), invalid: 'spec.rules[0].targets' },
  { label: 'InferenceModelRewrite: no rules', schema: inferenceModelRewriteResource, object: rewrite('inference.networking.x-k8s.io/v1alpha2', { poolRef: { name: 'qwen' } }), invalid: 'spec.rules' },

  // ModelService
  { label: 'ModelService: minimal (optimized-baseline, standalone)', schema: modelServiceResource, object: ms({ model, decode }) },
  { label: 'ModelService: inference-scheduling through a Gateway', schema: modelServiceResource, object: ms({ preset: 'inference-scheduling', model, decode, routing: { gateway: { parentRef: { name: 'infra-gateway', namespace: 'gateways', sectionName: 'http' } } } }) },
  {
    label: 'ModelService: precise prefix cache with GPUs',
    schema: modelServiceResource,
    object: ms({
      preset: 'precise-prefix-cache-routing',
      model: { ...model, servedName: 'qwen', authSecretName: 'hf-token' },
      decode: { replicas: 4, parallelism: { tensor: 2 }, accelerator: { type: 'H100' }, resources: { limits: { cpu: '8', memory: '64Gi' }, requests: { cpu: 4 } }, env: [{ name: 'VLLM_LOGGING_LEVEL', value: 'DEBUG' }], args: ['--max-model-len', '8192'] },
      router: { replicas: 2 },
      prefixCache: { blockSize: 16, hashSeed: '7' },
    }),
  },
  {
    label: 'ModelService: P/D with autoscaling',
    schema: modelServiceResource,
    object: ms({ preset: 'pd-disaggregation', model: { name: 'gpt-oss', uri: 'pvc://models/gpt-oss-120b' }, decode: { replicas: 2, parallelism: { tensor: 4 } }, prefill: { replicas: 8 }, autoscaling: { enabled: true, minReplicas: 0, maxReplicas: 10, slo: { targetTTFT: 200 } } }),
  },
  { label: 'ModelService: custom router config', schema: modelServiceResource, object: ms({ model: { name: 'm', uri: 'oci://registry.example.com/models/m:1' }, decode, router: { endpointPickerConfig: 'plugins: [{type: queue-scorer}]\n' } }) },
  { label: 'ModelService: router config from another preset', schema: modelServiceResource, object: ms({ model, decode, router: { preset: 'inference-scheduling', replicas: 3 } }) },
  { label: 'ModelService: unknown URI scheme', schema: modelServiceResource, object: ms({ model: { name: 'm', uri: 's3://bucket/m' }, decode }), invalid: 'spec.model.uri' },
  { label: 'ModelService: no model', schema: modelServiceResource, object: ms({ decode }), invalid: 'spec.model' },
  { label: 'ModelService: no decode role', schema: modelServiceResource, object: ms({ model }), invalid: 'spec.decode' },
  { label: 'ModelService: unknown preset', schema: modelServiceResource, object: ms({ preset: 'wide-ep', model, decode }), invalid: 'spec.preset' },
  { label: 'ModelService: prefill without a P/D preset', schema: modelServiceResource, object: ms({ model, decode, prefill: { replicas: 1 } }), invalid: 'spec.prefill' },
  { label: 'ModelService: P/D preset without prefill', schema: modelServiceResource, object: ms({ preset: 'pd-disaggregation', model, decode }), invalid: 'spec.preset' },
  { label: 'ModelService: negative replicas', schema: modelServiceResource, object: ms({ model, decode: { replicas: -1 } }), invalid: 'spec.decode.replicas' },
  { label: 'ModelService: tensor parallel 0', schema: modelServiceResource, object: ms({ model, decode: { parallelism: { tensor: 0 } } }), invalid: 'spec.decode.parallelism.tensor' },
  { label: 'ModelService: bad quantity', schema: modelServiceResource, object: ms({ model, decode: { resources: { limits: { cpu: 'lots' } } } }), invalid: 'spec.decode.resources.limits.cpu' },
  { label: 'ModelService: both gateway and standalone', schema: modelServiceResource, object: ms({ model, decode, routing: { gateway: { parentRef: { name: 'g' } }, standalone: {} } }), invalid: 'spec.routing' },
  { label: 'ModelService: neither gateway nor standalone', schema: modelServiceResource, object: ms({ model, decode, routing: {} }), invalid: 'spec.routing' },
  { label: 'ModelService: router config and preset', schema: modelServiceResource, object: ms({ model, decode, router: { endpointPickerConfig: 'plugins: []', preset: 'inference-scheduling' } }), invalid: 'spec.router.preset' },
  { label: 'ModelService: autoscaling min above max', schema: modelServiceResource, object: ms({ model, decode, autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } }), invalid: 'spec.autoscaling.minReplicas' },
  { label: 'ModelService: name with capitals', schema: modelServiceResource, object: ms({ model, decode }, { name: 'Qwen', namespace: 'default' }), invalid: '' },
  { label: 'ModelService: name too long for its children', schema: modelServiceResource, object: ms({ model, decode }, { name: 'a'.repeat(51), namespace: 'default' }), invalid: '' },
];

