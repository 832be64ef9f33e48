// One reconcile cycle: list variants, resolve targets, collect metrics per model group, analyze,
// enforce scale-to-zero and bounds, share limited accelerators, then actuate (metrics for HPA/KEDA,
// or /scale directly) and write each VariantAutoscaling's status.
import type { Condition, VariantAutoscalingStatus } from '@llmd/k8s-api';
import type { Logger } from 'pino';
import type { ActuationMetrics, ScalingReason, VariantLabels } from './actuation/metrics.js';
import { analyzeSaturation, saturationTargets, type VariantTarget } from './analyzers/saturation.js';
import { analyzeTokens, CapacityHistory, MissingInputError, tokenTargets } from './analyzers/saturation-tokens.js';
import { analyzeSlo, LatencyFits } from './analyzers/slo-analyzer.js';
import type { Cluster, ListedVariant } from './cluster.js';
import type { GroupMetrics, MetricsSource } from './collector/collector.js';
import { ConditionReasons as R, ConditionTypes as T, mergeConditions, type ConditionUpdate } from './conditions.js';
import { ConfigStore, type ModelConfig } from './config/config-store.js';
import { clampReplicas, groupKey, type PerfParams, type Variant, type VariantDecision, type VariantState } from './model.js';
import { limitByInventory, type LimiterRequest } from './optimizer/limiter.js';
import { enforceScaleToZero } from './optimizer/scale-to-zero.js';

/** How decisions take effect. */
export type ActuationMode = 'metrics' | 'direct';

/** Controller settings (the options' part it needs). */
export interface ControllerOptions {
  /** Namespace of the global ConfigMaps. */
  readonly configNamespace: string;
  /** `WVA_SCALE_TO_ZERO`: scale-to-zero for models the ConfigMap does not mention. */
  readonly scaleToZeroDefault: boolean;
  /** `WVA_LIMITED_MODE`: share `acceleratorCapacity` between models (also on per model with `enableLimiter`). */
  readonly limitedMode: boolean;
  /** Accelerators per type for the limited mode. */
  readonly acceleratorCapacity: ReadonlyMap<string, number>;
  /** `metrics` (default): publish wva_desired_replicas for an HPA or KEDA; `direct`: also set /scale. */
  readonly actuation: ActuationMode;
}

/** What the controller needs. */
export interface ControllerDeps {
  readonly cluster: Cluster;
  readonly metricsSource: MetricsSource;
  readonly metrics: ActuationMetrics;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** What one cycle decided for one variant (also returned to tests). */
export interface VariantOutcome extends VariantDecision {
  readonly conditions: readonly Condition[];
  /** Whether the decision was applied (metric published, or /scale written in direct mode). */
  readonly applied: boolean;
  /** True when the variant was held at its previous decision (missing metrics, bad config, …). */
  readonly held: boolean;
}

/** A report of one cycle. */
export interface CycleReport {
  readonly outcomes: readonly VariantOutcome[];
  /** Set when the cycle could not even list the variants. */
  readonly error?: string;
}

interface Planned {
  readonly listed: ListedVariant;
  readonly current: number;
  desired: number;
  reason: string;
  reasonCode: ScalingReason;
  held: boolean;
  conditions: ConditionUpdate[];
  /** Spare capacity (lower = more saturated), for the limiter's order. */
  spare: number;
  priority: number;
  limiterOn: boolean;
}

/** The reconcile loop's logic; `run` in app.ts calls {@link Controller.reconcile} every interval. */
export class Controller {
  readonly #deps: ControllerDeps;
  readonly #options: ControllerOptions;
  readonly #configs: ConfigStore;
  readonly #history = new CapacityHistory();
  readonly #fits = new LatencyFits();
  /** When this controller first saw each group, by group key (scale to zero waits a retention period after it). */
  readonly #watchedSince = new Map<string, number>();
  readonly #now: () => Date;
  #lastListing: readonly ListedVariant[] = [];
  #lastResolved: ReadonlyArray<{ listed: ListedVariant; current: number }> = [];

