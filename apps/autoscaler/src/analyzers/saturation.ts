// Saturation analyzer V1 (percentage-based, upstream's default): spare KV-cache and queue capacity
// of the non-saturated replicas decide one step up on the cheapest variant or one step down on
// the most expensive one.
import type { SaturationConfig } from '../config/saturation-config.js';
import type { ReplicaMetrics, VariantState } from '../model.js';

/** What the analysis of a model's replicas found. */
export interface SaturationAnalysis {
  readonly totalReplicas: number;
  readonly nonSaturated: number;
  /** Averages over the non-saturated replicas; NaN when every replica is saturated. */
  readonly avgSpareKv: number;
  readonly avgSpareQueue: number;
  readonly shouldScaleUp: boolean;
  /** Why scale-up triggered, when it did. */
  readonly scaleUpReason: string | null;
  readonly scaleDownSafe: boolean;
  /** Why scale-down is or is not safe. */
  readonly scaleDownReason: string;
}

/**
 * Analyzes one model's replicas (all variants together). A replica is saturated at
 * `kv ≥ kvCacheThreshold` or `queue ≥ queueLengthThreshold`. Scale-up triggers when the average
 * spare capacity of the others falls below a trigger (or every replica is saturated). Scale-down is
 * safe only when at least two replicas are unsaturated, none is saturated, the router holds no
 * queued requests, and the total load spread over one replica fewer still leaves both spares at or
 * above their triggers.
 */
export function analyzeSaturation(replicas: readonly ReplicaMetrics[], c: SaturationConfig, routerQueue = 0): SaturationAnalysis {
  const unsaturated = replicas.filter((r) => r.kvUsage < c.kvCacheThreshold && r.queueLength < c.queueLengthThreshold);
  const n = unsaturated.length;
  let totalKv = 0;
  let totalQueue = 0;
  for (const r of unsaturated) {
    totalKv += r.kvUsage;
    totalQueue += r.queueLength;
  }
  const avgSpareKv = n > 0 ? c.kvCacheThreshold - totalKv / n : NaN;
  const avgSpareQueue = n > 0 ? c.queueLengthThreshold - totalQueue / n : NaN;
  let scaleUpReason: string | null = null;
  if (replicas.length > 0 && n === 0) scaleUpReason = 'every replica is saturated';
  else if (avgSpareKv < c.kvSpareTrigger) scaleUpReason = `KV spare capacity low (${avgSpareKv.toFixed(3)} < ${c.kvSpareTrigger})`;
  else if (avgSpareQueue < c.queueSpareTrigger) scaleUpReason = `queue spare capacity low (${avgSpareQueue.toFixed(2)} < ${c.queueSpareTrigger})`;

  let scaleDownSafe = false;
  let scaleDownReason: string;
  if (n < 2) scaleDownReason = `needs at least 2 unsaturated replicas, has ${n}`;
  else if (n < replicas.length) scaleDownReason = `${replicas.length - n} replica(s) saturated`;
  else if (routerQueue > 0) scaleDownReason = `the router holds ${routerQueue} queued request(s)`;
  else {
    const spareKvAfter = c.kvCacheThreshold - totalKv / (n - 1);
    const spareQueueAfter = c.queueLengthThreshold - totalQueue / (n - 1);
    scaleDownSafe = spareKvAfter >= c.kvSpareTrigger && spareQueueAfter >= c.queueSpareTrigger;
    scaleDownReason = `after removing one replica: spare KV ${spareKvAfter.toFixed(3)} (trigger ${c.kvSpareTrigger}), spare queue ${spareQueueAfter.toFixed(2)} (trigger ${c.queueSpareTrigger})`;
  }
  return {
    totalReplicas: replicas.length,
    nonSaturated: n,
    avgSpareKv,
    avgSpareQueue,
    shouldScaleUp: scaleUpReason !== null,
    scaleUpReason,
    scaleDownSafe: scaleDownSafe && scaleUpReason === null,
    scaleDownReason,
  };
}

/** A target the analyzer proposes for one variant, with its reason. */
export interface VariantTarget {
  readonly target: number;
  readonly reason: string;
}

/** Cost order: cheapest first, ties alphabetical. */
function byCostThenName(a: VariantState, b: VariantState): number {
  return a.variant.cost - b.variant.cost || a.variant.name.localeCompare(b.variant.name);
}

/**
 * Turns an analysis into per-variant targets:
 * - while any variant's published desired count differs from its current replicas, every variant
 *   holds (one change at a time);
 * - scale-up adds one replica to the cheapest variant below its maximum with no pending replicas
 *   (ties: alphabetically first);
 * - scale-down removes one replica from the most expensive variant above its minimum (ties:
 *   alphabetically last), never taking the model's last replica;
 * - otherwise each variant keeps its current count.
 */
export function saturationTargets(states: readonly VariantState[], analysis: SaturationAnalysis): Map<string, VariantTarget> {
  const out = new Map<string, VariantTarget>();
  const inFlight = states.filter((s) => s.previousDesired !== null && s.previousDesired !== 0 && s.previousDesired !== s.currentReplicas);
  if (inFlight.length > 0) {
    const names = inFlight.map((s) => `${s.variant.name} (${s.currentReplicas}→${s.previousDesired})`).join(', ');
    for (const s of states) {
      const pending = s.previousDesired !== null && s.previousDesired !== 0 && s.previousDesired !== s.currentReplicas;
      out.set(s.variant.name, { target: pending ? (s.previousDesired as number) : s.currentReplicas, reason: `waiting for ${names}` });
    }
    return out;
  }
  for (const s of states) out.set(s.variant.name, { target: s.currentReplicas, reason: 'no change' });
  if (analysis.shouldScaleUp) {
    const candidates = states.filter((s) => s.currentReplicas < s.variant.maxReplicas && s.currentReplicas - s.readyReplicas <= 0).sort(byCostThenName);
    const pick = candidates[0];
    if (pick) out.set(pick.variant.name, { target: pick.currentReplicas + 1, reason: `scale up (cheapest): ${analysis.scaleUpReason}` });
    else for (const s of states) out.set(s.variant.name, { target: s.currentReplicas, reason: `scale up needed (${analysis.scaleUpReason}) but every variant is at its maximum or has pending replicas` });
    return out;
  }
  if (analysis.scaleDownSafe) {
    const total = states.reduce((sum, s) => sum + s.currentReplicas, 0);
    const candidates = states.filter((s) => s.currentReplicas - 1 >= s.variant.minReplicas && total - 1 >= 1).sort((a, b) => -byCostThenName(a, b));
    const pick = candidates[0];
    if (pick) out.set(pick.variant.name, { target: pick.currentReplicas - 1, reason: `scale down (most expensive): ${analysis.scaleDownReason}` });
  }
  return out;
}
