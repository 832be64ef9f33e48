import { EngineOptionsError } from './errors.js';
import { jitter, requireNumber, requireStdDevBound, type LatencyModelOptions } from './latency.js';
import { DEFAULT_PRESET, derivedNumGpuBlocks, getPreset } from './presets.js';

/**
 * P/D KV-transfer time. Precedence: a constant latency if set, else prompt tokens × time per token
 * if set, else prompt tokens × KV bytes per token ÷ bandwidth.
 */
export interface KvTransferOptions {
  /** Constant transfer time (upstream `kv-cache-transfer-latency`). */
  kvCacheTransferLatencyMs?: number | null;
  /** At most 30% of the constant latency. */
  kvCacheTransferLatencyStdDevMs?: number;
  /** Transfer time per prompt token (upstream `kv-cache-transfer-time-per-token`). */
  kvCacheTransferTimePerTokenMs?: number | null;
  /** Jitter of a per-token or bandwidth-derived transfer time; applied to the total, like upstream. */
  kvCacheTransferTimeStdDevMs?: number;
  /** Effective link bandwidth in GB/s when no time is given; default {@link DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS}. */
  bandwidthGBps?: number | null;
}

/**
 * Default effective KV-transfer bandwidth: InfiniBand NDR 400G at ~80% of link rate, the link of
 * upstream's 8B/H100 profile (3 µs per 128 KiB token) — between RoCE 200G and Dynamo's 64 GB/s.
 */
export const DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS = 40;

/** Everything that shapes one simulated vLLM engine. */
export interface EngineOptions {
  /** Most requests in the running batch (vLLM `--max-num-seqs`). */
  maxNumSeqs: number;
  /** Token budget of one step (vLLM `--max-num-batched-tokens`); unused by the per-request calculators. */
  maxNumBatchedTokens: number;
  /** Longest prompt + output accepted. */
  maxModelLen: number;
  /** Waiting requests beyond which submissions get `queue_full`. */
  maxWaitingQueueLength: number;
  /** Tokens per KV block. */
  blockSize: number;
  /** KV blocks including vLLM's null block (usable: one less). */
  numGpuBlocks: number;
  /** Distinct LoRA adapters that may run at once. */
  maxLoras: number;
  schedulingPolicy: 'fcfs' | 'priority';
  latency: LatencyModelOptions;
  kvTransfer: KvTransferOptions;
  /** How far the virtual timeline may trail the real clock before it is resynced (default 100 ms). */
  maxLagMs?: number;
}

/** Default for {@link EngineOptions.maxLagMs}. */
export const DEFAULT_MAX_LAG_MS = 100;

/**
 * vLLM's defaults on an H100 OpenAI server for a preset: 8192 batched tokens, 1024 sequences, block
 * size 16, KV capacity derived at 0.9 memory utilization, the preset's context length, FCFS, one
 * LoRA slot, upstream's 1000-request waiting queue, roofline timing.
 */
export function defaultEngineOptions(preset: string = DEFAULT_PRESET): EngineOptions {
  const p = getPreset(preset);
  return {
    maxNumSeqs: 1024,
    maxNumBatchedTokens: 8192,
    maxModelLen: p.model.maxModelLen,
    maxWaitingQueueLength: 1000,
    blockSize: 16,
    numGpuBlocks: derivedNumGpuBlocks(p, 16, 0.9),
    maxLoras: 1,
    schedulingPolicy: 'fcfs',
    latency: { model: 'roofline', preset: p.name },
    kvTransfer: {},
  };
}

function requireInt(option: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new EngineOptionsError(option, `must be an integer ≥ ${min}, got ${String(value)}`);
  }
}

/** Checks the scheduler and transfer options (the latency model validates its own). */
export function validateEngineOptions(o: EngineOptions): void {
  requireInt('maxNumSeqs', o.maxNumSeqs, 1);
  requireInt('maxNumBatchedTokens', o.maxNumBatchedTokens, 1);
  requireInt('maxModelLen', o.maxModelLen, 1);
  requireInt('maxWaitingQueueLength', o.maxWaitingQueueLength, 0);
  requireInt('blockSize', o.blockSize, 1);
  requireInt('numGpuBlocks', o.numGpuBlocks, 2);
  requireInt('maxLoras', o.maxLoras, 1);
  if (o.schedulingPolicy !== 'fcfs' && o.schedulingPolicy !== 'priority') {
    throw new EngineOptionsError('schedulingPolicy', `must be "fcfs" or "priority", got "${String(o.schedulingPolicy)}"`);
  }
  if (o.maxLagMs !== undefined) requireNumber('maxLagMs', o.maxLagMs);
  const t = o.kvTransfer;
  if (t.kvCacheTransferLatencyMs != null) requireNumber('kvTransfer.kvCacheTransferLatencyMs', t.kvCacheTransferLatencyMs);
  if (t.kvCacheTransferTimePerTokenMs != null) requireNumber('kvTransfer.kvCacheTransferTimePerTokenMs', t.kvCacheTransferTimePerTokenMs);
  if (t.kvCacheTransferTimeStdDevMs !== undefined) requireNumber('kvTransfer.kvCacheTransferTimeStdDevMs', t.kvCacheTransferTimeStdDevMs);
  if (t.bandwidthGBps != null) {
    requireNumber('kvTransfer.bandwidthGBps', t.bandwidthGBps);
    if (!(t.bandwidthGBps > 0)) throw new EngineOptionsError('kvTransfer.bandwidthGBps', 'must be > 0');
  }
  if (t.kvCacheTransferLatencyStdDevMs !== undefined) {
    requireNumber('kvTransfer.kvCacheTransferLatencyStdDevMs', t.kvCacheTransferLatencyStdDevMs);
    requireStdDevBound('kvTransfer.kvCacheTransferLatencyStdDevMs', t.kvCacheTransferLatencyStdDevMs, t.kvCacheTransferLatencyMs ?? 0, {
      stdDev: 'kv-cache-transfer-latency-std-dev',
      mean: 'kv-cache-transfer-latency',
    });
  }
}

/** Mean KV-transfer time of a prompt, by the precedence of {@link KvTransferOptions}. */
export function meanKvTransferMs(promptTokens: number, t: KvTransferOptions, kvBytesPerToken: number): number {
  if (t.kvCacheTransferLatencyMs != null) return t.kvCacheTransferLatencyMs;
  if (t.kvCacheTransferTimePerTokenMs != null) return promptTokens * t.kvCacheTransferTimePerTokenMs;
  const bandwidth = (t.bandwidthGBps ?? DEFAULT_KV_TRANSFER_BANDWIDTH_GBPS) * 1e9;
  return ((promptTokens * kvBytesPerToken) / bandwidth) * 1e3;
}

/** A jittered KV-transfer time; never scaled by load (the link, not the GPU, sets it). */
export function sampleKvTransferMs(promptTokens: number, t: KvTransferOptions, kvBytesPerToken: number, random: () => number): number {
  const mean = meanKvTransferMs(promptTokens, t, kvBytesPerToken);
  const stdDev = t.kvCacheTransferLatencyMs != null ? (t.kvCacheTransferLatencyStdDevMs ?? 0) : (t.kvCacheTransferTimeStdDevMs ?? 0);
  return jitter(mean, stdDev, random);
}
