// A custom resource: its root schema (zod + OpenAPI) and the CustomResourceDefinition built from it.
import { z } from 'zod';
import { ObjectMetaSchema } from './common.js';
import type { CelRule, Schema } from './dsl.js';
import type { OpenApiSchema } from './openapi.js';

/** Options of {@link resource}. */
export interface ResourceOptions<Spec extends Schema, Status extends Schema | undefined> {
  /** `group/version`. */
  apiVersion: string;
  kind: string;
  description: string;
  spec: Spec;
  /** Whether an object must have a spec (true unless the kind allows an empty one). */
  specRequired?: boolean;
  status?: Status;
  /** CEL rules on the whole object; they may read `self.metadata.name`. */
  rules?: CelRule<{ metadata: z.output<typeof ObjectMetaSchema>; spec: z.output<Spec['zod']> }>[];
}

type ResourceShape<Spec extends Schema, Status extends Schema | undefined> = {
  apiVersion: z.ZodLiteral<string>;
  kind: z.ZodLiteral<string>;
  metadata: typeof ObjectMetaSchema;
  spec: Spec['zod'];
  status: Status extends Schema ? z.ZodOptional<Status['zod']> : z.ZodOptional<z.ZodUndefined>;
};

/** The root schema of a custom resource: zod for programs, `openAPIV3Schema` for the CRD. */
export interface ResourceSchema<Spec extends Schema, Status extends Schema | undefined> extends Schema<z.ZodObject<ResourceShape<Spec, Status>>> {
  readonly apiVersion: string;
  readonly kind: string;
}

/** Builds the root schema of a kind from its spec and status schemas. */
export function resource<Spec extends Schema, Status extends Schema | undefined = undefined>(o: ResourceOptions<Spec, Status>): ResourceSchema<Spec, Status> {
  const rules = (o.rules ?? []) as CelRule<never>[];
  let zod: z.ZodType = z.object({
    apiVersion: z.literal(o.apiVersion),
    kind: z.literal(o.kind),
    metadata: ObjectMetaSchema,
    spec: o.specRequired === false ? o.spec.zod.optional() : o.spec.zod,
    status: o.status ? o.status.zod.optional() : z.undefined().optional(),
  });
  for (const r of rules) {
    zod = zod.superRefine((value, ctx) => {
      if (!(r.holds as (v: unknown) => boolean)(value)) ctx.addIssue({ code: 'custom', message: r.message, path: [] });
    });
  }
  const properties: Record<string, OpenApiSchema> = {
    apiVersion: { type: 'string', description: 'Versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'The REST resource this object represents.' },
    metadata: { type: 'object' },
    spec: o.spec.openapi,
  };
  if (o.status) properties.status = o.status.openapi;
  const openapi: OpenApiSchema = { type: 'object', description: o.description, properties };
  if (o.specRequired !== false) openapi.required = ['spec'];
  if (rules.length > 0) openapi['x-kubernetes-validations'] = rules.map((r) => ({ rule: r.rule, message: r.message }));
  const children: Record<string, Schema> = { spec: o.spec };
  if (o.status) children.status = o.status;
  return {
    zod: zod as z.ZodObject<ResourceShape<Spec, Status>>,
    openapi,
    omittable: false,
    rules,
    children,
    apiVersion: o.apiVersion,
    kind: o.kind,
  };
}

/** An extra column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** One served version of a kind. */
export interface CrdVersion {
  name: string;
  schema: Schema;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  printerColumns?: PrinterColumn[];
  /** Whether `/status` is a subresource (default true). */
  statusSubresource?: boolean;
}

/** What a CustomResourceDefinition says about a kind. */
export interface CrdDefinition {
  group: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  versions: CrdVersion[];
  /** Extra metadata annotations of the CRD object. */
  annotations?: Record<string, string>;
}

/** The `apiextensions.k8s.io/v1` CustomResourceDefinition of a kind, as a plain object ready for YAML. */
export function customResourceDefinition(def: CrdDefinition): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: `${def.plural}.${def.group}` };
  if (def.annotations) metadata.annotations = def.annotations;
  const names: Record<string, unknown> = { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular };
  if (def.shortNames) names.shortNames = def.shortNames;
  if (def.categories) names.categories = def.categories;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata,
    spec: {
      group: def.group,
      names,
      scope: def.scope,
      versions: def.versions.map((v) => {
        const out: Record<string, unknown> = { name: v.name, served: v.served ?? true, storage: v.storage ?? true };
        if (v.deprecated) out.deprecated = true;
        if (v.deprecationWarning) out.deprecationWarning = v.deprecationWarning;
        if (v.printerColumns) out.additionalPrinterColumns = v.printerColumns;
        out.schema = { openAPIV3Schema: sortSchema(v.schema.openapi) };
        if (v.statusSubresource !== false && v.schema.openapi.properties?.status) out.subresources = { status: {} };
        return out;
      }),
    },
  };
}

/** Sorts `properties` by name, recursively, so the YAML is stable and easy to read. */
function sortSchema(s: OpenApiSchema): OpenApiSchema {
  const out: OpenApiSchema = { ...s };
  if (s.properties) {
    out.properties = Object.fromEntries(
      Object.keys(s.properties)
        .sort()
        .map((k) => [k, sortSchema((s.properties as Record<string, OpenApiSchema>)[k] as OpenApiSchema)]),
    );
  }
  if (s.items) out.items = sortSchema(s.items);
  if (s.additionalProperties) out.additionalProperties = sortSchema(s.additionalProperties);
  return out;
}
