import { attentionPairs, resolveLatencyModel, type LatencyModel, type LatencyModelKind } from './latency.js';
import type { EngineOptions } from './options.js';

/** The engine options the curves depend on. */
export type ProfileOptions = Pick<EngineOptions, 'latency' | 'maxNumSeqs' | 'maxNumBatchedTokens' | 'blockSize' | 'numGpuBlocks'>;

/** Batch sizes of the inter-token-latency curve. */
export const PROFILE_BATCH_SIZES: readonly number[] = Object.freeze([1, 8, 32, 128, 256]);
/** Context lengths (tokens per request) of the inter-token-latency and saturation curves. */
export const PROFILE_CONTEXTS: readonly number[] = Object.freeze([1024, 4096]);
/** Prompt lengths of the TTFT curve. */
export const PROFILE_PROMPTS: readonly number[] = Object.freeze([256, 512, 1024, 2048, 4096, 8192]);
/** Prefix-cache hit fractions of the TTFT curve. */
export const PROFILE_CACHED_FRACTIONS: readonly number[] = Object.freeze([0, 0.5, 0.9]);

/** Inter-token latency of a batch of decodes that all have the same context. */
export interface ItlPoint {
  batchSize: number;
  contextTokens: number;
  itlMs: number;
  /** Whether the engine can run this batch at all (max-num-seqs, token budget and KV capacity). */
  fits: boolean;
}

/** Time to first token of a request alone on the engine. */
export interface TtftPoint {
  promptTokens: number;
  cachedFraction: number;
  /** The block-aligned hit the fraction turns into (the last token is always computed). */
  cachedTokens: number;
  ttftMs: number;
  /** Steps the prefill takes (chunks of max-num-batched-tokens); 1 for the per-request calculators. */
  steps: number;
}

/** Decode throughput with the largest batch the engine can hold. */
export interface SaturationPoint {
  contextTokens: number;
  batchSize: number;
  limitedBy: 'max-num-seqs' | 'max-num-batched-tokens' | 'kv-cache';
  itlMs: number;
  tokensPerSecond: number;
}

/** What `profile` prints: the latency model's curves. */
export interface ProfileCurves {
  model: LatencyModelKind;
  preset: string;
  interTokenLatency: ItlPoint[];
  timeToFirstToken: TtftPoint[];
  saturation: SaturationPoint[];
}

function itlMs(model: LatencyModel, batchSize: number, context: number, maxNumSeqs: number): number {
  if (!model.stepBased) return model.meanInterTokenLatencyMs(Math.min(batchSize, maxNumSeqs), maxNumSeqs);
  return model.stepMs({ prefillTokens: 0, decodeTokens: batchSize, decodeContext: batchSize * context, batchSize });
}

/** The block-aligned prefix hit a cached fraction of a prompt gives, as the engine computes it. */
export function cachedTokensFor(promptTokens: number, cachedFraction: number, blockSize: number): number {
  const wanted = Math.floor((promptTokens * cachedFraction) / blockSize);
  const cap = Math.floor((promptTokens - 1) / blockSize);
  return Math.min(wanted, cap) * blockSize;
}

/** Time to first token of a lone request: its uncached prompt in budget-sized chunks, one step each. */
export function timeToFirstTokenMs(
  model: LatencyModel,
  promptTokens: number,
  cachedTokens: number,
  o: Pick<ProfileOptions, 'maxNumSeqs' | 'maxNumBatchedTokens'>,
): { ttftMs: number; steps: number } {
  const uncached = promptTokens - cachedTokens;
  if (!model.stepBased) return { ttftMs: model.meanTimeToFirstTokenMs(uncached, 1, o.maxNumSeqs), steps: 1 };
  let done = cachedTokens;
  let ttftMs = 0;
  let steps = 0;
  while (done < promptTokens) {
    const chunk = Math.min(o.maxNumBatchedTokens, promptTokens - done);
    ttftMs += model.stepMs({
      prefillTokens: chunk,
      prefillAttentionPairs: attentionPairs(chunk, done),
      decodeTokens: 0,
      decodeContext: 0,
      batchSize: 1,
    });
    done += chunk;
    steps++;
  }
  return { ttftMs, steps };
}

/** The latency model's curves for `profile`; pure. */
export function profileCurves(options: ProfileOptions): ProfileCurves {
  const model = resolveLatencyModel(options.latency);
  const usableBlocks = options.numGpuBlocks - 1;
  const blocksFor = (context: number) => Math.ceil(context / options.blockSize);

  const interTokenLatency: ItlPoint[] = [];
  for (const contextTokens of PROFILE_CONTEXTS) {
    for (const batchSize of PROFILE_BATCH_SIZES) {
      const fits =
        batchSize <= options.maxNumSeqs &&
        (!model.stepBased || batchSize <= options.maxNumBatchedTokens) &&
        batchSize * blocksFor(contextTokens) <= usableBlocks;
      interTokenLatency.push({ batchSize, contextTokens, itlMs: itlMs(model, batchSize, contextTokens, options.maxNumSeqs), fits });
    }
  }

  const timeToFirstToken: TtftPoint[] = [];
  for (const promptTokens of PROFILE_PROMPTS) {
    for (const cachedFraction of PROFILE_CACHED_FRACTIONS) {
      const cachedTokens = cachedTokensFor(promptTokens, cachedFraction, options.blockSize);
      const { ttftMs, steps } = timeToFirstTokenMs(model, promptTokens, cachedTokens, options);
      timeToFirstToken.push({ promptTokens, cachedFraction, cachedTokens, ttftMs, steps });
    }
  }

  const saturation: SaturationPoint[] = [];
  for (const contextTokens of PROFILE_CONTEXTS) {
    let batchSize = options.maxNumSeqs;
    let limitedBy: SaturationPoint['limitedBy'] = 'max-num-seqs';
    if (model.stepBased && options.maxNumBatchedTokens < batchSize) {
      batchSize = options.maxNumBatchedTokens;
      limitedBy = 'max-num-batched-tokens';
    }
    const byKv = Math.floor(usableBlocks / blocksFor(contextTokens));
    if (byKv < batchSize) {
      batchSize = byKv;
      limitedBy = 'kv-cache';
    }
    const itl = batchSize > 0 ? itlMs(model, batchSize, contextTokens, options.maxNumSeqs) : Infinity;
    saturation.push({ contextTokens, batchSize, limitedBy, itlMs: itl, tokensPerSecond: batchSize > 0 ? (batchSize * 1000) / itl : 0 });
  }

  return { model: model.kind, preset: model.preset.name, interTokenLatency, timeToFirstToken, saturation };
}
