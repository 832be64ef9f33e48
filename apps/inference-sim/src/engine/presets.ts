import { EngineOptionsError } from './errors.js';

const GiB = 1024 ** 3;

/** An accelerator as the roofline sees it: dense BF16 FLOP/s, HBM bandwidth and capacity. */
export interface GpuSpec {
  readonly name: string;
  /** Dense BF16 FLOP/s. */
  readonly peakFlops: number;
  /** HBM bytes per second. */
  readonly memoryBandwidth: number;
  /** Device memory as the framework sees it, bytes. */
  readonly memoryBytes: number;
}

/** NVIDIA H100 SXM 80 GB: BLIS `hardware_config.json` numbers, 79.2 GiB visible to PyTorch. */
export const H100_SXM: GpuSpec = Object.freeze({
  name: 'H100 SXM 80GB',
  peakFlops: 989.5e12,
  memoryBandwidth: 3.35e12,
  memoryBytes: 79.2 * GiB,
});

/** What the latency and capacity models need to know about a model. */
export interface ModelArchitecture {
  readonly huggingFaceId: string;
  /** Total parameters; compute is `2 × paramCount` FLOPs per token. */
  readonly paramCount: number;
  /** BF16 weight bytes across all GPUs. */
  readonly weightBytes: number;
  readonly layers: number;
  readonly attentionHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Bytes per KV element (2 for BF16). */
  readonly kvDtypeBytes: number;
  /** Context length from the model config: the default `maxModelLen`. */
  readonly maxModelLen: number;
}

/** A model on a GPU configuration, with every number the engine derives its defaults from. */
export interface ModelPreset {
  /** `<model>/<gpu>[-tp<N>]`, the value of `--preset`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Where the numbers come from. */
  readonly sources: readonly string[];
  readonly model: ModelArchitecture;
  readonly gpu: GpuSpec;
  readonly tensorParallelSize: number;
  /** Fraction of peak FLOP/s reached by prefill and by decode matmuls. */
  readonly mfuPrefill: number;
  readonly mfuDecode: number;
  /** Fixed cost of one step (launches, scheduler, sampler; TP all-reduce latency for TP > 1), ms. */
  readonly overheadMs: number;
  /** Extra cost per request in the batch (input preparation, output processing), ms. */
  readonly overheadPerSeqMs: number;
  /** `[β0, β1, β2]` of the linear model in µs: step = β0 + β1·prefill tokens + β2·decode tokens. */
  readonly linearCoefficientsUs: readonly [number, number, number];
  /** Where the linear coefficients come from. */
  readonly linearCoefficientsSource: string;
  /** Peak activation memory of the profiling run, per GPU (BLIS: 5.5 GiB for dense models). */
  readonly activationBytesPerGpu: number;
  /** CUDA context and other memory outside PyTorch, per GPU (BLIS: 0.15 GiB at TP1, 0.6 GiB at TP > 1). */
  readonly nonTorchBytesPerGpu: number;
}

/** KV bytes one token occupies across all GPUs: `2 × layers × kvHeads × headDim × dtype bytes`. */
export function kvBytesPerToken(preset: ModelPreset): number {
  const m = preset.model;
  return 2 * m.layers * m.kvHeads * m.headDim * m.kvDtypeBytes;
}

/** FLOPs per (query, key) pair of attention over all layers: QKᵀ and AV, two FLOPs per multiply-add each. */
export function attentionFlopsPerPair(preset: ModelPreset): number {
  const m = preset.model;
  return 4 * m.layers * m.attentionHeads * m.headDim;
}

type PresetInput = Omit<ModelPreset, 'linearCoefficientsUs' | 'linearCoefficientsSource'> &
  Partial<Pick<ModelPreset, 'linearCoefficientsUs' | 'linearCoefficientsSource'>>;

// Without a published fit, the linear model is read off the roofline: the fixed part of a decode
// step, the compute cost of a prefill token, and the memory cost of one more 1k-token decode.
function withLinear(p: PresetInput): ModelPreset {
  if (p.linearCoefficientsUs && p.linearCoefficientsSource) return Object.freeze(p as ModelPreset);
  const tp = p.tensorParallelSize;
  const flops = p.gpu.peakFlops * tp;
  const bandwidth = p.gpu.memoryBandwidth * tp;
  const kv = 2 * p.model.layers * p.model.kvHeads * p.model.headDim * p.model.kvDtypeBytes;
  const beta0 = (p.overheadMs + (p.model.weightBytes / bandwidth) * 1e3) * 1e3;
  const beta1 = ((2 * p.model.paramCount) / (flops * p.mfuPrefill)) * 1e6;
  const beta2 = ((kv * 1024) / bandwidth) * 1e6 + p.overheadPerSeqMs * 1e3;
  const round = (x: number) => Math.round(x * 100) / 100;
  return Object.freeze({
    ...p,
    linearCoefficientsUs: [round(beta0), round(beta1), round(beta2)] as const,
    linearCoefficientsSource: 'derived from this preset’s roofline (no published fit)',
  });
}

