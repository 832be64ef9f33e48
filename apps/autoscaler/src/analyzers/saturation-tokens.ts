// Saturation analyzer V2 (token-based; `analyzerName: saturation`): capacity and demand in KV tokens.
import type { SaturationConfig } from '../config/saturation-config.js';
import type { ReplicaMetrics, VariantState } from '../model.js';
import type { VariantTarget } from './saturation.js';

/** Output-length buckets of the capacity history: short (<100), medium (<500), long (≥500) tokens. */
export function outputBucket(avgOutputTokens: number | undefined): 'short' | 'medium' | 'long' {
  if (avgOutputTokens === undefined || avgOutputTokens < 100) return 'short';
  return avgOutputTokens < 500 ? 'medium' : 'long';
}

/**
 * Rolling memory of observed per-replica token capacity (tokens in use while the replica had a full
 * queue), keyed by model|accelerator|output bucket, the last `window` observations each.
 */
export class CapacityHistory {
  readonly #window: number;
  readonly #seen = new Map<string, number[]>();

  constructor(window = 10) {
    this.#window = window;
  }

  /** Records one observation. */
  record(key: string, tokens: number): void {
    const list = this.#seen.get(key) ?? [];
    list.push(tokens);
    if (list.length > this.#window) list.shift();
    this.#seen.set(key, list);
  }

