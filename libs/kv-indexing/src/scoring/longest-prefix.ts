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
 *
 * On the router's hot path (an 8,000-token prompt is 500 rows): pods are numbered once from row 0
 * and tracked in typed arrays, so a row costs one map lookup per entry and no allocation.
 */
export function longestPrefixScores(lookup: readonly (readonly PodEntry[])[], tierWeights: TierWeights = DEFAULT_TIER_WEIGHTS): Map<string, number> {
  const scores = new Map<string, number>();
  const first = lookup[0];
  if (first === undefined) return scores;
  const index = new Map<string, number>();
  const pods: string[] = [];
  for (const { pod } of first) {
    if (!index.has(pod)) {
      index.set(pod, pods.length);
      pods.push(pod);
    }
  }
  const n = pods.length;
  const total = new Float64Array(n);
  const best = new Float64Array(n);
  const alive = new Uint8Array(n).fill(1);
  const weights = new Map<string, number>();
  const weightOf = (tier: string): number => {
    let w = weights.get(tier);
    if (w === undefined) {
      w = Object.hasOwn(tierWeights, tier) ? (tierWeights[tier] as number) : 1;
      weights.set(tier, w);
    }
    return w;
  };
  let remaining = n;
  for (let i = 0; i < lookup.length && remaining > 0; i++) {
    // -1 marks "not held in this row" (a tier may weigh 0 and still count as held).
    best.fill(-1);
    for (const { pod, tier } of lookup[i] as readonly PodEntry[]) {
      const j = index.get(pod);
      if (j === undefined || alive[j] === 0) continue;
      const w = weightOf(tier);
      if (w > (best[j] as number)) best[j] = w;
    }
    for (let j = 0; j < n; j++) {
      if (alive[j] === 0) continue;
      const w = best[j] as number;
      if (w < 0) {
        alive[j] = 0;
        remaining--;
      } else total[j] = (total[j] as number) + w;
    }
  }
  for (let j = 0; j < n; j++) scores.set(pods[j] as string, total[j] as number);
  return scores;
}
