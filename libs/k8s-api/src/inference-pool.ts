// InferencePool: the set of model-server pods a router picks from. Two forms exist upstream:
// inference.networking.k8s.io/v1 (GA) and inference.networking.x-k8s.io/v1alpha2 (older, another
// group, so another CRD). Both are readable; normalizeInferencePool turns either into one form.
import type { z } from 'zod';
import { parseResource } from './errors.js';
import { conditions, group, kind, LABEL_VALUE_PATTERN, objectName, portNumber } from './schema/common.js';
import { resource, type CrdDefinition } from './schema/crd.js';
import { array, enumOf, map, object, optional, string, withDefault } from './schema/dsl.js';

/** Group of the GA InferencePool. */
export const INFERENCE_GROUP = 'inference.networking.k8s.io';
/** Group of the experimental (x-k8s.io) Gateway API Inference Extension kinds. */
export const INFERENCE_X_GROUP = 'inference.networking.x-k8s.io';
/** `apiVersion` of the GA InferencePool. */
export const INFERENCE_POOL_V1_API_VERSION = 'inference.networking.k8s.io/v1';
/** `apiVersion` of the older InferencePool form. */
export const INFERENCE_POOL_V1ALPHA2_API_VERSION = 'inference.networking.x-k8s.io/v1alpha2';
/** Port of the endpoint picker a v1alpha2 pool implies when `extensionRef.portNumber` is unset. */
export const DEFAULT_EPP_PORT = 9002;

const FAILURE_MODES = ['FailOpen', 'FailClose'] as const;
/** How the gateway behaves when the endpoint picker does not answer. */
export type FailureMode = (typeof FAILURE_MODES)[number];

const labelValueSchema = string({ description: 'A label value.', maxLength: 63, pattern: LABEL_VALUE_PATTERN, patternMessage: 'must be a valid label value' });

const port = object({ number: portNumber('Port number, 1..65535.') }, { description: 'A port.' });

