// The local mode's cluster: VariantAutoscalings and ConfigMaps from a file, workloads that are
// groups of simulator processes, status kept in memory (and logged).
import { VARIANT_AUTOSCALING_API_VERSION, VariantAutoscalingSchema, describeObject, fieldPath, type VariantAutoscalingStatus } from '@llmd/k8s-api';
import type { Logger } from 'pino';
import type { Cluster, InvalidVariant, ListedVariant, VariantList } from '../cluster.js';
import { variantFromResource } from '../kube/kube-cluster.js';
import type { TargetRef, TargetState } from '../model.js';
import { readLocalConfig, type LocalConfig } from './local-config.js';
import type { ProcessRunner } from './runner.js';

/** {@link Cluster} over the local process group. */
export class LocalCluster implements Cluster {
  readonly #file: string;
  readonly #runner: ProcessRunner;
  readonly #logger: Logger;
  readonly #status = new Map<string, VariantAutoscalingStatus>();
  #config: LocalConfig;

  /** Reads `file` once now (so a bad file fails start-up) and again on every listing. */
  constructor(file: string, runner: ProcessRunner, logger: Logger) {
    this.#file = file;
    this.#runner = runner;
    this.#logger = logger;
    this.#config = readLocalConfig(file);
  }

  /** The file as last read. */
  get config(): LocalConfig {
    return this.#config;
  }

  /** Starts each workload's initial replicas. */
  async startWorkloads(): Promise<void> {
    await Promise.all(this.#config.workloads.map((w) => this.#runner.scaleTo(w.name, w.args, w.replicas)));
  }

  /** A VariantAutoscaling's status as last written. */
  status(name: string): VariantAutoscalingStatus | undefined {
    return this.#status.get(name);
  }

  async listVariants(): Promise<VariantList> {
    try {
      this.#config = readLocalConfig(this.#file);
    } catch (err) {
      this.#logger.error({ err: (err as Error).message }, 'local config unreadable; keeping the previous one');
    }
    const variants: ListedVariant[] = [];
    const invalid: InvalidVariant[] = [];
    for (const raw of this.#config.variantAutoscalings) {
      const meta = (raw.metadata ?? {}) as Record<string, unknown>;
      const withDefaults = { apiVersion: VARIANT_AUTOSCALING_API_VERSION, kind: 'VariantAutoscaling', ...raw, metadata: { namespace: this.#config.namespace, ...meta } };
      const parsed = VariantAutoscalingSchema.safeParse(withDefaults);
      const name = typeof meta.name === 'string' ? meta.name : '';
      const status = this.#status.get(name);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        invalid.push({ name, namespace: this.#config.namespace, message: `${describeObject(withDefaults)}: ${fieldPath(issue?.path ?? []) || '(object)'}: ${issue?.message}`, conditions: status?.conditions ?? [] });
        continue;
      }
      variants.push({
        variant: variantFromResource(parsed.data),
        previousDesired: status?.desiredOptimizedAlloc?.numReplicas ?? null,
        previousUpdate: status?.desiredOptimizedAlloc?.lastUpdate,
        conditions: status?.conditions ?? [],
      });
    }
    return { variants, invalid };
  }

  async getScale(_namespace: string, target: TargetRef): Promise<TargetState | null> {
    const w = this.#config.workloads.find((x) => x.name === target.name);
    if (!w) return null;
    return { specReplicas: this.#runner.wanted(w.name) ?? w.replicas, statusReplicas: this.#runner.running(w.name).length };
  }

  async setScale(_namespace: string, target: TargetRef, replicas: number): Promise<void> {
    const w = this.#config.workloads.find((x) => x.name === target.name);
    if (!w) throw new Error(`no workload ${target.name} in ${this.#file}`);
    this.#logger.info({ workload: w.name, replicas }, 'scaling the local workload');
    // Starting a server takes a moment: the next cycle sees it ready; meanwhile it is pending.
    void this.#runner.scaleTo(w.name, w.args, replicas).catch((err: Error) => this.#logger.error({ workload: w.name, err: err.message }, 'local scaling failed'));
  }

  async writeStatus(_namespace: string, name: string, status: VariantAutoscalingStatus): Promise<void> {
    const before = this.#status.get(name) ?? {};
    this.#status.set(name, { ...before, ...status });
  }

  async readConfigMap(_namespace: string, name: string): Promise<Record<string, string> | null> {
    return this.#config.configMaps[name] ?? null;
  }
}
