// The shape every upstream autoscaler ConfigMap shares: a `default` entry plus override entries
// that name a `model_id` (and optionally a `namespace`), each entry a YAML document.
import { ConfigError } from '@llmd/cli';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** One parsed override entry: which model (and namespace) it applies to, and its fields. */
export interface OverrideEntry<T> {
  /** The ConfigMap key of the entry. */
  readonly key: string;
  readonly modelID: string;
  /** Empty when the entry applies in every namespace. */
  readonly namespace: string;
  readonly fields: Partial<T>;
}

/** A parsed entry-style ConfigMap: the `default` fields and the overrides. */
export interface EntryConfig<T> {
  /** The ConfigMap's name, for messages. */
  readonly name?: string;
  readonly defaults: Partial<T>;
  readonly overrides: readonly OverrideEntry<T>[];
}

/** An empty entry-style config (no ConfigMap). */
export function emptyEntryConfig<T>(): EntryConfig<T> {
  return { defaults: {}, overrides: [] };
}

/** An entry that failed to parse: which model it meant (when that much could be read) and the error. */
export interface EntryProblem {
  /** The ConfigMap key of the entry. */
  readonly key: string;
  /** The entry's `model_id`, or null for the default entry or when it could not be read. */
  readonly modelID: string | null;
  readonly namespace: string;
  readonly error: ConfigError;
}

/** A parsed ConfigMap with the entries that failed (left out of `config`). */
export interface ParsedEntries<T> {
  readonly config: EntryConfig<T>;
  readonly problems: readonly EntryProblem[];
}

/**
 * Parses the data of an entry-style ConfigMap, entry by entry: each value is a YAML mapping
 * validated with `fields` (a strict zod object whose keys are all optional); `model_id` and
 * `namespace` select the model of an override entry; `check` adds cross-field rules on the entry
 * merged over the default entry. A bad entry is reported in `problems` (a {@link ConfigError} whose
 * key is `<configmap>/<entry>.<field>`) and left out, so it only affects the models it names.
 */
export function parseEntries<S extends z.ZodObject>(
  configMapName: string,
  data: Readonly<Record<string, string>>,
  fields: S,
  check?: (merged: Partial<z.infer<S>>, given: Partial<z.infer<S>>, where: string) => void,
): ParsedEntries<z.infer<S>> {
  type T = z.infer<S>;
  let defaults: Partial<T> = {};
  const overrides: OverrideEntry<T>[] = [];
  const problems: EntryProblem[] = [];
  const entries = Object.entries(data).sort(([a], [b]) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  for (const [key, text] of entries) {
    const where = `${configMapName}/${key}`;
    let modelID: string | null = null;
    let namespace = '';
    try {
      let doc: unknown;
      try {
        doc = parseYaml(text);
      } catch (err) {
        throw new ConfigError(where, `not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      if (doc === null || doc === undefined) doc = {};
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(where, 'expected a YAML mapping of settings');
      const raw = { ...(doc as Record<string, unknown>) };
      const rawModel = raw.model_id;
      const rawNamespace = raw.namespace;
      delete raw.model_id;
      delete raw.namespace;
      if (key !== 'default') {
        if (typeof rawModel !== 'string' || rawModel === '') throw new ConfigError(`${where}.model_id`, 'an override entry needs model_id (a non-empty string)');
        modelID = rawModel;
        if (rawNamespace !== undefined && (typeof rawNamespace !== 'string' || rawNamespace === '')) {
          throw new ConfigError(`${where}.namespace`, 'expected a non-empty namespace name');
        }
        namespace = (rawNamespace as string | undefined) ?? '';
      } else if (rawModel !== undefined) {
        throw new ConfigError(`${where}.model_id`, 'the default entry applies to every model; put model_id in an override entry');
      }
      const result = fields.safeParse(raw);
      if (!result.success) {
        const issue = result.error.issues[0];
        const field = issue?.path.length ? `.${issue.path.join('.')}` : '';
        const message = issue?.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : (issue?.message ?? 'invalid value');
        throw new ConfigError(`${where}${issue?.code === 'unrecognized_keys' ? `.${issue.keys[0]}` : field}`, message);
      }
      const given = result.data as Partial<T>;
      if (key === 'default') {
        check?.(given, given, where);
        defaults = given;
      } else {
        check?.({ ...defaults, ...given }, given, where);
        overrides.push({ key, modelID: modelID as string, namespace, fields: given });
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push({ key, modelID, namespace, error: err });
    }
  }
  return { config: { name: configMapName, defaults, overrides }, problems };
}

/** Like {@link parseEntries}, but throws the first problem. */
export function parseEntryConfig<S extends z.ZodObject>(
  configMapName: string,
  data: Readonly<Record<string, string>>,
  fields: S,
  check?: (merged: Partial<z.infer<S>>, given: Partial<z.infer<S>>, where: string) => void,
): EntryConfig<z.infer<S>> {
  const { config, problems } = parseEntries(configMapName, data, fields, check);
  if (problems[0]) throw problems[0].error;
  return config;
}

/** Whether a problem concerns a model: a bad default entry concerns every model. */
export function problemAffects(p: EntryProblem, modelID: string, namespace: string): boolean {
  return p.key === 'default' || p.modelID === null || (p.modelID === modelID && (p.namespace === '' || p.namespace === namespace));
}

/**
 * The fields that apply to one model in one namespace, later layers winning: `base`, then the
 * global default entry, the namespace-local default entry, the global model entry, the global
 * model+namespace entry, the local model entry and the local model+namespace entry. A ConfigMap of
 * the same name in the workload's namespace thus overrides the global one, field by field.
 */
export function resolveEntries<T>(
  base: T,
  modelID: string,
  namespace: string,
  global: EntryConfig<T>,
  local: EntryConfig<T> | undefined,
): T {
  return resolveWithSources(base, modelID, namespace, global, local).value;
}

/** Like {@link resolveEntries}, also saying which `<configmap>/<entry>` set each field (absent: the default). */
export function resolveWithSources<T>(
  base: T,
  modelID: string,
  namespace: string,
  global: EntryConfig<T>,
  local: EntryConfig<T> | undefined,
): { value: T; sources: Map<string, string> } {
  const where = (c: EntryConfig<T>, key: string) => `${c.name ?? 'configmap'}/${key}`;
  const layers: Array<[Partial<T>, string]> = [[global.defaults, where(global, 'default')]];
  if (local) layers.push([local.defaults, `${where(local, 'default')} (namespace ${namespace})`]);
  for (const config of local ? [global, local] : [global]) {
    const suffix = config === local ? ` (namespace ${namespace})` : '';
    for (const o of config.overrides) if (o.modelID === modelID && o.namespace === '') layers.push([o.fields, `${where(config, o.key)}${suffix}`]);
    for (const o of config.overrides) if (o.modelID === modelID && o.namespace === namespace) layers.push([o.fields, `${where(config, o.key)}${suffix}`]);
  }
  let value = { ...base };
  const sources = new Map<string, string>();
  for (const [layer, from] of layers) {
    const defined = definedOnly(layer);
    value = { ...value, ...defined };
    for (const k of Object.keys(defined)) sources.set(k, from);
  }
  return { value, sources };
}

function definedOnly<T>(fields: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