const parentReference = object(
  {
    group: withDefault(group('Group of the parent; gateway.networking.k8s.io when unset.'), 'gateway.networking.k8s.io'),
    kind: withDefault(kind('Kind of the parent; Gateway when unset.'), 'Gateway'),
    name: objectName('Name of the parent.'),
    namespace: optional(string({ description: 'Namespace of the parent; the pool\'s own when unset.', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' })),
  },
  { description: 'The parent (usually a Gateway) this status entry is about.' },
);

/** Schema of the v1 `spec`. */
export const inferencePoolV1Spec = object(
  {
    selector: object(
      {
        matchLabels: map(labelValueSchema, { description: 'Labels a pod must carry to be a member (same namespace only).', maxProperties: 64, mapType: 'atomic' }),
      },
      { description: 'Which pods are members of the pool; a simple label map, as a Service selector.' },
    ),
    targetPorts: array(port, {
      description: 'Ports of the member pods; every podIP:port is one endpoint.',
      minItems: 1,
      maxItems: 8,
      listType: 'atomic',
      rules: [
        {
          rule: 'self.all(p1, self.exists_one(p2, p1.number==p2.number))',
          message: 'port number must be unique',
          holds: (ports) => new Set(ports.map((p) => p.number)).size === ports.length,
        },
      ],
    }),
    appProtocol: withDefault(enumOf(['http', 'kubernetes.io/h2c'], { description: 'Protocol of the target ports: http (HTTP/1.1) or kubernetes.io/h2c.' }), 'http'),
    endpointPickerRef: optional(
      object(
        {
          group: withDefault(group('Group of the endpoint picker object; "" (core) when unset.'), ''),
          kind: withDefault(kind('Kind of the endpoint picker object; Service when unset.'), 'Service'),
          name: objectName('Name of the endpoint picker object.'),
          port: optional(port),
          failureMode: withDefault(enumOf(FAILURE_MODES, { description: 'What the gateway does when the picker does not answer: FailOpen or FailClose.' }), 'FailClose'),
        },
        {
          description: 'The endpoint picker (router) that picks an endpoint for each request.',
          rules: [
            {
              rule: "self.kind != 'Service' || has(self.port)",
              message: "port is required when kind is 'Service' or unspecified (defaults to 'Service')",
              holds: (r) => r.kind !== 'Service' || r.port !== undefined,
            },
          ],
        },
      ),
    ),
  },
  { description: 'Desired state of the pool.' },
);

/** Schema of the v1 `status`. */
export const inferencePoolV1Status = object(
  {
    parents: optional(
      array(
        object(
          {
            parentRef: parentReference,
            controllerName: optional(
              string({ description: 'Controller that wrote this entry, DOMAIN/PATH.', minLength: 1, maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$" }),
            ),
            conditions: optional(conditions('Accepted, ResolvedRefs and Exported.')),
          },
          { description: 'The pool as one parent sees it.' },
        ),
        { description: 'Parents (usually Gateways) the pool is attached to.', maxItems: 32, listType: 'atomic' },
      ),
    ),
  },
  { description: 'Observed state of the pool.' },
);

/** Root schema of a v1 InferencePool. */
export const inferencePoolV1Resource = resource({
  apiVersion: INFERENCE_POOL_V1_API_VERSION,
  kind: 'InferencePool',
  description: 'InferencePool is a set of model-server pods behind one endpoint picker.',
  spec: inferencePoolV1Spec,
  status: inferencePoolV1Status,
});

/** Schema of the v1alpha2 `spec`. */
export const inferencePoolV1Alpha2Spec = object(
  {
    selector: map(labelValueSchema, { description: 'Labels a pod must carry to be a member (same namespace only).' }),
    targetPortNumber: portNumber('Port of the member pods.'),
    extensionRef: object(
      {
        group: withDefault(group('Group of the extension object; "" (core) when unset.'), ''),
        kind: withDefault(kind('Kind of the extension object; Service when unset.'), 'Service'),
        name: objectName('Name of the extension object.'),
        portNumber: optional(portNumber('Port of the extension service; 9002 when unset and the kind is Service.')),
        failureMode: withDefault(enumOf(FAILURE_MODES, { description: 'What the gateway does when the extension does not answer: FailOpen or FailClose.' }), 'FailClose'),
      },
      { description: 'The endpoint picker extension.' },
    ),
  },
  { description: 'Desired state of the pool.' },
);

/** Schema of the v1alpha2 `status`. */
export const inferencePoolV1Alpha2Status = object(
  {
    parent: optional(
      array(
        object(
          {
            parentRef: object(
              {
                apiVersion: optional(string({ description: 'API version of the parent.' })),
                kind: optional(string({ description: 'Kind of the parent.' })),
                name: optional(string({ description: 'Name of the parent.' })),
                namespace: optional(string({ description: 'Namespace of the parent.' })),
              },
              { description: 'The parent (usually a Gateway).' },
            ),
            conditions: optional(conditions('Accepted and ResolvedRefs.')),
          },
          { description: 'The pool as one parent sees it.' },
        ),
        { description: 'Parents the pool is attached to.', maxItems: 32 },
      ),
    ),
  },
  { description: 'Observed state of the pool.' },
);

/** Root schema of a v1alpha2 InferencePool. */
export const inferencePoolV1Alpha2Resource = resource({
  apiVersion: INFERENCE_POOL_V1ALPHA2_API_VERSION,
  kind: 'InferencePool',
  description: 'InferencePool (older x-k8s.io form) is a set of model-server pods behind one endpoint picker extension.',
  spec: inferencePoolV1Alpha2Spec,
  status: inferencePoolV1Alpha2Status,
});

/** zod schema of a v1 InferencePool. */
export const InferencePoolSchema = inferencePoolV1Resource.zod;
/** zod schema of a v1alpha2 InferencePool. */
export const InferencePoolV1Alpha2Schema = inferencePoolV1Alpha2Resource.zod;
/** A v1 InferencePool. */
export type InferencePool = z.output<typeof InferencePoolSchema>;
/** A v1 InferencePool as written. */
export type InferencePoolInput = z.input<typeof InferencePoolSchema>;
/** A v1alpha2 InferencePool. */
export type InferencePoolV1Alpha2 = z.output<typeof InferencePoolV1Alpha2Schema>;

/** The endpoint picker a pool names, in one form for both API versions. */
export interface EndpointPickerReference {
  group: string;
  kind: string;
  name: string;
  /** Port of the picker's service; null when the reference gives none (and no default applies). */
  port: number | null;
  failureMode: FailureMode;
}

/** An InferencePool of either API version, reduced to what a router needs. */
export interface NormalizedInferencePool {
  /** The API version it was read from. */
  apiVersion: typeof INFERENCE_POOL_V1_API_VERSION | typeof INFERENCE_POOL_V1ALPHA2_API_VERSION;
  name: string;
  namespace: string;
  /** Labels a member pod must carry. */
  selector: Record<string, string>;
  /** Ports of each member pod; every podIP:port is one endpoint. */
  targetPorts: number[];
  appProtocol: 'http' | 'kubernetes.io/h2c';
  /** The endpoint picker, or null when a v1 pool names none. */
  eppRef: EndpointPickerReference | null;
}

/**
 * Reads an InferencePool of either API version (v1 or v1alpha2, told apart by `apiVersion`) into
 * one form. Throws a ResourceValidationError naming the field when the object is malformed.
 */
export function normalizeInferencePool(obj: unknown): NormalizedInferencePool {
  const apiVersion = (obj as { apiVersion?: unknown } | null)?.apiVersion;
  if (apiVersion === INFERENCE_POOL_V1ALPHA2_API_VERSION) {
    const pool = parseResource(InferencePoolV1Alpha2Schema, obj);
    const ext = pool.spec.extensionRef;
    return {
      apiVersion,
      name: pool.metadata.name ?? '',
      namespace: pool.metadata.namespace ?? 'default',
      selector: { ...pool.spec.selector },
      targetPorts: [pool.spec.targetPortNumber],
      appProtocol: 'http',
      eppRef: {
        group: ext.group,
        kind: ext.kind,
        name: ext.name,
        port: ext.portNumber ?? (ext.kind === 'Service' ? DEFAULT_EPP_PORT : null),
        failureMode: ext.failureMode,
      },
    };
  }
  const pool = parseResource(InferencePoolSchema, obj);
  const ref = pool.spec.endpointPickerRef;
  return {
    apiVersion: INFERENCE_POOL_V1_API_VERSION,
    name: pool.metadata.name ?? '',
    namespace: pool.metadata.namespace ?? 'default',
    selector: { ...pool.spec.selector.matchLabels },
    targetPorts: pool.spec.targetPorts.map((p) => p.number),
    appProtocol: pool.spec.appProtocol,
    eppRef: ref ? { group: ref.group, kind: ref.kind, name: ref.name, port: ref.port?.number ?? null, failureMode: ref.failureMode } : null,
  };
}

/** The GA InferencePool CRD (`inferencepools.inference.networking.k8s.io`). */
export const inferencePoolCrd: CrdDefinition = {
  group: INFERENCE_GROUP,
  kind: 'InferencePool',
  plural: 'inferencepools',
  singular: 'inferencepool',
  shortNames: ['infpool'],
  categories: ['llm-d'],
  scope: 'Namespaced',
  // *.k8s.io groups are protected: the API server wants the API review that approved the group.
  annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api-inference-extension/pull/1173' },
  versions: [
    {
      name: 'v1',
      schema: inferencePoolV1Resource,
      printerColumns: [
        { name: 'Port', type: 'integer', jsonPath: '.spec.targetPorts[0].number' },
        { name: 'Picker', type: 'string', jsonPath: '.spec.endpointPickerRef.name' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    },
  ],
};

/** The older InferencePool CRD (`inferencepools.inference.networking.x-k8s.io`), so a cluster can hold either form. */
export const inferencePoolV1Alpha2Crd: CrdDefinition = {
  group: INFERENCE_X_GROUP,
  kind: 'InferencePool',
  plural: 'inferencepools',
  singular: 'inferencepool',
  categories: ['llm-d'],
  scope: 'Namespaced',
  versions: [
    {
      name: 'v1alpha2',
      schema: inferencePoolV1Alpha2Resource,
      printerColumns: [
        { name: 'Port', type: 'integer', jsonPath: '.spec.targetPortNumber' },
        { name: 'Extension', type: 'string', jsonPath: '.spec.extensionRef.name' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    },
  ],
};
