// The router's second datastore: the InferenceObjectives (request priorities) and
// InferenceModelRewrites (weighted model rewrites for canaries and A/B tests) of its pool. A file
// of manifests fills it in standalone mode (policies-file.ts); Kubernetes informers fill it
// through the same writer methods when the router watches a cluster.

/** The InferencePool an object applies to (`spec.poolRef`). */
export interface PoolRef {
  readonly name: string;
  readonly group: string | null;
  readonly kind: string | null;
}

/** An InferenceObjective as the router uses it. */
export interface ObjectiveRecord {
  /** `metadata.name`: what a request names in `x-llm-d-inference-objective`. */
  readonly name: string;
  readonly namespace: string;
  /** `spec.priority`; null when unset (requests then get priority 0). */
  readonly priority: number | null;
  readonly poolRef: PoolRef | null;
}

/** One weighted target of a rewrite rule. */
export interface ModelRewriteTarget {
  /** The model name written into `body.model`. */
  readonly modelRewrite: string;
  /** Relative weight (upstream 1..1,000,000); when every target's weight is 0 the choice is uniform. */
  readonly weight: number;
}

/** One rule: the models it matches exactly (empty = every model) and where they go. */
export interface ModelRewriteRule {
  readonly matches: readonly string[];
  readonly targets: readonly ModelRewriteTarget[];
}

/** An InferenceModelRewrite as the router uses it. */
export interface ModelRewriteRecord {
  readonly name: string;
  readonly namespace: string;
  /** `metadata.creationTimestamp` in ms since the epoch (0 when unknown): the older resource wins a tie. */
  readonly createdAt: number;
  readonly rules: readonly ModelRewriteRule[];
  readonly poolRef: PoolRef | null;
}

/** A rewrite the router applied: the new model and the InferenceModelRewrite that chose it. */
export interface RewriteDecision {
  readonly model: string;
  /** `metadata.name` of the InferenceModelRewrite (the `model_rewrite_name` metric label). */
  readonly rewriteName: string;
}

/** What the director reads: an objective's priority, and the rewrite of a model. */
export interface RoutingPolicies {
  /** Priority of a named objective; undefined when the objective is unknown (priority 0 then). */
  objectivePriority(objective: string): number | undefined;
  /** The rewrite of `model`, drawn by weight with `random`, or null to keep it. */
  rewriteModel(model: string, random: () => number): RewriteDecision | null;
}

/** No objectives, no rewrites. */
export const NO_POLICIES: RoutingPolicies = { objectivePriority: () => undefined, rewriteModel: () => null };

/**
 * The objectives-and-rewrites datastore: readers ask through {@link RoutingPolicies}; a source (the
 * policies file, or Kubernetes informers) writes objects one at a time or replaces the whole set.
 */
export interface PolicyDatastore extends RoutingPolicies {
  /** Adds or replaces an objective (keyed by name, as requests name it). */
  upsertObjective(objective: ObjectiveRecord): void;
  /** Removes the objective `namespace/name` (nothing when another namespace's object holds the name). */
  removeObjective(namespace: string, name: string): void;
  /** Adds or replaces a rewrite (keyed by `namespace/name`). */
  upsertRewrite(rewrite: ModelRewriteRecord): void;
  /** Removes the rewrite `namespace/name`. */
  removeRewrite(namespace: string, name: string): void;
  /** Replaces every objective and rewrite at once (a file reload). */
  replaceAll(objectives: readonly ObjectiveRecord[], rewrites: readonly ModelRewriteRecord[]): void;
  objectives(): readonly ObjectiveRecord[];
  rewrites(): readonly ModelRewriteRecord[];
}

interface RuleChoice {
  readonly rule: ModelRewriteRule;
  readonly rewriteName: string;
}

/**
 * The in-memory policy datastore. Rewrites are resolved upstream's way: rules that name the model
 * exactly beat catch-all rules (no `matches`); among those, the older resource wins (then the
 * name), and inside a resource the first matching rule. The winning rule's target is drawn by
 * weight; when every weight is 0 the draw is uniform.
 */
export class InMemoryPolicyDatastore implements PolicyDatastore {
  readonly #objectives = new Map<string, ObjectiveRecord>();
  readonly #rewrites = new Map<string, ModelRewriteRecord>();
  /** Precomputed on change: the rule each model resolves to. */
  #exact = new Map<string, RuleChoice>();
  #catchAll: RuleChoice | null = null;

  objectivePriority(objective: string): number | undefined {
    const o = this.#objectives.get(objective);
    return o === undefined ? undefined : (o.priority ?? 0);
  }

  rewriteModel(model: string, random: () => number): RewriteDecision | null {
    const choice = this.#exact.get(model) ?? this.#catchAll;
    if (choice === null) return null;
    const target = drawTarget(choice.rule.targets, random);
    return target === null ? null : { model: target.modelRewrite, rewriteName: choice.rewriteName };
  }

  upsertObjective(objective: ObjectiveRecord): void {
    this.#objectives.set(objective.name, objective);
  }

  removeObjective(namespace: string, name: string): void {
    if (this.#objectives.get(name)?.namespace === namespace) this.#objectives.delete(name);
  }

  upsertRewrite(rewrite: ModelRewriteRecord): void {
    this.#rewrites.set(`${rewrite.namespace}/${rewrite.name}`, rewrite);
    this.#reindex();
  }

  removeRewrite(namespace: string, name: string): void {
    if (this.#rewrites.delete(`${namespace}/${name}`)) this.#reindex();
  }

  replaceAll(objectives: readonly ObjectiveRecord[], rewrites: readonly ModelRewriteRecord[]): void {
    this.#objectives.clear();
    for (const o of objectives) this.#objectives.set(o.name, o);
    this.#rewrites.clear();
    for (const r of rewrites) this.#rewrites.set(`${r.namespace}/${r.name}`, r);
    this.#reindex();
  }

  objectives(): readonly ObjectiveRecord[] {
    return [...this.#objectives.values()];
  }

  rewrites(): readonly ModelRewriteRecord[] {
    return [...this.#rewrites.values()];
  }

  #reindex(): void {
    const ordered = [...this.#rewrites.entries()].sort(([ka, a], [kb, b]) => a.createdAt - b.createdAt || (ka < kb ? -1 : ka > kb ? 1 : 0));
    const exact = new Map<string, RuleChoice>();
    let catchAll: RuleChoice | null = null;
    for (const [, rewrite] of ordered) {
      for (const rule of rewrite.rules) {
        if (rule.targets.length === 0) continue;
        const choice = { rule, rewriteName: rewrite.name };
        if (rule.matches.length === 0) {
          catchAll ??= choice;
          continue;
        }
        for (const m of rule.matches) if (!exact.has(m)) exact.set(m, choice);
      }
    }
    this.#exact = exact;
    this.#catchAll = catchAll;
  }
}

/** A weighted draw among the targets (uniform when no weight is positive); null for no targets. */
export function drawTarget(targets: readonly ModelRewriteTarget[], random: () => number): ModelRewriteTarget | null {
  if (targets.length === 0) return null;
  let total = 0;
  for (const t of targets) if (t.weight > 0) total += t.weight;
  if (total <= 0) return targets[Math.min(targets.length - 1, Math.floor(random() * targets.length))] as ModelRewriteTarget;
  let x = random() * total;
  for (const t of targets) {
    if (t.weight <= 0) continue;
    if (x < t.weight) return t;
    x -= t.weight;
  }
  // Rounding can leave x at the very end: the last positive target.
  return [...targets].reverse().find((t) => t.weight > 0) as ModelRewriteTarget;
}
