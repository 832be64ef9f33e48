// Validates an object the two ways it can be validated: with the zod schema, and the way the API
// server would with the CRD (OpenAPI through Ajv, an independent JSON Schema validator, with
// defaults applied first; then every CEL rule through a CEL interpreter).
import { evaluate } from '@marcbachmann/cel-js';
import { Ajv } from 'ajv';
import type { OpenApiSchema } from '../schema/openapi.js';
import type { Schema } from '../schema/dsl.js';
import { fieldPath } from '../errors.js';

/** Outcome of one validation: ok, or the fields named by the errors. */
export interface Outcome {
  ok: boolean;
  fields: string[];
  messages: string[];
}

/** Validates with the zod schema of the node. */
export function validateWithZod(schema: Schema, value: unknown): Outcome {
  const result = schema.zod.safeParse(value);
  if (result.success) return { ok: true, fields: [], messages: [] };
  return { ok: false, fields: result.error.issues.map((i) => fieldPath(i.path)), messages: result.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`) };
}

const ajv = new Ajv({
  strict: false,
  allErrors: true,
  useDefaults: true,
  formats: {
    'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
    int32: true,
    int64: true,
    double: true,
  },
});
const compiled = new WeakMap<OpenApiSchema, ReturnType<typeof ajv.compile>>();

function jsonPointerToField(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  return fieldPath(parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)));
}

function validatorOf(schema: Schema): ReturnType<typeof ajv.compile> {
  let validate = compiled.get(schema.openapi);
  if (!validate) {
    validate = ajv.compile(schema.openapi as object);
    compiled.set(schema.openapi, validate);
  }
  return validate;
}

/** Validates as the API server would: OpenAPI (with defaulting), then the CEL rules on the defaulted object. */
export function validateAsApiServer(schema: Schema, value: unknown): Outcome {
  const validate = validatorOf(schema);
  const copy = structuredClone(value);
  const fields: string[] = [];
  const messages: string[] = [];
  if (!validate(copy)) {
    for (const e of validate.errors ?? []) {
      // anyOf reports its branches too; the int-or-string failure is reported once by its pattern/anyOf.
      let field = jsonPointerToField(e.instancePath);
      if (e.keyword === 'required') field = field === '' ? String(e.params.missingProperty) : `${field}.${String(e.params.missingProperty)}`;
      fields.push(field);
      messages.push(`${field}: ${e.message ?? e.keyword}`);
    }
    return { ok: false, fields, messages };
  }
  celFailures(schema, copy, [], fields, messages);
  return { ok: fields.length === 0, fields, messages };
}

/** Turns JSON numbers at integer nodes into CEL ints (bigint), as the API server types them. */
function toCel(openapi: OpenApiSchema, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number' && (openapi.type === 'integer' || openapi['x-kubernetes-int-or-string'])) return BigInt(value);
  if (Array.isArray(value)) return value.map((v) => (openapi.items ? toCel(openapi.items, v) : v));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = openapi.properties?.[k] ?? openapi.additionalProperties;
      out[k] = child ? toCel(child, v) : v;
    }
    return out;
  }
  return value;
}

function celFailures(node: Schema, value: unknown, path: (string | number)[], fields: string[], messages: string[]): void {
  if (value === undefined || value === null) return;
  for (const rule of node.rules) {
    const holds = evaluate(rule.rule, { self: toCel(node.openapi, value) });
    if (holds !== true) {
      const suffix = rule.fieldPath ? [...rule.fieldPath.matchAll(/\.([A-Za-z0-9_-]+)/g)].map((m) => m[1] as string) : [];
      const field = fieldPath([...path, ...suffix]);
      fields.push(field);
      messages.push(`${field}: ${rule.message}`);
    }
  }
  for (const [key, child] of Object.entries(node.children)) {
    if (key === '[]' && Array.isArray(value)) value.forEach((v, i) => celFailures(child, v, [...path, i], fields, messages));
    else if (key === '{}' && typeof value === 'object') for (const [k, v] of Object.entries(value)) celFailures(child, v, [...path, k], fields, messages);
    else if (typeof value === 'object' && !Array.isArray(value)) celFailures(child, (value as Record<string, unknown>)[key], [...path, key], fields, messages);
  }
}

/**
 * The value of a rule's TypeScript twin and of its CEL text on the same (defaulted) value, for every
 * rule that applies.
 */
export function ruleAgreement(node: Schema, raw: unknown): { rule: string; cel: boolean; ts: boolean }[] {
  const value = structuredClone(raw);
  validatorOf(node)(value);
  const out: { rule: string; cel: boolean; ts: boolean }[] = [];
  const walk = (n: Schema, v: unknown) => {
    if (v === undefined || v === null) return;
    for (const r of n.rules) out.push({ rule: r.rule, cel: evaluate(r.rule, { self: toCel(n.openapi, v) }) === true, ts: (r.holds as (s: unknown) => boolean)(v) });
    for (const [key, child] of Object.entries(n.children)) {
      if (key === '[]' && Array.isArray(v)) v.forEach((x) => walk(child, x));
      else if (key === '{}' && typeof v === 'object') Object.values(v as object).forEach((x) => walk(child, x));
      else if (typeof v === 'object' && !Array.isArray(v)) walk(child, (v as Record<string, unknown>)[key]);
    }
  };
  walk(node, value);
  return out;
}