const ROOFLINE_SOURCE =
  'BLIS hardware_config.json (inference-sim/inference-sim): H100 989.5 TFLOPS BF16, 3.35 TB/s, MFU prefill 0.45 / decode 0.30';
const CAPACITY_SOURCE =
  'BLIS sim/latency/kv_capacity.go: memory × utilization − weights − 5.5 GiB activation − 0.15 GiB (TP1) / 0.6 GiB (TP>1) non-torch';
const OVERHEAD_SOURCE =
  'step overhead 1.2 ms + 4.4 µs/request: between the BLIS blackbox fit (5.76 ms at batch 1) and vLLM CI ' +
  '(≈6.5 ms/step, batch 8); per-request term from BLIS trained-physics β6';

const PRESET_LIST: readonly ModelPreset[] = [
  withLinear({
    name: 'llama-3.1-8b/h100',
    description: 'Llama-3.1-8B-Instruct, BF16, one H100 SXM (default): ~6 ms decode steps at small batch',
    sources: [
      'config.json: 32 layers, 32 heads, 8 KV heads, head_dim 128 → 128 KiB KV/token (engine-model.md §3.1)',
      'weights 16.06 GB (vLLM logs “Loading model weights took 14.9888 GB”, vllm-project/vllm#10517)',
      ROOFLINE_SOURCE,
      OVERHEAD_SOURCE,
      CAPACITY_SOURCE,
      'linear β = [5752.7, 17.25, 6.00] µs: BLIS blackbox fit, H100 TP1, vLLM v0.8.4 (defaults.yaml@517fe652)',
    ],
    model: {
      huggingFaceId: 'meta-llama/Llama-3.1-8B-Instruct',
      paramCount: 8.03e9,
      weightBytes: 16.06e9,
      layers: 32,
      attentionHeads: 32,
      kvHeads: 8,
      headDim: 128,
      kvDtypeBytes: 2,
      maxModelLen: 131072,
    },
    gpu: H100_SXM,
    tensorParallelSize: 1,
    mfuPrefill: 0.45,
    mfuDecode: 0.3,
    overheadMs: 1.2,
    overheadPerSeqMs: 0.0044,
    linearCoefficientsUs: [5752.7, 17.25, 6.0],
    linearCoefficientsSource: 'BLIS blackbox fit, llama-3.1-8b-instruct, H100 TP1, vLLM v0.8.4',
    activationBytesPerGpu: 5.5 * GiB,
    nonTorchBytesPerGpu: 0.15 * GiB,
  }),
  withLinear({
    name: 'qwen3-0.6b/h100',
    description: 'Qwen3-0.6B, BF16, one H100 SXM: overhead-bound ~1.6 ms decode steps, ~600k-token KV cache',
    sources: [
      'config.json: 28 layers, 16 heads, 8 KV heads, head_dim 128 → 112 KiB KV/token (engine-model.md §3.1)',
      'weights 0.6 B params × 2 bytes',
      ROOFLINE_SOURCE,
      OVERHEAD_SOURCE,
      CAPACITY_SOURCE,
    ],
    model: {
      huggingFaceId: 'Qwen/Qwen3-0.6B',
      paramCount: 0.6e9,
      weightBytes: 1.2e9,
      layers: 28,
      attentionHeads: 16,
      kvHeads: 8,
      headDim: 128,
      kvDtypeBytes: 2,
      maxModelLen: 40960,
    },
    gpu: H100_SXM,
    tensorParallelSize: 1,
    mfuPrefill: 0.45,
    mfuDecode: 0.3,
    overheadMs: 1.2,
    overheadPerSeqMs: 0.0044,
    activationBytesPerGpu: 5.5 * GiB,
    nonTorchBytesPerGpu: 0.15 * GiB,
  }),
  withLinear({
    name: 'qwen3-8b/h100',
    description: 'Qwen3-8B, BF16, one H100 SXM: ~6 ms decode steps at small batch, 144 KiB KV per token',
    sources: [
      'config.json: 36 layers, 32 heads, 8 KV heads, head_dim 128 → 144 KiB KV/token (engine-model.md §3.1)',
      'weights 15.3 GiB, 8.19 B params (engine-model.md §3.2)',
      ROOFLINE_SOURCE,
      OVERHEAD_SOURCE,
      CAPACITY_SOURCE,
    ],
    model: {
      huggingFaceId: 'Qwen/Qwen3-8B',
      paramCount: 8.19e9,
      weightBytes: 15.3 * GiB,
      layers: 36,
      attentionHeads: 32,
      kvHeads: 8,
      headDim: 128,
      kvDtypeBytes: 2,
      maxModelLen: 40960,
    },
    gpu: H100_SXM,
    tensorParallelSize: 1,
    mfuPrefill: 0.45,
    mfuDecode: 0.3,
    overheadMs: 1.2,
    overheadPerSeqMs: 0.0044,
    activationBytesPerGpu: 5.5 * GiB,
    nonTorchBytesPerGpu: 0.15 * GiB,
  }),
  withLinear({
    name: 'qwen3-32b/h100-tp2',
    description: 'Qwen3-32B, BF16, two H100 SXM with tensor parallelism: ~12 ms decode steps',
    sources: [
      'config.json: 64 layers, 64 heads, 8 KV heads, head_dim 128 → 256 KiB KV/token, 128 KiB per GPU at TP2 (engine-model.md §3.1)',
      'weights 30.5 GiB per GPU, 32.8 B params (engine-model.md §3.2)',
      ROOFLINE_SOURCE,
      'TP2 doubles FLOP/s and bandwidth; overhead 2.5 ms = 1.2 ms step + ~1.3 ms for 128 all-reduces per step (assumed ~10 µs each)',
      CAPACITY_SOURCE,
    ],
    model: {
      huggingFaceId: 'Qwen/Qwen3-32B',
      paramCount: 32.8e9,
      weightBytes: 61 * GiB,
      layers: 64,
      attentionHeads: 64,
      kvHeads: 8,
      headDim: 128,
      kvDtypeBytes: 2,
      maxModelLen: 40960,
    },
    gpu: H100_SXM,
    tensorParallelSize: 2,
    mfuPrefill: 0.45,
    mfuDecode: 0.3,
    overheadMs: 2.5,
    overheadPerSeqMs: 0.0044,
    activationBytesPerGpu: 5.5 * GiB,
    nonTorchBytesPerGpu: 0.6 * GiB,
  }),
];