  /** The mean of the recorded observations, or undefined when there are none. */
  average(key: string): number | undefined {
    const list = this.#seen.get(key);
    return list && list.length > 0 ? list.reduce((a, b) => a + b, 0) / list.length : undefined;
  }
}

/** Per-variant capacity and the model's demand, as the token analyzer computed them. */
export interface TokenAnalysis {
  /** Tokens one replica of each variant holds before saturating (median over its ready replicas). */
  readonly capacityPerReplica: ReadonlyMap<string, number>;
  readonly demand: number;
  /** Capacity of the ready replicas. */
  readonly supply: number;
  /** Capacity counting pending replicas too. */
  readonly anticipatedSupply: number;
  /** Tokens of capacity to add (> 0) to keep demand under scaleUpThreshold of supply. */
  readonly required: number;
  /** Capacity that could go while demand stays under scaleDownBoundary of supply. */
  readonly spare: number;
}

/** Thrown when a replica lacks an input this analyzer cannot do without; names the metric. */
export class MissingInputError extends Error {
  override readonly name = 'MissingInputError';
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Computes capacity and demand. Per replica, `k1 = num_gpu_blocks × block_size × kvCacheThreshold`;
 * `k2` is the tokens in use when its queue is at the threshold (recorded in `history`), else the
 * history's average, else `maxBatchSize × (in + out/2)` when the variant gives a batch size, else
 * k1; capacity is `min(k1, k2)`. Demand is tokens in use plus queued prompts (replica queues and the
 * router's queue, at the average prompt length).
 */
export function analyzeTokens(
  modelID: string,
  states: readonly VariantState[],
  replicas: readonly ReplicaMetrics[],
  c: SaturationConfig,
  history: CapacityHistory,
  routerQueue = 0,
): TokenAnalysis {
  const perVariant = new Map<string, number[]>();
  let demand = 0;
  let inputSum = 0;
  let inputCount = 0;
  for (const r of replicas) {
    if (r.numGpuBlocks === undefined || r.blockSize === undefined) {
      throw new MissingInputError(`pod ${r.pod} reports no vllm:cache_config_info{num_gpu_blocks,block_size}`);
    }
    const state = states.find((s) => s.variant.name === r.variant);
    const total = r.numGpuBlocks * r.blockSize;
    const inUse = r.kvUsage * total;
    const k1 = total * c.kvCacheThreshold;
    const key = `${modelID}|${state?.variant.accelerator ?? ''}|${outputBucket(r.avgOutputTokens)}`;
    let k2: number;
    if (r.queueLength >= c.queueLengthThreshold && inUse > 0) {
      history.record(key, inUse);
      k2 = inUse;
    } else {
      const seen = history.average(key);
      const batch = state?.variant.maxBatchSize;
      if (seen !== undefined) k2 = seen;
      else if (batch !== undefined && r.avgInputTokens !== undefined && r.avgOutputTokens !== undefined) k2 = batch * (r.avgInputTokens + r.avgOutputTokens / 2);
      else k2 = k1;
    }
    const list = perVariant.get(r.variant) ?? [];
    list.push(Math.min(k1, k2));
    perVariant.set(r.variant, list);
    if (r.queueLength > 0 && r.avgInputTokens === undefined) {
      throw new MissingInputError(`pod ${r.pod} has ${r.queueLength} queued request(s) but no vllm:request_prompt_tokens rate to size them`);
    }
    demand += inUse + r.queueLength * (r.avgInputTokens ?? 0);
    if (r.avgInputTokens !== undefined) {
      inputSum += r.avgInputTokens;
      inputCount++;
    }
  }
  if (routerQueue > 0) {
    if (inputCount === 0) throw new MissingInputError(`the router holds ${routerQueue} request(s) but no replica reports vllm:request_prompt_tokens to size them`);
    demand += routerQueue * (inputSum / inputCount);
  }
  const capacityPerReplica = new Map<string, number>();
  for (const [variant, caps] of perVariant) capacityPerReplica.set(variant, median(caps));
  let supply = 0;
  let anticipatedSupply = 0;
  for (const s of states) {
    const cap = capacityPerReplica.get(s.variant.name) ?? 0;
    supply += cap * s.readyReplicas;
    anticipatedSupply += cap * Math.max(s.currentReplicas, s.readyReplicas);
  }
  return {
    capacityPerReplica,
    demand,
    supply,
    anticipatedSupply,
    required: demand / c.scaleUpThreshold - anticipatedSupply,
    spare: supply - demand / c.scaleDownBoundary,
  };
}

/**
 * Targets from a token analysis: missing capacity goes to the cheapest variant with a known
 * per-replica capacity (as many replicas as cover it, up to its maximum); spare capacity of at least
 * one replica removes one replica from the most expensive variant, never the model's last.
 */
export function tokenTargets(states: readonly VariantState[], a: TokenAnalysis): Map<string, VariantTarget> {
  const out = new Map<string, VariantTarget>();
  for (const s of states) out.set(s.variant.name, { target: s.currentReplicas, reason: 'no change' });
  const cost = (x: VariantState, y: VariantState) => x.variant.cost - y.variant.cost || x.variant.name.localeCompare(y.variant.name);
  if (a.required > 0) {
    const pick = states.filter((s) => s.currentReplicas < s.variant.maxReplicas && (a.capacityPerReplica.get(s.variant.name) ?? 0) > 0).sort(cost)[0];
    if (pick) {
      const cap = a.capacityPerReplica.get(pick.variant.name) as number;
      const add = Math.max(1, Math.ceil(a.required / cap));
      const target = Math.min(pick.variant.maxReplicas, pick.currentReplicas + add);
      out.set(pick.variant.name, { target, reason: `scale up (cheapest): demand ${Math.round(a.demand)} tokens needs ${Math.round(a.required)} more capacity` });
    }
    return out;
  }
  const total = states.reduce((sum, s) => sum + s.currentReplicas, 0);
  const pick = states
    .filter((s) => s.currentReplicas - 1 >= s.variant.minReplicas && total - 1 >= 1)
    .filter((s) => a.spare >= (a.capacityPerReplica.get(s.variant.name) ?? Infinity))
    .sort((x, y) => -cost(x, y))[0];
  if (pick) out.set(pick.variant.name, { target: pick.currentReplicas - 1, reason: `scale down (most expensive): spare ${Math.round(a.spare)} tokens` });
  return out;
}
