// ModelService (llm-d.ai/v1alpha1, short name `msvc`): one model served along a well-lit path. The
// operator turns it into model-server Deployments, an InferencePool, a router and its routing.
import type { z } from 'zod';
import { conditions, envVar, resourceRequirements } from './schema/common.js';
import { resource, type CrdDefinition } from './schema/crd.js';
import { array, boolean, enumOf, integer, map, number, object, optional, string, withDefault } from './schema/dsl.js';

/** `apiVersion` of ModelService. */
export const MODEL_SERVICE_API_VERSION = 'llm-d.ai/v1alpha1';

/**
 * Well-lit paths a ModelService can follow, by upstream guide name: `optimized-baseline` (sticky
 * until saturated), `inference-scheduling` (its older name, with the older prefix/queue/KV blend),
 * `precise-prefix-cache-routing` (engines publish KV events to the router) and `pd-disaggregation`.
 */
export const MODEL_SERVICE_PRESETS = ['optimized-baseline', 'inference-scheduling', 'precise-prefix-cache-routing', 'pd-disaggregation'] as const;
/** A well-lit path. */
export type ModelServicePreset = (typeof MODEL_SERVICE_PRESETS)[number];
/** The presets that split prefill and decode into two roles. */
export const PD_PRESETS: readonly ModelServicePreset[] = ['pd-disaggregation'];

/** Condition types of a ModelService status. */
export const ModelServiceConditions = { Ready: 'Ready', Progressing: 'Progressing', Degraded: 'Degraded' } as const;

/** Pattern of `spec.model.uri`. */
export const MODEL_URI_PATTERN = '^(hf://\\S+|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/\\S*)?|oci://\\S+)$';
/** Longest ModelService name: child names add suffixes such as `-prefill` and must stay DNS labels. */
export const MODEL_SERVICE_MAX_NAME_LENGTH = 50;

const nameRule = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const preset = (description: string) => enumOf(MODEL_SERVICE_PRESETS, { description });

const model = object(
  {
    name: string({ description: 'The model to load, e.g. Qwen/Qwen3-0.6B.', minLength: 1, maxLength: 256 }),
    uri: string({
      description: 'Where the weights are: hf://<repo> (Hugging Face), pvc://<claim>/<path> or oci://<image>.',
      maxLength: 1024,
      pattern: MODEL_URI_PATTERN,
      patternMessage: 'must be hf://<repo>, pvc://<claim>/<path> or oci://<image>',
    }),
    servedName: optional(string({ description: 'Name clients send as `model`; the model name when unset.', minLength: 1, maxLength: 256 })),
    authSecretName: optional(string({ description: 'Secret whose HF_TOKEN key lets the engine download gated models.', minLength: 1, maxLength: 253 })),
  },
  { description: 'The model to serve.' },
);

const parallelism = object(
  {
    tensor: withDefault(integer({ description: 'Tensor-parallel size (GPUs per engine).', format: 'int32', minimum: 1, maximum: 64 }), 1),
    data: withDefault(integer({ description: 'Data-parallel size (engine ranks per pod).', format: 'int32', minimum: 1, maximum: 64 }), 1),
  },
  { description: 'How one replica spreads the model.' },
);

const accelerator = object(
  {
    type: string({ description: 'Accelerator model, e.g. H100 or A100-80GB; reported to the autoscaler.', minLength: 1, maxLength: 64 }),
    resource: withDefault(string({ description: 'Extended resource to request, e.g. nvidia.com/gpu or amd.com/gpu.', minLength: 1, maxLength: 253 }), 'nvidia.com/gpu'),
    count: optional(integer({ description: 'Units per pod; tensor × data parallel size when unset.', format: 'int32', minimum: 0, maximum: 1024 })),
  },
  { description: 'The accelerator each pod uses; none (CPU or a simulator) when unset.' },
);

const role = (description: string) =>
  object(
    {
      replicas: withDefault(integer({ description: 'Pods of this role (left to the autoscaler when autoscaling is enabled).', format: 'int32', minimum: 0 }), 1),
      parallelism: withDefault(parallelism, { tensor: 1, data: 1 }),
      image: optional(string({ description: 'Engine image; the operator\'s default model-server image when unset.', minLength: 1, maxLength: 512 })),
      args: optional(array(string({ description: 'One argument.', maxLength: 4096 }), { description: 'Extra engine arguments, appended after the generated ones.', maxItems: 256 })),
      env: optional(array(envVar, { description: 'Extra environment variables of the engine container.', maxItems: 256 })),
      resources: optional(resourceRequirements),
      accelerator: optional(accelerator),
      nodeSelector: optional(map(string({ description: 'Label value.', maxLength: 63 }), { description: 'Node labels the pods must land on.' })),
    },
    { description },
  );