  constructor(deps: ControllerDeps, options: ControllerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#now = deps.now ?? (() => new Date());
    this.#configs = new ConfigStore(deps.cluster, options.configNamespace, options.scaleToZeroDefault, deps.logger.child({ component: 'config' }));
  }

  /** The variants of the last listing (the scale-from-zero engine watches their zero-replica groups). */
  get lastListing(): readonly ListedVariant[] {
    return this.#lastListing;
  }

  /** The variants whose target was found in the last cycle, with their current replicas. */
  get lastResolved(): ReadonlyArray<{ listed: ListedVariant; current: number }> {
    return this.#lastResolved;
  }

  /** The online fit of a variant's latency model, once the SLO analyzer has seen it. */
  latencyFit(namespace: string, variant: string): { params: PerfParams; observations: number } | undefined {
    const fit = this.#fits.peek(`${namespace}/${variant}`);
    return fit ? { params: fit.params, observations: fit.observations } : undefined;
  }

  /** The configuration resolved for a model (after the last refresh). */
  modelConfig(modelID: string, namespace: string): ModelConfig {
    return this.#configs.resolve(modelID, namespace);
  }

  /** Runs one cycle. Never throws: failures become conditions and log lines. */
  async reconcile(): Promise<CycleReport> {
    const log = this.#deps.logger;
    const { cluster } = this.#deps;
    let list;
    try {
      list = await cluster.listVariants();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot list VariantAutoscalings; nothing changes this cycle');
      return { outcomes: [], error: (err as Error).message };
    }
    this.#lastListing = list.variants;
    const now = this.#now();
    for (const bad of list.invalid) {
      log.error({ variant: `${bad.namespace}/${bad.name}` }, `invalid VariantAutoscaling: ${bad.message}`);
      const conditions = mergeConditions(bad.conditions, [
        { type: T.TargetResolved, status: 'False', reason: R.TargetResolved.InvalidConfiguration, message: bad.message },
        { type: T.OptimizationReady, status: 'False', reason: 'InvalidConfiguration', message: bad.message },
      ], now);
      await cluster.writeStatus(bad.namespace, bad.name, { conditions }).catch((err: Error) => log.warn({ err: err.message }, 'status write failed'));
    }
    await this.#configs.refresh(new Set(list.variants.map((l) => l.variant.namespace)));

    // Targets.
    const resolved: Array<{ listed: ListedVariant; current: number; statusReplicas: number }> = [];
    const unresolved: VariantOutcome[] = [];
    await Promise.all(
      list.variants.map(async (listed) => {
        const v = listed.variant;
        let scale = null;
        let message = `${v.target.kind} ${v.target.name} not found in namespace ${v.namespace}`;
        try {
          scale = await cluster.getScale(v.namespace, v.target);
        } catch (err) {
          message = `cannot read the /scale of ${v.target.kind} ${v.target.name}: ${(err as Error).message}`;
        }
        if (scale) {
          resolved.push({ listed, current: scale.specReplicas, statusReplicas: scale.statusReplicas });
          return;
        }
        log.warn({ variant: `${v.namespace}/${v.name}` }, message);
        const conditions = mergeConditions(listed.conditions, [{ type: T.TargetResolved, status: 'False', reason: R.TargetResolved.TargetNotFound, message }], now, listed.generation);
        await cluster.writeStatus(v.namespace, v.name, { conditions }).catch((err: Error) => log.warn({ err: err.message }, 'status write failed'));
        unresolved.push({ ...this.#decisionBase(v, 0), desiredReplicas: 0, reason: message, conditions, applied: false, held: true });
      }),
    );
    this.#lastResolved = resolved;
    resolved.sort((a, b) => groupKey(a.listed.variant).localeCompare(groupKey(b.listed.variant)) || a.listed.variant.name.localeCompare(b.listed.variant.name));

    // Groups.
    const groups = new Map<string, typeof resolved>();
    for (const r of resolved) {
      const key = groupKey(r.listed.variant);
      const g = groups.get(key) ?? [];
      g.push(r);
      groups.set(key, g);
    }
    const planned: Planned[] = [];
    await Promise.all([...groups.values()].map(async (members) => planned.push(...(await this.#planGroup(members)))));

    this.#limit(planned);

    // Actuate.
    const outcomes: VariantOutcome[] = [...unresolved];
    for (const p of planned) outcomes.push(await this.#actuate(p, now));
    this.#deps.metrics.retainOnly(new Set(planned.map((p) => `${p.listed.variant.namespace}/${p.listed.variant.name}`)));
    outcomes.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.variant.localeCompare(b.variant));
    return { outcomes };
  }

  #decisionBase(v: Variant, current: number): Omit<VariantDecision, 'desiredReplicas' | 'reason'> {
    return { variant: v.name, namespace: v.namespace, modelID: v.modelID, accelerator: v.accelerator, currentReplicas: current };
  }

  /** Plans one model group: conditions, targets, reasons. */
  async #planGroup(members: Array<{ listed: ListedVariant; current: number }>): Promise<Planned[]> {
    const log = this.#deps.logger;
    const first = members[0]?.listed.variant as Variant;
    const { namespace, modelID } = first;
    const config = this.#configs.resolve(modelID, namespace);
    const plans: Planned[] = members.map(({ listed, current }) => ({
      listed,
      current,
      desired: listed.previousDesired ?? current,
      reason: 'held',
      reasonCode: 'saturation',
      held: true,
      conditions: [{ type: T.TargetResolved, status: 'True', reason: R.TargetResolved.TargetFound, message: `${listed.variant.target.kind} ${listed.variant.target.name} has ${current} replicas` }],
      spare: 0,
      priority: config.saturation.priority,
      limiterOn: this.#options.limitedMode || config.saturation.enableLimiter,
    }));
    const hold = (reason: string, message: string) => {
      for (const p of plans) {
        p.desired = p.listed.previousDesired ?? p.current;
        p.reason = `held: ${message}`;
        p.held = true;
        p.conditions.push({ type: T.OptimizationReady, status: 'False', reason, message });
      }
    };
    const current = new Map(members.map((m) => [m.listed.variant.name, m.current]));
    const variants = members.map((m) => m.listed.variant);
    let metrics: GroupMetrics;
    try {
      metrics = await this.#deps.metricsSource.collect(namespace, modelID, variants, current);
    } catch (err) {
      const message = `metrics collection failed: ${(err as Error).message}`;
      for (const p of plans) p.conditions.push({ type: T.MetricsAvailable, status: 'False', reason: R.MetricsAvailable.PrometheusError, message });
      hold(R.OptimizationReady.MetricsUnavailable, message);
      log.error({ model: modelID, namespace }, message);
      return plans;
    }
    let allOk = true;
    for (const p of plans) {
      const s = metrics.status.get(p.listed.variant.name);
      if (s?.ok) p.conditions.push({ type: T.MetricsAvailable, status: 'True', reason: R.MetricsAvailable.MetricsFound, message: s.message });
      else {
        allOk = false;
        p.conditions.push({ type: T.MetricsAvailable, status: 'False', reason: s?.reason ?? R.MetricsAvailable.MetricsMissing, message: s?.message ?? 'no metrics' });
        log.warn({ variant: `${namespace}/${p.listed.variant.name}`, reason: s?.reason }, s?.message ?? 'no metrics');
      }
    }
    if (metrics.unmatchedPods.length > 0) log.debug({ model: modelID, pods: metrics.unmatchedPods }, 'pods that match no variant target');
    if (config.problems.length > 0) {
      const message = `invalid configuration: ${config.problems.join('; ')}`;
      hold('InvalidConfiguration', message);
      log.error({ model: modelID, namespace }, message);
      return plans;
    }
    if (!allOk) {
      const bad = plans.filter((p) => !metrics.status.get(p.listed.variant.name)?.ok).map((p) => p.listed.variant.name);
      hold(R.OptimizationReady.MetricsUnavailable, `not scaling on missing data: metrics of ${bad.join(', ')} are unavailable`);
      return plans;
    }

    const states: VariantState[] = plans.map((p) => ({
      variant: p.listed.variant,
      currentReplicas: p.current,
      readyReplicas: (metrics.status.get(p.listed.variant.name) as { readyReplicas: number }).readyReplicas,
      previousDesired: p.listed.previousDesired,
    }));
    let targets: Map<string, VariantTarget>;
    let code: ScalingReason = 'saturation';
    let spare = 0;
    try {
      if (config.queueing) {
        code = 'queueing_model';
        const slo = analyzeSlo(states, metrics.replicas, config.queueing, this.#fits);
        if (slo.problem) {
          hold(R.OptimizationReady.OptimizationFailed, slo.problem);
          return plans;
        }
        targets = slo.targets;
        log.debug({ model: modelID, arrivalRate: slo.arrivalRate, sizings: slo.sizings.map((z) => ({ ...z, params: z.params })) }, 'queueing-model analysis');
      } else if (config.saturation.analyzerName === 'saturation') {
        const a = analyzeTokens(modelID, states, metrics.replicas, config.saturation, this.#history, metrics.flowControlQueue ?? 0);
        targets = tokenTargets(states, a);
        spare = a.anticipatedSupply > 0 ? a.spare / a.anticipatedSupply : 0;
        log.debug({ model: modelID, demand: a.demand, supply: a.supply, required: a.required, spare: a.spare }, 'token saturation analysis');
      } else {
        const a = analyzeSaturation(metrics.replicas, config.saturation, metrics.flowControlQueue ?? 0);
        targets = saturationTargets(states, a);
        spare = Number.isNaN(a.avgSpareKv) ? -1 : Math.min(a.avgSpareKv / config.saturation.kvCacheThreshold, a.avgSpareQueue / config.saturation.queueLengthThreshold);
        log.debug({ model: modelID, ...a }, 'saturation analysis');
      }
    } catch (err) {
      if (!(err instanceof MissingInputError)) throw err;
      hold(R.OptimizationReady.MetricsUnavailable, err.message);
      return plans;
    }

    // Scale to zero, then the variants' bounds.
    let requestCount: number | undefined;
    const idle = metrics.replicas.every((r) => r.kvUsage === 0 && r.queueLength === 0) && !((metrics.flowControlQueue ?? 0) > 0);
    const key = groupKey(first);
    if (config.scaleToZero.enableScaleToZero && states.every((s) => s.variant.minReplicas === 0) && idle) {
      try {
        requestCount = await this.#deps.metricsSource.requestCount(namespace, modelID, config.scaleToZero.retentionPeriodMs);
        // No series while replicas report their gauges: no request has finished on them.
        if (requestCount === undefined && metrics.replicas.length > 0) requestCount = 0;
      } catch (err) {
        log.warn({ model: modelID, err: (err as Error).message }, 'request count unavailable; not scaling to zero');
      }
    }
    const nowMs = this.#now().getTime();
    const watchedSince = this.#watchedSince.get(key) ?? nowMs;
    this.#watchedSince.set(key, watchedSince);
    // The count covers only what the metrics source still holds: right after this controller starts,
    // it has not yet watched the model for a whole retention period, so it does not trust a zero.
    if (requestCount === 0 && nowMs - watchedSince < config.scaleToZero.retentionPeriodMs) requestCount = undefined;
    const enforced = enforceScaleToZero(states, targets, config.scaleToZero, requestCount);
    for (const p of plans) {
      const name = p.listed.variant.name;
      const analyzed = targets.get(name) as VariantTarget;
      const after = enforced.get(name) as VariantTarget;
      let desired = after.target;
      let reason = after.reason;
      p.reasonCode = after === analyzed ? code : after.target === 0 ? 'scale_to_zero' : 'keep_minimum';
      const clamped = clampReplicas(p.listed.variant, desired);
      if (clamped !== desired) {
        reason = `${reason}; bounded to [${p.listed.variant.minReplicas}, ${p.listed.variant.maxReplicas}]`;
        p.reasonCode = 'bounds';
        desired = clamped;
      }
      p.desired = desired;
      p.reason = reason;
      p.held = false;
      p.spare = spare;
      p.conditions.push({ type: T.OptimizationReady, status: 'True', reason: R.OptimizationReady.OptimizationSucceeded, message: reason });
    }
    return plans;
  }

  /** Limited mode: scale-ups share the accelerator inventory, by priority then saturation. */
  #limit(planned: Planned[]): void {
    const subject = planned.filter((p) => p.limiterOn && !p.held);
    if (subject.length === 0 || this.#options.acceleratorCapacity.size === 0) return;
    const requests: LimiterRequest[] = subject.map((p) => ({
      key: `${p.listed.variant.namespace}/${p.listed.variant.name}`,
      accelerator: p.listed.variant.accelerator,
      acceleratorCount: p.listed.variant.acceleratorCount,
      currentReplicas: p.current,
      targetReplicas: p.desired,
      priority: p.priority,
      spare: p.spare,
    }));
    const grants = limitByInventory(requests, this.#options.acceleratorCapacity);
    for (const p of subject) {
      const g = grants.get(`${p.listed.variant.namespace}/${p.listed.variant.name}`);
      if (!g?.limited) continue;
      this.#deps.logger.info({ variant: `${p.listed.variant.namespace}/${p.listed.variant.name}`, originalTarget: p.desired, limitedTarget: g.targetReplicas }, 'decision limited by accelerator inventory');
      p.reason = `${p.reason}; limited to ${g.targetReplicas} by the ${p.listed.variant.accelerator} inventory`;
      p.desired = g.targetReplicas;
      p.reasonCode = 'limiter';
    }
  }

  async #actuate(p: Planned, now: Date): Promise<VariantOutcome> {
    const v = p.listed.variant;
    const { cluster, metrics, logger } = this.#deps;
    const labels: VariantLabels = { variantName: v.name, namespace: v.namespace, acceleratorType: v.accelerator };
    const previous = p.listed.previousDesired;
    metrics.publish(labels, p.desired, p.current);
    if (!p.held && previous !== null) metrics.countChange(labels, previous, p.desired, p.reasonCode);
    if (!p.held && previous === null && p.desired !== p.current) metrics.countChange(labels, p.current, p.desired, p.reasonCode);
    let applied = true;
    if (this.#options.actuation === 'direct' && !p.held && p.desired !== p.current) {
      try {
        await cluster.setScale(v.namespace, v.target, p.desired);
      } catch (err) {
        applied = false;
        logger.error({ variant: `${v.namespace}/${v.name}`, err: (err as Error).message }, 'setting /scale failed');
      }
    }
    if (!p.held && p.desired !== (previous ?? p.current)) {
      logger.info({ variant: `${v.namespace}/${v.name}`, model: v.modelID, current: p.current, desired: p.desired, reason: p.reason }, 'desired replicas changed');
    }
    const conditions = mergeConditions(p.listed.conditions, p.conditions, now, p.listed.generation);
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const changed = previous === null || previous !== p.desired;
    const status: VariantAutoscalingStatus = {
      currentAlloc: { numReplicas: p.current, ...(v.accelerator ? { accelerator: v.accelerator } : {}) },
      desiredOptimizedAlloc: {
        lastRunTime: stamp,
        numReplicas: p.desired,
        ...(v.accelerator ? { accelerator: v.accelerator } : {}),
        ...(changed
          ? { lastUpdate: { updateTime: stamp, numReplicasChanged: p.desired - (previous ?? p.current), reason: p.reason.slice(0, 1024) } }
          : p.listed.previousUpdate
            ? { lastUpdate: p.listed.previousUpdate }
            : {}),
      },
      actuation: { applied },
      conditions,
    };
    await cluster.writeStatus(v.namespace, v.name, status).catch((err: Error) => logger.warn({ variant: `${v.namespace}/${v.name}`, err: err.message }, 'status write failed'));
    return { ...this.#decisionBase(v, p.current), desiredReplicas: p.desired, reason: p.reason, conditions, applied, held: p.held };
  }
}
