import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { readEndpointsFileText } from './file-discovery.js';
import type { ModelRewriteRecord, ObjectiveRecord, PolicyDatastore, PoolRef } from './policies.js';

/** API versions the manifests may use: the current llm-d group and the older Inference Extension one. */
export const POLICY_API_VERSIONS = ['llm-d.ai/v1alpha2', 'inference.networking.x-k8s.io/v1alpha2'] as const;

/** A policies file that cannot be used; the message names the file, the document and the field. */
export class PoliciesFileError extends Error {
  override readonly name = 'PoliciesFileError';
}

const k8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes object name (lower-case letters, digits, "-" and ".")');

const poolRef = z.strictObject({ name: z.string().min(1), group: z.string().nullish(), kind: z.string().nullish() });

const metadata = z
  .object({
    name: k8sName,
    namespace: k8sName.nullish(),
    creationTimestamp: z.union([z.string(), z.date()]).nullish(),
  })
  // Labels, annotations, uid and the rest of ObjectMeta are allowed and ignored.
  .loose();

const objectiveSpec = z.strictObject({
  priority: z.number().int().nullish(),
  poolRef: poolRef.nullish(),
});

const rewriteSpec = z.strictObject({
  poolRef: poolRef.nullish(),
  rules: z
    .array(
      z.strictObject({
        matches: z.array(z.strictObject({ model: z.strictObject({ type: z.literal('Exact').nullish(), value: z.string().min(1) }) })).nullish(),
        targets: z
          .array(z.strictObject({ modelRewrite: z.string().min(1), weight: z.number().int().min(0).max(1_000_000).nullish() }))
          .min(1, 'a rule needs at least one target'),
      }),
    )
    .min(1, 'at least one rule is required'),
});

const apiVersion = z.enum(POLICY_API_VERSIONS, { message: `expected one of ${POLICY_API_VERSIONS.join(', ')}` });

const objectiveDoc = z.object({ apiVersion, kind: z.literal('InferenceObjective'), metadata, spec: objectiveSpec, status: z.unknown() }).strict();
const rewriteDoc = z.object({ apiVersion, kind: z.literal('InferenceModelRewrite'), metadata, spec: rewriteSpec, status: z.unknown() }).strict();

/** What a policies file holds. */
export interface ParsedPolicies {
  readonly objectives: readonly ObjectiveRecord[];
  readonly rewrites: readonly ModelRewriteRecord[];
}

function toPoolRef(p: z.output<typeof poolRef> | null | undefined): PoolRef | null {
  return p ? { name: p.name, group: p.group ?? null, kind: p.kind ?? null } : null;
}

function issuePath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), prefix);
}

/**
 * Parses InferenceObjective and InferenceModelRewrite manifests: YAML (several `---` documents)
 * or JSON, each document one object or a `kind: List` with `items`. The objects are what
 * `kubectl get -o yaml` prints (status and extra metadata are ignored). Throws a
 * {@link PoliciesFileError} naming the document and field of the first problem.
 */