const router = object(
  {
    replicas: withDefault(integer({ description: 'Router (endpoint picker) pods; more than one turns on leader election.', format: 'int32', minimum: 0, maximum: 16 }), 1),
    image: optional(string({ description: 'Router image; the operator\'s default when unset.', minLength: 1, maxLength: 512 })),
    endpointPickerConfig: optional(string({ description: 'An EndpointPickerConfig as YAML, used instead of the preset\'s.', minLength: 1, maxLength: 262144 })),
    preset: optional(preset('Take the router configuration of this path instead of spec.preset\'s.')),
    args: optional(array(string({ description: 'One flag.', maxLength: 4096 }), { description: 'Extra router flags.', maxItems: 64 })),
    resources: optional(resourceRequirements),
  },
  {
    description: 'The router (endpoint picker) of the pool.',
    rules: [
      {
        rule: '!(has(self.endpointPickerConfig) && has(self.preset))',
        message: 'set router.endpointPickerConfig or router.preset, not both',
        fieldPath: '.preset',
        holds: (r) => !(r.endpointPickerConfig !== undefined && r.preset !== undefined),
      },
    ],
  },
);

const routing = object(
  {
    gateway: optional(
      object(
        {
          parentRef: object(
            {
              name: string({ description: 'Name of the Gateway.', minLength: 1, maxLength: 253 }),
              namespace: optional(string({ description: 'Namespace of the Gateway; the ModelService\'s when unset.', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' })),
              sectionName: optional(string({ description: 'Listener of the Gateway to attach to.', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' })),
            },
            { description: 'The Gateway the HTTPRoute attaches to.' },
          ),
        },
        { description: 'Serve through a Gateway: the operator creates an HTTPRoute whose backend is the InferencePool.' },
      ),
    ),
    standalone: optional(
      object(
        { port: withDefault(integer({ description: 'Service port of the router\'s own proxy.', format: 'int32', minimum: 1, maximum: 65535 }), 8000) },
        { description: 'Serve through the router\'s own OpenAI-compatible proxy; no Gateway needed.' },
      ),
    ),
  },
  {
    description: 'How requests reach the pool; standalone when unset.',
    rules: [
      {
        rule: 'has(self.gateway) != has(self.standalone)',
        message: 'set exactly one of routing.gateway and routing.standalone',
        holds: (r) => (r.gateway !== undefined) !== (r.standalone !== undefined),
      },
    ],
  },
);

const autoscaling = object(
  {
    enabled: withDefault(boolean({ description: 'Create a VariantAutoscaling per role; replicas are then left to the autoscaler.' }), false),
    minReplicas: withDefault(integer({ description: 'Fewest replicas per role; 0 allows scaling to zero.', format: 'int32', minimum: 0 }), 1),
    maxReplicas: withDefault(integer({ description: 'Most replicas per role.', format: 'int32', minimum: 1 }), 2),
    variantCost: withDefault(string({ description: 'Cost of one replica, a decimal number as a string.', maxLength: 32, pattern: '^\\d+(\\.\\d+)?$', patternMessage: 'must be a decimal number such as 10.0' }), '10.0'),
    slo: optional(
      object(
        {
          targetTTFT: optional(number({ description: 'Time-to-first-token target in milliseconds.', minimum: 0 })),
          targetITL: optional(number({ description: 'Inter-token latency target in milliseconds.', minimum: 0 })),
        },
        { description: 'Latency targets passed to the autoscaler.' },
      ),
    ),
  },
  {
    description: 'Workload autoscaling of the model servers.',
    rules: [
      {
        rule: 'self.minReplicas <= self.maxReplicas',
        message: 'autoscaling.minReplicas must not exceed autoscaling.maxReplicas',
        fieldPath: '.minReplicas',
        holds: (a) => a.minReplicas <= a.maxReplicas,
      },
    ],
  },
);

const prefixCache = object(
  {
    blockSize: withDefault(integer({ description: 'Tokens per KV-cache block, given to the engine and the router alike.', format: 'int32', minimum: 1, maximum: 1024 }), 64),
    hashSeed: withDefault(string({ description: 'PYTHONHASHSEED of the engines, so block hashes are reproducible.', maxLength: 64 }), '42'),
  },
  { description: 'KV-cache block settings of the precise prefix-cache path.' },
);

/** Schema of a ModelService `spec`. */
export const modelServiceSpec = object(
  {
    preset: withDefault(preset('The well-lit path: optimized-baseline, inference-scheduling, precise-prefix-cache-routing or pd-disaggregation.'), 'optimized-baseline'),
    model,
    decode: role('The decode role: the pods that generate tokens (all of the work without P/D).'),
    prefill: optional(role('The prefill role of a P/D preset: the pods that process prompts and hand the KV cache to decode.')),
    router: withDefault(router, { replicas: 1 }),
    routing: withDefault(routing, { standalone: { port: 8000 } }),
    autoscaling: optional(autoscaling),
    prefixCache: withDefault(prefixCache, { blockSize: 64, hashSeed: '42' }),
  },
  {
    description: 'A model served along a well-lit path.',
    rules: [
      {
        rule: "!has(self.prefill) || self.preset == 'pd-disaggregation'",
        message: 'prefill is only allowed with preset pd-disaggregation',
        fieldPath: '.prefill',
        holds: (s) => s.prefill === undefined || s.preset === 'pd-disaggregation',
      },
      {
        rule: "self.preset != 'pd-disaggregation' || has(self.prefill)",
        message: 'preset pd-disaggregation needs a prefill role',
        fieldPath: '.preset',
        holds: (s) => s.preset !== 'pd-disaggregation' || s.prefill !== undefined,
      },
    ],
  },
);

const roleStatus = object(
  {
    replicas: withDefault(integer({ description: 'Pods the Deployment has.', format: 'int32', minimum: 0 }), 0),
    readyReplicas: withDefault(integer({ description: 'Pods that are ready.', format: 'int32', minimum: 0 }), 0),
    availableReplicas: withDefault(integer({ description: 'Pods that are available.', format: 'int32', minimum: 0 }), 0),
    updatedReplicas: withDefault(integer({ description: 'Pods that run the newest template.', format: 'int32', minimum: 0 }), 0),
  },
  { description: 'Pod counts of one Deployment.' },
);

/** Schema of a ModelService `status`. */
export const modelServiceStatus = object(
  {
    observedGeneration: optional(integer({ description: 'The .metadata.generation this status describes.', format: 'int64', minimum: 0 })),
    conditions: optional(conditions('Ready, Progressing and Degraded.')),
    roles: optional(
      object(
        { decode: optional(roleStatus), prefill: optional(roleStatus) },
        { description: 'Pod counts per model-server role.' },
      ),
    ),
    router: optional(roleStatus),
    inferencePool: optional(string({ description: 'Name of the InferencePool the operator manages.', maxLength: 253 })),
  },
  { description: 'What the operator observed.' },
);

/** Root schema of a ModelService. */
export const modelServiceResource = resource({
  apiVersion: MODEL_SERVICE_API_VERSION,
  kind: 'ModelService',
  description: 'ModelService serves one model along a well-lit path: model servers, an InferencePool, a router and its routing.',
  spec: modelServiceSpec,
  status: modelServiceStatus,
  rules: [
    {
      rule: `self.metadata.name.size() <= ${MODEL_SERVICE_MAX_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
      message: `metadata.name must be a DNS label of at most ${MODEL_SERVICE_MAX_NAME_LENGTH} characters starting with a letter`,
      holds: (o) => o.metadata.name === undefined || (o.metadata.name.length <= MODEL_SERVICE_MAX_NAME_LENGTH && nameRule.test(o.metadata.name)),
    },
  ],
});

/** zod schema of a whole ModelService; `parse` fills in defaults as the API server does. */
export const ModelServiceSchema = modelServiceResource.zod;
/** zod schema of a ModelService `spec`. */
export const ModelServiceSpecSchema = modelServiceSpec.zod;
/** zod schema of a ModelService `status`. */
export const ModelServiceStatusSchema = modelServiceStatus.zod;

/** A ModelService as read (defaults filled in). */
export type ModelService = z.output<typeof ModelServiceSchema>;
/** A ModelService as written. */
export type ModelServiceInput = z.input<typeof ModelServiceSchema>;
/** `spec` of a ModelService. */
export type ModelServiceSpec = z.output<typeof ModelServiceSpecSchema>;
/** `status` of a ModelService. */
export type ModelServiceStatus = z.output<typeof ModelServiceStatusSchema>;
/** One model-server role of a ModelService. */
export type ModelServiceRole = ModelServiceSpec['decode'];
/** Pod counts of one Deployment in a ModelService status. */
export type ModelServiceRoleStatus = z.output<typeof roleStatus.zod>;

/** The ModelService CRD. */
export const modelServiceCrd: CrdDefinition = {
  group: 'llm-d.ai',
  kind: 'ModelService',
  plural: 'modelservices',
  singular: 'modelservice',
  shortNames: ['msvc'],
  categories: ['llm-d'],
  scope: 'Namespaced',
  versions: [
    {
      name: 'v1alpha1',
      schema: modelServiceResource,
      printerColumns: [
        { name: 'Preset', type: 'string', jsonPath: '.spec.preset' },
        { name: 'Model', type: 'string', jsonPath: '.spec.model.name' },
        { name: 'Decode', type: 'integer', jsonPath: '.status.roles.decode.readyReplicas' },
        { name: 'Prefill', type: 'integer', jsonPath: '.status.roles.prefill.readyReplicas', priority: 1 },
        { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    },
  ],
};
