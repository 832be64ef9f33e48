import type { z } from 'zod';

/** Formats a zod issue path the way the API server names fields: `spec.targetPorts[0].number`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** An object that does not match its kind's schema; `field` names the first offending field. */
export class ResourceValidationError extends Error {
  /** Path of the first offending field (`spec.decode.replicas`), or '' for the object as a whole. */
  readonly field: string;
  /** Every problem found, each as `field: message`. */
  readonly problems: readonly string[];

  constructor(what: string, issues: readonly z.core.$ZodIssue[], options?: { cause?: unknown }) {
    const problems = issues.map((i) => `${fieldPath(i.path) || '(object)'}: ${i.message}`);
    super(`${what}: ${problems.join('; ')}`, options);
    this.name = 'ResourceValidationError';
    this.field = fieldPath(issues[0]?.path ?? []);
    this.problems = problems;
  }
}

/** Parses `value` with `schema`; throws a {@link ResourceValidationError} naming the object and the field. */
export function parseResource<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ResourceValidationError(what ?? describeObject(value), result.error.issues, { cause: result.error });
}

/** `Kind namespace/name` of an object-like value, for messages. */
export function describeObject(value: unknown): string {
  const v = (value ?? {}) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof v.kind === 'string' ? v.kind : 'object';
  const name = typeof v.metadata?.name === 'string' ? v.metadata.name : '';
  const ns = typeof v.metadata?.namespace === 'string' ? `${v.metadata.namespace}/` : '';
  return name === '' ? kind : `${kind} ${ns}${name}`;
}
