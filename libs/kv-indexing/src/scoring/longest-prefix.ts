// Upstream's LongestPrefix KV-block scorer (llm-d kvblock_scorer.go): a pod scores for the blocks
// it holds from the first one on, and stops at the first it lacks, because an engine can reuse a
// cached prefix only up to the first block it has to recompute.
import type { PodEntry } from '../index/types.js';

/** Weight of a block by the device tier holding it; a tier not listed weighs 1. */
export type TierWeights = Readonly<Record<string, number>>;

/** Upstream's default tier weights: a CPU-offloaded block is worth less than one still on the GPU. */
export const DEFAULT_TIER_WEIGHTS: TierWeights = Object.freeze({ gpu: 1, cpu: 0.8 });

/**
 * Scores pods from an index lookup (one row of entries per block key, in key order): per pod, the
 * sum over the consecutive blocks it holds from key 0 of the largest weight among its tiers for
 * that block. Pods absent from key 0 get no entry.
 */
export function longestPrefixScores(lookup: readonly (readonly PodEntry[])[], tierWeights: TierWeights = DEFAULT_TIER_WEIGHTS): Map<string, number> {
  const scores = new Map<string, number>();
  const first = lookup[0];
  if (first === undefined) return scores;
  // Pods still on their prefix run, with their best weight in the current row.
  let active = bestWeights(first, tierWeights, null);
  for (const [pod, weight] of active) scores.set(pod, weight);
  for (let i = 1; i < lookup.length && active.size > 0; i++) {
    active = bestWeights(lookup[i] as readonly PodEntry[], tierWeights, active);
    for (const [pod, weight] of active) scores.set(pod, (scores.get(pod) as number) + weight);
  }
  return scores;
}

/** The best weight per pod in one row, only for pods in `among` when given. */
function bestWeights(row: readonly PodEntry[], tierWeights: TierWeights, among: ReadonlyMap<string, number> | null): Map<string, number> {
  const best = new Map<string, number>();
  for (const { pod, tier } of row) {
    if (among !== null && !among.has(pod)) continue;
    const weight = Object.hasOwn(tierWeights, tier) ? (tierWeights[tier] as number) : 1;
    const seen = best.get(pod);
    if (seen === undefined || weight > seen) best.set(pod, weight);
  }
  return best;
}
