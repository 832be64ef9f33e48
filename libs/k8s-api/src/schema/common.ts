// Kubernetes types shared by several kinds, with the validation upstream gives them.
import { z } from 'zod';
import { array, describe, enumOf, freeform, integer, intOrString, map, object, optional, string } from './dsl.js';

/** DNS subdomain of an API group; "" is the core group. */
export const GROUP_PATTERN = '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A kind name (`Service`, `InferencePool`). */
export const KIND_PATTERN = '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$';
/** A label value: at most 63 characters of `[A-Za-z0-9-_.]`, starting and ending alphanumeric, or empty. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/** A DNS-1123 label: the name of a namespace or of most objects. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A resource quantity (`500m`, `2Gi`, `1`). */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** API group of a referent. */
export const group = (description: string) => string({ description, maxLength: 253, pattern: GROUP_PATTERN, patternMessage: 'must be a DNS subdomain or empty' });
/** Kind of a referent. */
export const kind = (description: string) => string({ description, minLength: 1, maxLength: 63, pattern: KIND_PATTERN, patternMessage: 'must be a kind name such as Service' });
/** Name of a referent. */
export const objectName = (description: string) => string({ description, minLength: 1, maxLength: 253 });
/** A port number, 1..65535. */
export const portNumber = (description: string) => integer({ description, format: 'int32', minimum: 1, maximum: 65535 });
/** A label value. */
export const labelValue = (description = 'A label value.') => string({ description, maxLength: 63, pattern: LABEL_VALUE_PATTERN, patternMessage: 'must be a valid label value' });

/** A `metav1.Condition`, as every status in this API uses. */
export const condition = object(
  {
    type: string({ description: 'Type of the condition, in CamelCase or foo.example.com/CamelCase.', maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: enumOf(['True', 'False', 'Unknown'], { description: 'Status of the condition: True, False or Unknown.' }),
    observedGeneration: optional(integer({ description: 'The .metadata.generation the condition was set from.', format: 'int64', minimum: 0 })),
    lastTransitionTime: string({ description: 'When the condition last changed status.', format: 'date-time' }),
    reason: string({ description: 'A CamelCase word saying why the condition has its status.', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: string({ description: 'A human-readable message about the transition; may be empty.', maxLength: 32768 }),
  },
  { description: 'One aspect of the current state of the object.' },
);

/** A condition list keyed by `type`. */
export const conditions = (description: string, maxItems = 8) => array(condition, { description, maxItems, listType: 'map', listMapKeys: ['type'] });

/** A resource quantity, as a number or a string such as `500m` or `16Gi`. */
export const quantity = intOrString({ description: 'A resource quantity, e.g. 2, 500m or 16Gi.', pattern: QUANTITY_PATTERN });

/** Compute resources of a container (`limits` and `requests`). */
export const resourceRequirements = object(
  {
    limits: optional(map(quantity, { description: 'Most of each resource the container may use (e.g. cpu, memory, nvidia.com/gpu).' })),
    requests: optional(map(quantity, { description: 'Resources the container is guaranteed; defaults to limits when only those are set.' })),
  },
  { description: 'Compute resources of the container.' },
);

/** One environment variable of a container. */
export const envVar = object(
  {
    name: string({ description: 'Variable name.', minLength: 1 }),
    value: optional(string({ description: 'Literal value.' })),
    valueFrom: optional(describe(freeform(), 'Where the value comes from (secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef), as in a Pod.')),
  },
  { description: 'An environment variable of the container.' },
);

/** `ObjectMeta` as zod reads it; the API server validates metadata itself, so the CRD schema says only `type: object`. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
});

/** Object metadata. */
export type ObjectMeta = z.output<typeof ObjectMetaSchema>;
/** A status condition. */
export type Condition = z.output<typeof condition.zod>;
/** Container compute resources. */
export type ResourceRequirements = z.output<typeof resourceRequirements.zod>;
/** A container environment variable. */
export type EnvVar = z.output<typeof envVar.zod>;
