// One definition, two outputs: every builder here returns both the zod schema a program validates
// with and the OpenAPI v3 schema the API server validates with, so the two cannot drift apart.
import { z } from 'zod';
import type { OpenApiSchema, ValidationRule } from './openapi.js';

/** A CEL rule of the CRD together with its TypeScript twin, which the zod schema runs. */
export interface CelRule<T> {
  /** The CEL expression, evaluated by the API server with `self` bound to the node. */
  rule: string;
  message: string;
  /** Path of the field the error names, relative to the node (`.maxReplicas`); the node itself when absent. */
  fieldPath?: string;
  reason?: ValidationRule['reason'];
  /** The same rule in TypeScript: true when the value is valid. */
  holds: (self: T) => boolean;
}

/** A schema node: the zod schema, the OpenAPI schema, and whether a parent object may omit it. */
export interface Schema<Z extends z.ZodType = z.ZodType> {
  readonly zod: Z;
  readonly openapi: OpenApiSchema;
  /** True for fields wrapped in {@link optional} or {@link withDefault}: not listed in `required`. */
  readonly omittable: boolean;
  /** CEL rules attached to this node, with their TypeScript twins (kept for tests that evaluate the CEL). */
  readonly rules: readonly CelRule<never>[];
  /** Child nodes by property name (objects), `[]` (array items) or `{}` (map values), for walking the tree. */
  readonly children: Readonly<Record<string, Schema>>;
}

interface Common {
  description?: string;
}

function node<Z extends z.ZodType>(zod: Z, openapi: OpenApiSchema, children: Record<string, Schema> = {}, rules: CelRule<never>[] = []): Schema<Z> {
  return { zod, openapi, omittable: false, rules, children };
}

function clean(schema: OpenApiSchema): OpenApiSchema {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (v !== undefined) out[k] = v;
  return out as OpenApiSchema;
}

/** Splits a CEL `fieldPath` such as `.spec.ports` or `.items[0]` into a zod issue path. */
function fieldPathToPath(fieldPath: string | undefined): (string | number)[] {
  if (fieldPath === undefined) return [];
  return [...fieldPath.matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : ((m[1] ?? m[3]) as string)));
}

function withRules<Z extends z.ZodType>(zod: Z, rules: readonly CelRule<never>[]): Z {
  let out = zod;
  for (const r of rules) {
    const holds = r.holds as (self: unknown) => boolean;
    out = out.superRefine((value, ctx) => {
      if (!holds(value)) ctx.addIssue({ code: 'custom', message: r.message, path: fieldPathToPath(r.fieldPath) });
    }) as Z;
  }
  return out;
}

function celOpenApi(rules: readonly CelRule<never>[] | undefined): ValidationRule[] | undefined {
  if (!rules || rules.length === 0) return undefined;
  return rules.map((r) => clean({ rule: r.rule, message: r.message, fieldPath: r.fieldPath, reason: r.reason } as OpenApiSchema) as ValidationRule);
}

/** Options of {@link string}. */
export interface StringOptions<T = string> extends Common {
  minLength?: number;
  maxLength?: number;
  /** A regular expression both RE2 (API server) and JavaScript read the same way. */
  pattern?: string;
  /** Message zod gives when the pattern does not match. */
  patternMessage?: string;
  format?: 'date-time';
  rules?: CelRule<T>[];
}

/** A string. */
export function string(o: StringOptions = {}): Schema<z.ZodString> {
  let zod = z.string();
  if (o.minLength !== undefined) zod = zod.min(o.minLength);
  if (o.maxLength !== undefined) zod = zod.max(o.maxLength);
  if (o.pattern !== undefined) zod = zod.regex(new RegExp(o.pattern), o.patternMessage ?? `must match ${o.pattern}`);
  if (o.format === 'date-time') zod = zod.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, 'must be an RFC 3339 date-time');
  return node(
    withRules(zod, (o.rules ?? []) as CelRule<never>[]),
    clean({ type: 'string', description: o.description, format: o.format, minLength: o.minLength, maxLength: o.maxLength, pattern: o.pattern, 'x-kubernetes-validations': celOpenApi(o.rules as CelRule<never>[]) }),
    {},
    (o.rules ?? []) as CelRule<never>[],
  );
}

