// The queueing-model (SLO) analyzer: per variant, the largest arrival rate one replica serves within
// the TTFT and ITL targets; replicas = ⌈model arrival rate / that rate⌉; the cheapest variant serves.
import { DEFAULT_MAX_BATCH_SIZE, type QueueingConfig } from '../config/queueing-config.js';
import type { PerfParams, ReplicaMetrics, VariantState } from '../model.js';
import { LatencyModelFit } from './latency-fit.js';
import { idleLatency, maxArrivalRate, replicasFor, type LatencyTargets, type ServerProfile } from './queueing-model.js';
import type { VariantTarget } from './saturation.js';

/** What the analyzer concluded for one variant. */
export interface VariantSizing {
  readonly variant: string;
  /** The parameters used, and where they came from. */
  readonly params: PerfParams | undefined;
  readonly source: 'configured' | 'fitted' | 'none';
  readonly targets: LatencyTargets | undefined;
  /** Largest arrival rate (req/s) one replica takes within the targets. */
  readonly maxRatePerReplica: number;
  /** Replicas this variant alone would need (Infinity when it cannot meet the targets). */
  readonly replicas: number;
  readonly cost: number;
}

/** The analyzer's answer for a model group. */
export interface SloAnalysis {
  readonly arrivalRate: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly sizings: readonly VariantSizing[];
  /** The variant that serves the load, or null when none can (no parameters, or targets unreachable). */
  readonly chosen: string | null;
  readonly targets: Map<string, VariantTarget>;
  /** Set when no decision could be made; says why. */
  readonly problem: string | null;
}

/** Fits kept across cycles, one per variant (namespace/name). */
export class LatencyFits {
  readonly #fits = new Map<string, LatencyModelFit>();

  /** The fit of a variant, if it exists. */
  peek(key: string): LatencyModelFit | undefined {
    return this.#fits.get(key);
  }

  /** The fit of a variant, created (from its configured parameters, if any) on first use. */
  fitFor(key: string, prior?: PerfParams): LatencyModelFit {
    let fit = this.#fits.get(key);
    if (!fit) {
      fit = new LatencyModelFit(prior);
      this.#fits.set(key, fit);
    }
    return fit;
  }
}

/** Minimum decode observations before a fitted model is trusted. */
export const MIN_FIT_OBSERVATIONS = 3;

/**
 * Sizes a model group. Load comes from the replicas' finished-request rates plus the growth of their
 * waiting queues (completions alone cap at what the replicas manage, hiding an overload), and token
 * averages weighted by rate. Each variant's parameters are its own profile, else the ConfigMap's, else the
 * online fit (when tuning is on and it has seen enough). Targets are explicit (variant SLO, then the
 * ConfigMap), else idle latency × `sloMultiplier`. Only the chosen (cheapest) variant gets replicas;
 * the others go to their minimum.
 */
