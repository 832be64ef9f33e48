import type { z } from 'zod';

/** One step of a path into the config document: an object key or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats path segments the way users read them: `plugins[1].parameters.weight`. */
export function formatConfigPath(segments: readonly PathSegment[], base = ''): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * A problem with an EndpointPickerConfig. `path` is the offending key (`plugins[1].parameters.weight`,
 * empty for the whole document); the message reads `<source>: <where>: <detail>`, where `where` is the
 * path, annotated with the plugin's name when one is known (`plugins[2] (my-scorer).parameters.x`).
 */
export class ConfigError extends Error {
  /** The offending key, without annotations. */
  readonly path: string;
  /** What is wrong with it. */
  readonly detail: string;
  /** Where the config came from (a file name, `--config-text`, …), when known. */
  readonly source: string | undefined;
  /** The path as printed (may name the plugin). */
  readonly where: string;

  constructor(path: string, detail: string, options?: { source?: string; where?: string; cause?: unknown }) {
    const where = options?.where ?? path;
    const prefix = [options?.source, where].filter((p): p is string => p !== undefined && p !== '').join(': ');
    super(prefix === '' ? detail : `${prefix}: ${detail}`, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ConfigError';
    this.path = path;
    this.detail = detail;
    this.source = options?.source;
    this.where = where;
  }

  /** The same error, attributed to `source` (errors are created deep down, the source is known at the top). */
  withSource(source: string | undefined): ConfigError {
    if (source === undefined || source === this.source) return this;
    return new ConfigError(this.path, this.detail, {
      source,
      where: this.where,
      ...(this.cause !== undefined ? { cause: this.cause } : {}),
    });
  }
}

/** Short description of a value for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

const EXPECTED_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

/**
 * Turns the first zod issue into a ConfigError whose path is `base` + the issue's path, with a
 * message in the loader's words (zod's defaults say "received number" for NaN, which helps nobody).
 */
export function configErrorFromZod(
  error: z.ZodError,
  input: unknown,
  base: { path: string; where?: string },
): ConfigError {
  const issue = error.issues[0];
  if (issue === undefined) return new ConfigError(base.path, 'invalid value', base.where !== undefined ? { where: base.where } : {});
  let segments = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  let detail: string;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const [first = '', ...rest] = issue.keys;
      segments = [...segments, first];
      detail = rest.length === 0 ? 'unknown field' : `unknown field (also unknown: ${rest.join(', ')})`;
      break;
    }
    case 'invalid_type': {
      const actual = valueAt(input, issue.path);
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      detail = actual === undefined ? `required (${expected})` : `expected ${expected}, got ${describeValue(actual)}`;
      break;
    }
    case 'invalid_value':
      detail =
        issue.values.length === 1
          ? `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(valueAt(input, issue.path))}`
          : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(valueAt(input, issue.path))}`;
      break;
    case 'too_small':
      detail = issue.origin === 'string' && issue.minimum === 1 ? 'must not be empty' : issue.message;
      break;
    default:
      detail = issue.message;
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return new ConfigError(formatConfigPath(segments, base.path), detail + more, {
    where: formatConfigPath(segments, base.where ?? base.path),
  });
}