/** Every preset, in `--help` order; the first is the default. */
export const PRESETS: readonly ModelPreset[] = Object.freeze(PRESET_LIST);

/** The preset used when none is named. */
export const DEFAULT_PRESET = 'llama-3.1-8b/h100';

/** Looks a preset up by name; throws an {@link EngineOptionsError} listing the known ones. */
export function getPreset(name: string): ModelPreset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new EngineOptionsError('latency.preset', `unknown preset "${name}" (known: ${PRESETS.map((p) => p.name).join(', ')})`);
  }
  return preset;
}

/**
 * vLLM's KV capacity for a preset, in blocks including the null block: what is left of
 * `memory × gpuMemoryUtilization` on each GPU after weights, activations and non-torch memory,
 * divided by the bytes of one block.
 */
export function derivedNumGpuBlocks(preset: ModelPreset | string, blockSize: number, gpuMemoryUtilization: number): number {
  const p = typeof preset === 'string' ? getPreset(preset) : preset;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new EngineOptionsError('blockSize', `must be a positive integer, got ${blockSize}`);
  if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
    throw new EngineOptionsError('gpuMemoryUtilization', `must be in (0, 1], got ${gpuMemoryUtilization}`);
  }
  const tp = p.tensorParallelSize;
  const perGpu = p.gpu.memoryBytes * gpuMemoryUtilization - p.model.weightBytes / tp - p.activationBytesPerGpu - p.nonTorchBytesPerGpu;
  const blocks = Math.floor((perGpu * tp) / (blockSize * kvBytesPerToken(p)));
  if (blocks < 2) {
    throw new EngineOptionsError('gpuMemoryUtilization', `${gpuMemoryUtilization} leaves no room for a KV cache with preset ${p.name}`);
  }
  return blocks;
}