export function analyzeSlo(states: readonly VariantState[], replicas: readonly ReplicaMetrics[], config: QueueingConfig, fits: LatencyFits): SloAnalysis {
  let arrivalRate = 0;
  let inWeighted = 0;
  let outWeighted = 0;
  let weight = 0;
  for (const r of replicas) {
    const rate = (r.arrivalRate ?? 0) + Math.max(0, r.queueGrowth ?? 0);
    arrivalRate += rate;
    if (rate > 0 && r.avgInputTokens !== undefined && r.avgOutputTokens !== undefined) {
      inWeighted += rate * r.avgInputTokens;
      outWeighted += rate * r.avgOutputTokens;
      weight += rate;
    }
  }
  const inputTokens = weight > 0 ? inWeighted / weight : 0;
  const outputTokens = weight > 0 ? outWeighted / weight : 0;

  // Learn from this window first, so the sizing uses the newest fit.
  if (config.tuningEnabled) {
    for (const s of states) {
      const fit = fits.fitFor(`${s.variant.namespace}/${s.variant.name}`, s.variant.perfParams ?? config.perfParams);
      for (const r of replicas) {
        if (r.variant !== s.variant.name || r.avgRunning === undefined || r.avgItlMs === undefined) continue;
        fit.observe({ avgBatch: r.avgRunning, itlMs: r.avgItlMs, prefillMs: r.avgPrefillMs, inputTokens: r.avgInputTokens });
      }
    }
  }

  const sizings: VariantSizing[] = [];
  for (const s of states) {
    const v = s.variant;
    let params = v.perfParams ?? config.perfParams;
    let source: VariantSizing['source'] = params ? 'configured' : 'none';
    if (config.tuningEnabled) {
      const fit = fits.fitFor(`${v.namespace}/${v.name}`, params);
      if (fit.observations >= MIN_FIT_OBSERVATIONS) {
        params = fit.params;
        source = 'fitted';
      }
    }
    if (!params || weight === 0) {
      sizings.push({ variant: v.name, params, source, targets: undefined, maxRatePerReplica: 0, replicas: Infinity, cost: Infinity });
      continue;
    }
    const profile: ServerProfile = { params, maxBatchSize: v.maxBatchSize ?? config.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE, inputTokens, outputTokens };
    const idle = idleLatency(profile);
    const targets: LatencyTargets = {
      ttftMs: v.slo?.ttftMs ?? config.targetTTFT ?? idle.ttftMs * config.sloMultiplier,
      itlMs: v.slo?.itlMs ?? config.targetITL ?? idle.itlMs * config.sloMultiplier,
    };
    const rate = maxArrivalRate(profile, targets);
    const n = Math.max(replicasFor(arrivalRate, rate, v.minReplicas), 1);
    sizings.push({ variant: v.name, params, source, targets, maxRatePerReplica: rate, replicas: n, cost: Number.isFinite(n) ? n * v.cost : Infinity });
  }

  const targets = new Map<string, VariantTarget>();
  const feasible = sizings
    .filter((z) => Number.isFinite(z.cost))
    .filter((z) => z.replicas <= (states.find((s) => s.variant.name === z.variant)?.variant.maxReplicas ?? Infinity))
    .sort((a, b) => a.cost - b.cost || a.variant.localeCompare(b.variant));
  let problem: string | null = null;
  let chosen = feasible[0]?.variant ?? null;
  if (weight === 0 && arrivalRate === 0) {
    problem = null;
  } else if (!chosen) {
    const anyParams = sizings.some((z) => z.params !== undefined);
    const capped = sizings.filter((z) => Number.isFinite(z.cost));
    if (capped.length > 0) {
      // Every variant needs more than its maximum: the cheapest per unit of load takes its maximum.
      const best = [...capped].sort((a, b) => a.cost / a.replicas - b.cost / b.replicas || a.variant.localeCompare(b.variant))[0] as VariantSizing;
      chosen = best.variant;
      problem = null;
    } else {
      problem = anyParams
        ? 'no variant meets the latency targets even at the lowest load'
        : `no latency-model parameters: configure alpha, beta, gamma, delta, or let the fit see at least ${MIN_FIT_OBSERVATIONS} observations`;
    }
  }
  for (const s of states) {
    const z = sizings.find((x) => x.variant === s.variant.name) as VariantSizing;
    if (problem !== null) targets.set(s.variant.name, { target: s.currentReplicas, reason: problem });
    else if (weight === 0 && arrivalRate === 0) targets.set(s.variant.name, { target: s.currentReplicas, reason: 'no finished requests in the window: no change' });
    else if (s.variant.name === chosen) {
      const target = Math.min(z.replicas, s.variant.maxReplicas);
      targets.set(s.variant.name, { target, reason: `queueing model: ${arrivalRate.toFixed(2)} req/s over ${z.maxRatePerReplica.toFixed(2)} req/s per replica (${z.source} parameters)` });
    } else targets.set(s.variant.name, { target: s.variant.minReplicas, reason: `queueing model: ${chosen} is cheaper for this load` });
  }
  return { arrivalRate, inputTokens, outputTokens, sizings, chosen, targets, problem };
}
