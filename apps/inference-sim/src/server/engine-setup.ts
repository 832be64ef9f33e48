import { VllmBlockHasher } from '@llmd/kv-cache';
import { ConfigError } from '@llmd/cli';
import {
  derivedNumGpuBlocks,
  EngineOptionsError,
  getPreset,
  resolveLatencyModel,
  validateEngineOptions,
  type BlockHasher,
  type EngineOptions,
  type ModelPreset,
  type RequestTimingParams,
} from '../engine/index.js';
import type { SimOptions } from '../options.js';

/** What every server of one process shares: validated engine options and the block hasher. */
export interface EngineSetup {
  options: EngineOptions;
  hasher: BlockHasher;
  preset: ModelPreset;
}

/** Engine option paths and the flags users write for them, so errors name the flag. */
const FLAG_OF: Array<[RegExp, string]> = [
  [/^latency\.preset$/, '--preset'],
  [/^latency\.model$/, '--latency-calculator'],
  [/^latency\.linearCoefficientsUs/, '--linear-coefficients'],
  [/^latency\.timing\.timeToFirstTokenStdDevMs$/, '--time-to-first-token-std-dev'],
  [/^latency\.timing\.timeToFirstTokenMs$/, '--time-to-first-token'],
  [/^latency\.timing\.interTokenLatencyStdDevMs$/, '--inter-token-latency-std-dev'],
  [/^latency\.timing\.interTokenLatencyMs$/, '--inter-token-latency'],
  [/^latency\.timing\.prefillOverheadMs$/, '--prefill-overhead'],
  [/^latency\.timing\.prefillTimePerTokenMs$/, '--prefill-time-per-token'],
  [/^latency\.timing\.prefillTimeStdDevMs$/, '--prefill-time-std-dev'],
  [/^latency\.timing\.timeFactorUnderLoad$/, '--time-factor-under-load'],
  [/^kvTransfer\.kvCacheTransferLatencyStdDevMs$/, '--kv-cache-transfer-latency-std-dev'],
  [/^kvTransfer\.kvCacheTransferLatencyMs$/, '--kv-cache-transfer-latency'],
  [/^kvTransfer\.kvCacheTransferTimePerTokenMs$/, '--kv-cache-transfer-time-per-token'],
  [/^kvTransfer\.kvCacheTransferTimeStdDevMs$/, '--kv-cache-transfer-time-std-dev'],
  [/^kvTransfer\.bandwidthGBps$/, '--kv-transfer-bandwidth'],
  [/^gpuMemoryUtilization$/, '--gpu-memory-utilization'],
  [/^numGpuBlocks$/, '--kv-cache-size'],
  [/^blockSize$/, '--block-size'],
  [/^maxModelLen$/, '--max-model-len'],
];

function asConfigError(err: unknown): unknown {
  if (!(err instanceof EngineOptionsError)) return err;
  const flag = FLAG_OF.find(([re]) => re.test(err.option))?.[1] ?? err.option;
  return new ConfigError(flag, err.message.slice(err.option.length + 2), { cause: err });
}

/** Turns simulator options into engine options (preset defaults filled in) and a vLLM block hasher. */
export function buildEngineSetup(o: SimOptions): EngineSetup {
  try {
    const preset = getPreset(o.preset);
    const timing: Partial<RequestTimingParams> = {};
    const set = <K extends keyof RequestTimingParams>(key: K, value: number | null) => {
      if (value !== null) timing[key] = value;
    };
    set('timeToFirstTokenMs', o.timeToFirstTokenMs);
    set('timeToFirstTokenStdDevMs', o.timeToFirstTokenStdDevMs);
    set('interTokenLatencyMs', o.interTokenLatencyMs);
    set('interTokenLatencyStdDevMs', o.interTokenLatencyStdDevMs);
    set('prefillOverheadMs', o.prefillOverheadMs);
    set('prefillTimePerTokenMs', o.prefillTimePerTokenMs);
    set('prefillTimeStdDevMs', o.prefillTimeStdDevMs);
    set('timeFactorUnderLoad', o.timeFactorUnderLoad);
    const options: EngineOptions = {
      maxNumSeqs: o.maxNumSeqs,
      maxNumBatchedTokens: o.maxNumBatchedTokens,
      maxModelLen: o.maxModelLen ?? preset.model.maxModelLen,
      maxWaitingQueueLength: o.maxWaitingQueueLength,
      blockSize: o.blockSize,
      numGpuBlocks: o.kvCacheSize ?? derivedNumGpuBlocks(preset, o.blockSize, o.gpuMemoryUtilization),
      maxLoras: o.maxLoras,
      schedulingPolicy: o.schedulingPolicy,
      latency: { model: o.latencyCalculator, preset: preset.name, linearCoefficientsUs: o.linearCoefficientsUs, timing },
      kvTransfer: {
        kvCacheTransferLatencyMs: o.kvCacheTransferLatencyMs,
        kvCacheTransferTimePerTokenMs: o.kvCacheTransferTimePerTokenMs,
        bandwidthGBps: o.kvTransferBandwidthGBps,
        ...(o.kvCacheTransferLatencyStdDevMs !== null ? { kvCacheTransferLatencyStdDevMs: o.kvCacheTransferLatencyStdDevMs } : {}),
        ...(o.kvCacheTransferTimeStdDevMs !== null ? { kvCacheTransferTimeStdDevMs: o.kvCacheTransferTimeStdDevMs } : {}),
      },
    };
    validateEngineOptions(options);
    resolveLatencyModel(options.latency);
    return { options, hasher: new VllmBlockHasher({ seed: o.hashSeed, blockSize: o.blockSize }), preset };
  } catch (err) {
    throw asConfigError(err);
  }
}
