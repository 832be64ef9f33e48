// Public entry of @llmd/k8s-api: zod schemas, TypeScript types and CRD definitions of the
// Kubernetes kinds the project reads and writes.
export * from './variant-autoscaling.js';
export * from './inference-pool.js';
export * from './inference-objective.js';
export * from './model-service.js';
export { ALL_CRDS, CRD_DIR, crdFileName, crdYaml, renderCrdFiles } from './crds.js';
export { ResourceValidationError, describeObject, fieldPath, parseResource } from './errors.js';
export { customResourceDefinition, resource } from './schema/crd.js';
export type { CrdDefinition, CrdVersion, PrinterColumn, ResourceOptions, ResourceSchema } from './schema/crd.js';
export { ObjectMetaSchema, condition as conditionSchema } from './schema/common.js';
export type { Condition, EnvVar, ObjectMeta, ResourceRequirements } from './schema/common.js';
export type { CelRule, Schema } from './schema/dsl.js';
export type { OpenApiSchema, ValidationRule } from './schema/openapi.js';
