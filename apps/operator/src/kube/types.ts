// The resource types the operator reads and writes, with their REST names (no discovery needed).
import type { ResourceType } from '@llmd/k8s';

export type { ResourceType };

const t = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType => ({ apiVersion, kind, plural, namespaced });

/** Every type the operator touches, by kind. */
export const TYPES = {
  ModelService: t('llm-d.ai/v1alpha1', 'ModelService', 'modelservices'),
  Deployment: t('apps/v1', 'Deployment', 'deployments'),
  Service: t('v1', 'Service', 'services'),
  ConfigMap: t('v1', 'ConfigMap', 'configmaps'),
  ServiceAccount: t('v1', 'ServiceAccount', 'serviceaccounts'),
  Role: t('rbac.authorization.k8s.io/v1', 'Role', 'roles'),
  RoleBinding: t('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings'),
  InferencePool: t('inference.networking.k8s.io/v1', 'InferencePool', 'inferencepools'),
  HTTPRoute: t('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes'),
  VariantAutoscaling: t('llm-d.ai/v1alpha1', 'VariantAutoscaling', 'variantautoscalings'),
  Lease: t('coordination.k8s.io/v1', 'Lease', 'leases'),
  Event: t('v1', 'Event', 'events'),
} as const;

/** The kinds a ModelService owns, in the order they are pruned and watched. */
export const OWNED_TYPES: readonly ResourceType[] = [
  TYPES.HTTPRoute,
  TYPES.VariantAutoscaling,
  TYPES.InferencePool,
  TYPES.Deployment,
  TYPES.Service,
  TYPES.ConfigMap,
  TYPES.RoleBinding,
  TYPES.Role,
  TYPES.ServiceAccount,
];

/** The type of a rendered object. */
export function typeOf(object: { apiVersion: string; kind: string }): ResourceType {
  const type = Object.values(TYPES).find((x) => x.kind === object.kind && x.apiVersion === object.apiVersion);
  if (!type) throw new Error(`unknown resource type ${object.apiVersion} ${object.kind}`);
  return type;
}