/** One of a fixed set of strings. */
export function enumOf<const V extends readonly [string, ...string[]]>(values: V, o: Common = {}): Schema<z.ZodEnum<{ [K in V[number]]: K }>> {
  return node(z.enum(values as unknown as [V[number], ...V[number][]]) as unknown as z.ZodEnum<{ [K in V[number]]: K }>, clean({ type: 'string', description: o.description, enum: [...values] }));
}

/** Options of {@link integer} and {@link number}. */
export interface NumberOptions extends Common {
  minimum?: number;
  maximum?: number;
  format?: 'int32' | 'int64' | 'double';
}

/** An integer (JSON number without a fraction). */
export function integer(o: NumberOptions = {}): Schema<z.ZodNumber> {
  let zod = z.number().int();
  const min = o.minimum ?? (o.format === 'int32' ? -2147483648 : undefined);
  const max = o.maximum ?? (o.format === 'int32' ? 2147483647 : undefined);
  if (min !== undefined) zod = zod.min(min);
  if (max !== undefined) zod = zod.max(max);
  return node(zod, clean({ type: 'integer', description: o.description, format: o.format, minimum: o.minimum, maximum: o.maximum }));
}

/** A JSON number. */
export function number(o: NumberOptions = {}): Schema<z.ZodNumber> {
  let zod = z.number();
  if (o.minimum !== undefined) zod = zod.min(o.minimum);
  if (o.maximum !== undefined) zod = zod.max(o.maximum);
  return node(zod, clean({ type: 'number', description: o.description, format: o.format, minimum: o.minimum, maximum: o.maximum }));
}

/** true or false. */
export function boolean(o: Common = {}): Schema<z.ZodBoolean> {
  return node(z.boolean(), clean({ type: 'boolean', description: o.description }));
}

/** A Kubernetes int-or-string (e.g. a resource quantity or a port name/number). */
export function intOrString(o: Common & { pattern?: string } = {}): Schema<z.ZodUnion<[z.ZodNumber, z.ZodString]>> {
  const str = o.pattern === undefined ? z.string() : z.string().regex(new RegExp(o.pattern), `must match ${o.pattern}`);
  return node(
    z.union([z.number().int(), str]),
    clean({ description: o.description, anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: o.pattern, 'x-kubernetes-int-or-string': true }),
  );
}

/** Any JSON object, kept as it is (`x-kubernetes-preserve-unknown-fields`). */
export function freeform(o: Common = {}): Schema<z.ZodRecord<z.ZodString, z.ZodUnknown>> {
  return node(z.record(z.string(), z.unknown()), clean({ type: 'object', description: o.description, 'x-kubernetes-preserve-unknown-fields': true }));
}

type Shape = Record<string, Schema>;
type ZodShape<S extends Shape> = { [K in keyof S]: S[K]['zod'] };

/** Options of {@link object}. */
export interface ObjectOptions<T> extends Common {
  rules?: CelRule<T>[];
  minProperties?: number;
  mapType?: 'atomic' | 'granular';
}

/** An object with known properties; unknown keys are dropped, as the API server prunes them. */
export function object<S extends Shape>(shape: S, o: ObjectOptions<z.output<z.ZodObject<ZodShape<S>>>> = {}): Schema<z.ZodObject<ZodShape<S>>> {
  const zodShape: Record<string, z.ZodType> = {};
  const properties: Record<string, OpenApiSchema> = {};
  const required: string[] = [];
  for (const [key, child] of Object.entries(shape)) {
    zodShape[key] = child.zod;
    properties[key] = child.openapi;
    if (!child.omittable) required.push(key);
  }
  let zod = z.object(zodShape) as z.ZodObject<ZodShape<S>>;
  if (o.minProperties !== undefined) {
    const min = o.minProperties;
    zod = zod.refine((v) => Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).length >= min, `must set at least ${min} field(s)`) as typeof zod;
  }
  return node(
    withRules(zod, (o.rules ?? []) as CelRule<never>[]),
    clean({
      type: 'object',
      description: o.description,
      properties,
      required: required.length > 0 ? required : undefined,
      minProperties: o.minProperties,
      'x-kubernetes-map-type': o.mapType,
      'x-kubernetes-validations': celOpenApi(o.rules as CelRule<never>[]),
    }),
    shape,
    (o.rules ?? []) as CelRule<never>[],
  );
}