export function parsePolicies(text: string, source = 'policies file'): ParsedPolicies {
  const objectives: ObjectiveRecord[] = [];
  const rewrites: ModelRewriteRecord[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new PoliciesFileError(`${source}: not a YAML stream`);
  const objects: { value: unknown; at: string }[] = [];
  docs.forEach((doc, i) => {
    const first = doc.errors[0];
    if (first) throw new PoliciesFileError(`${source}: document ${i + 1}: invalid YAML: ${first.message.split('\n')[0]}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    const at = `document ${i + 1}`;
    if (typeof value === 'object' && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'List') {
      const items = (value as { items?: unknown }).items;
      if (!Array.isArray(items)) throw new PoliciesFileError(`${source}: ${at}.items: expected a list`);
      items.forEach((item, j) => objects.push({ value: item, at: `${at}.items[${j}]` }));
    } else {
      objects.push({ value, at });
    }
  });
  for (const { value, at } of objects) {
    const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
    const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    const label = `${at}${typeof name === 'string' ? ` (${String(kind)} ${name})` : ''}`;
    const fail = (error: z.ZodError): never => {
      const issue = error.issues[0] as z.core.$ZodIssue;
      throw new PoliciesFileError(`${source}: ${issuePath(label, issue.path)}: ${issue.message}`);
    };
    if (kind === 'InferenceObjective') {
      const r = objectiveDoc.safeParse(value);
      if (!r.success) fail(r.error);
      const d = r.data as z.output<typeof objectiveDoc>;
      objectives.push({ name: d.metadata.name, namespace: d.metadata.namespace ?? 'default', priority: d.spec.priority ?? null, poolRef: toPoolRef(d.spec.poolRef) });
    } else if (kind === 'InferenceModelRewrite') {
      const r = rewriteDoc.safeParse(value);
      if (!r.success) fail(r.error);
      const d = r.data as z.output<typeof rewriteDoc>;
      const ts = d.metadata.creationTimestamp;
      const createdAt = ts instanceof Date ? ts.getTime() : typeof ts === 'string' ? Date.parse(ts) : 0;
      if (Number.isNaN(createdAt)) throw new PoliciesFileError(`${source}: ${label}.metadata.creationTimestamp: expected an RFC 3339 time, got ${JSON.stringify(ts)}`);
      rewrites.push({
        name: d.metadata.name,
        namespace: d.metadata.namespace ?? 'default',
        createdAt,
        poolRef: toPoolRef(d.spec.poolRef),
        rules: d.spec.rules.map((rule) => ({
          matches: (rule.matches ?? []).map((m) => m.model.value),
          targets: rule.targets.map((t) => ({ modelRewrite: t.modelRewrite, weight: t.weight ?? 0 })),
        })),
      });
    } else {
      throw new PoliciesFileError(`${source}: ${at}.kind: expected InferenceObjective or InferenceModelRewrite, got ${JSON.stringify(kind ?? null)}`);
    }
  }
  return { objectives, rewrites };
}

/** Options of a {@link PoliciesFile}. */
export interface PoliciesFileOptions {
  readonly path: string;
  /** Reload on change (default true). */
  readonly watchFile?: boolean;
  readonly logger: Logger;
}

/**
 * Objectives and rewrites from a file of manifests, the standalone stand-in for the router's
 * InferenceObjective and InferenceModelRewrite watches. `start` must load a valid file; with
 * `watchFile` a change reloads it, and a reload that fails to read or parse keeps the last good
 * content (and logs why).
 */
export class PoliciesFile {
  readonly path: string;
  readonly #watchFile: boolean;
  readonly #logger: Logger;
  #store: PolicyDatastore | undefined;
  #watcher: FSWatcher | undefined;
  #lastText: string | undefined;
  #reloading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: PoliciesFileOptions) {
    this.path = resolve(options.path);
    this.#watchFile = options.watchFile ?? true;
    this.#logger = options.logger.child({ component: 'policies-file', path: this.path });
  }

  /** Loads the file into `store` (throws {@link PoliciesFileError} when unusable), then watches it. */
  async start(store: PolicyDatastore): Promise<void> {
    this.#store = store;
    if (this.#watchFile) this.#watch();
    try {
      await this.#load(true);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** Reloads now (what a watch event does); resolves when done. */
  async reload(): Promise<void> {
    this.#request();
    await this.#reloading;
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #watch(): void {
    const base = basename(this.path);
    this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
      const name = filename === null ? null : filename.toString();
      if (name === null || name === base || name.startsWith('..')) this.#request();
    });
    this.#watcher.on('error', (err) => this.#logger.error({ err }, 'watching the policies file failed; reloads stop'));
  }

  #request(): void {
    if (this.#stopped || this.#store === undefined) return;
    if (this.#reloading) {
      this.#again = true;
      return;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        try {
          await this.#load(false);
        } catch (err) {
          if (!this.#stopped) this.#logger.error({ err: (err as Error).message }, 'reloading the policies file failed; keeping the current objectives and rewrites');
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#reloading = undefined;
    });
  }

  async #load(initial: boolean): Promise<void> {
    let text: string;
    try {
      text = await readEndpointsFileText(this.path);
    } catch (err) {
      throw new PoliciesFileError(`${initial ? 'initial load of ' : ''}${this.path}: ${(err as Error).message.replace(/^reading [^:]+: /, '')}`, { cause: err });
    }
    if (!initial && text === this.#lastText) return;
    const parsed = parsePolicies(text, this.path);
    if (this.#stopped) return;
    this.#store?.replaceAll(parsed.objectives, parsed.rewrites);
    this.#lastText = text;
    this.#logger.info({ objectives: parsed.objectives.length, rewrites: parsed.rewrites.length }, initial ? 'policies file loaded' : 'policies file reloaded');
  }
}