/** Options of {@link array}. */
export interface ArrayOptions<T> extends Common {
  minItems?: number;
  maxItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
  rules?: CelRule<T>[];
}

/** A list. */
export function array<I extends Schema>(item: I, o: ArrayOptions<z.output<I['zod']>[]> = {}): Schema<z.ZodArray<I['zod']>> {
  let zod = z.array(item.zod);
  if (o.minItems !== undefined) zod = zod.min(o.minItems);
  if (o.maxItems !== undefined) zod = zod.max(o.maxItems);
  if (o.listType === 'map' && o.listMapKeys) {
    const keys = o.listMapKeys;
    zod = zod.superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((it, i) => {
        const key = JSON.stringify(keys.map((k) => (it as Record<string, unknown>)[k]));
        if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `duplicate entry for key [${keys.join(', ')}]`, path: [i] });
        seen.add(key);
      });
    });
  }
  return node(
    withRules(zod, (o.rules ?? []) as CelRule<never>[]),
    clean({
      type: 'array',
      description: o.description,
      items: item.openapi,
      minItems: o.minItems,
      maxItems: o.maxItems,
      'x-kubernetes-list-type': o.listType,
      'x-kubernetes-list-map-keys': o.listMapKeys,
      'x-kubernetes-validations': celOpenApi(o.rules as CelRule<never>[]),
    }),
    { '[]': item },
    (o.rules ?? []) as CelRule<never>[],
  );
}

/** Options of {@link map}. */
export interface MapOptions<T> extends Common {
  maxProperties?: number;
  mapType?: 'atomic' | 'granular';
  rules?: CelRule<T>[];
}

/** An object used as a map from string keys to values of one schema. */
export function map<V extends Schema>(value: V, o: MapOptions<Record<string, z.output<V['zod']>>> = {}): Schema<z.ZodRecord<z.ZodString, V['zod']>> {
  let zod = z.record(z.string(), value.zod);
  if (o.maxProperties !== undefined) {
    const max = o.maxProperties;
    zod = zod.refine((v) => Object.keys(v).length <= max, `must have at most ${max} entries`);
  }
  return node(
    withRules(zod, (o.rules ?? []) as CelRule<never>[]),
    clean({
      type: 'object',
      description: o.description,
      additionalProperties: value.openapi,
      maxProperties: o.maxProperties,
      'x-kubernetes-map-type': o.mapType,
      'x-kubernetes-validations': celOpenApi(o.rules as CelRule<never>[]),
    }),
    { '{}': value },
    (o.rules ?? []) as CelRule<never>[],
  );
}

/** The field may be left out. */
export function optional<S extends Schema>(s: S): Schema<z.ZodOptional<S['zod']>> {
  return { ...s, zod: s.zod.optional(), omittable: true } as Schema<z.ZodOptional<S['zod']>>;
}

/** The field may be left out; the API server (and zod) then fill in `value`. */
export function withDefault<S extends Schema>(s: S, value: z.output<S['zod']>): Schema<z.ZodDefault<S['zod']>> {
  return {
    ...s,
    zod: s.zod.default(value as never),
    openapi: { ...s.openapi, default: value },
    omittable: true,
  } as Schema<z.ZodDefault<S['zod']>>;
}

/** Replaces the description of a schema node (shared types described in context). */
export function describe<S extends Schema>(s: S, description: string): S {
  return { ...s, openapi: { ...s.openapi, description } };
}
