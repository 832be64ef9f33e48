import { EngineOptionsError } from './errors.js';
import { attentionFlopsPerPair, DEFAULT_PRESET, getPreset, kvBytesPerToken, type ModelPreset } from './presets.js';

/** Which latency model prices the engine's work. */
export type LatencyModelKind = 'roofline' | 'linear' | 'constant' | 'per-token';

/** Every latency model, default first. */
export const LATENCY_MODEL_KINDS: readonly LatencyModelKind[] = Object.freeze(['roofline', 'linear', 'constant', 'per-token']);

/** Numbers of the roofline step model; a preset provides them, options may override any. */
export interface RooflineParams {
  paramCount: number;
  /** Weight bytes read by every step (all GPUs). */
  weightBytes: number;
  kvBytesPerToken: number;
  /** FLOPs per (query, key) attention pair over all layers. */
  attentionFlopsPerPair: number;
  /** FLOP/s of the whole tensor-parallel group. */
  peakFlops: number;
  /** Bytes/s of the whole tensor-parallel group. */
  memoryBandwidth: number;
  mfuPrefill: number;
  mfuDecode: number;
  overheadMs: number;
  overheadPerSeqMs: number;
}

/** Upstream llm-d-inference-sim timing options of the `constant` and `per-token` calculators. */
export interface RequestTimingParams {
  /** `constant`: time to first token. */
  timeToFirstTokenMs: number;
  /** At most 30% of `timeToFirstTokenMs`. */
  timeToFirstTokenStdDevMs: number;
  /** `per-token`: fixed part of the prefill time. */
  prefillOverheadMs: number;
  /** `per-token`: time per uncached prompt token. */
  prefillTimePerTokenMs: number;
  /** Applied to the whole prefill time; not bounded up front because that time depends on the prompt. */
  prefillTimeStdDevMs: number;
  interTokenLatencyMs: number;
  /** At most 30% of `interTokenLatencyMs`. */
  interTokenLatencyStdDevMs: number;
  /** Latency multiplier when `maxNumSeqs` requests run (≥ 1); 1 with one running. */
  timeFactorUnderLoad: number;
}

/**
 * Defaults of the per-request calculators: upstream's "8B-class model on H100, balanced" profile
 * (llm-d-inference-sim docs/latency-profiles.md).
 */
export const DEFAULT_REQUEST_TIMING: Readonly<RequestTimingParams> = Object.freeze({
  timeToFirstTokenMs: 100,
  timeToFirstTokenStdDevMs: 20,
  prefillOverheadMs: 30,
  prefillTimePerTokenMs: 0.25,
  prefillTimeStdDevMs: 5,
  interTokenLatencyMs: 12,
  interTokenLatencyStdDevMs: 2,
  timeFactorUnderLoad: 2,
});

/** How the latency model is chosen and tuned. */
export interface LatencyModelOptions {
  model: LatencyModelKind;
  /** Model/GPU preset (default `llama-3.1-8b/h100`): roofline numbers, linear coefficients, KV bytes per token. */
  preset?: string;
  /** Overrides of the preset's roofline numbers. */
  roofline?: Partial<RooflineParams>;
  /** Overrides the preset's `[β0, β1, β2]` (µs) of the linear model. */
  linearCoefficientsUs?: readonly [number, number, number] | null;
  /** Timings of the `constant` / `per-token` calculators; missing fields take {@link DEFAULT_REQUEST_TIMING}. */
  timing?: Partial<RequestTimingParams>;
}

/** What one engine step computes, the input of the step models. */
export interface StepComposition {
  /** Tokens computed for requests still in prefill (uncached prompt chunks, recomputation after preemption). */
  prefillTokens: number;
  /** Σ over prefill chunks of causal (query, key) pairs, see {@link attentionPairs}; 0 when omitted. */
  prefillAttentionPairs?: number;
  /** Requests producing one token this step. */
  decodeTokens: number;
  /** Σ of those requests' context lengths (tokens whose KV they read, their new token included). */
  decodeContext: number;
  /** Requests in the step. */
  batchSize: number;
}

/** Causal attention pairs of a prefill chunk of `newTokens` after `cachedTokens` of context: n·c + n(n+1)/2. */
export function attentionPairs(newTokens: number, cachedTokens: number): number {
  return newTokens * cachedTokens + (newTokens * (newTokens + 1)) / 2;
}

/** Upstream's load factor: 1 with one request running, `timeFactorUnderLoad` at `maxNumSeqs`, linear between. */
export function loadFactor(timeFactorUnderLoad: number, running: number, maxNumSeqs: number): number {
  if (maxNumSeqs <= 1) return 1;
  const r = Math.min(Math.max(running, 1), maxNumSeqs);
  return 1 + ((timeFactorUnderLoad - 1) * (r - 1)) / (maxNumSeqs - 1);
}

/** A Gaussian sample clamped to ±70% of the mean, as upstream jitters durations; no draw when `stdDev` is 0. */
export function jitter(mean: number, stdDev: number, random: () => number): number {
  if (!(stdDev > 0) || !(mean > 0)) return mean;
  // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
  const u1 = 1 - random();
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  const v = mean + z * stdDev;
  return Math.min(Math.max(v, 0.3 * mean), 1.7 * mean);
}

/** A latency model resolved against its preset and validated; the engine holds one. */
export interface LatencyModel {
  readonly kind: LatencyModelKind;
  readonly preset: ModelPreset;
  /** True for roofline and linear (priced per step); false for the per-request calculators. */
  readonly stepBased: boolean;
  readonly roofline: Readonly<RooflineParams>;
  readonly linearCoefficientsUs: readonly [number, number, number];
  readonly timing: Readonly<RequestTimingParams>;
  /** Duration of a step (step-based models only). */
  stepMs(c: StepComposition): number;
  /** Mean time to first token of a request admitted with `running` requests in the batch (per-request models). */
  meanTimeToFirstTokenMs(uncachedTokens: number, running: number, maxNumSeqs: number): number;
  /** Mean inter-token latency with `running` requests in the batch (per-request models). */
  meanInterTokenLatencyMs(running: number, maxNumSeqs: number): number;
  /** A jittered time to first token. */
  sampleTimeToFirstTokenMs(uncachedTokens: number, running: number, maxNumSeqs: number, random: () => number): number;
  /** A jittered inter-token latency. */
  sampleInterTokenLatencyMs(running: number, maxNumSeqs: number, random: () => number): number;
}

const ROOFLINE_KEYS: readonly (keyof RooflineParams)[] = [
  'paramCount',
  'weightBytes',
  'kvBytesPerToken',
  'attentionFlopsPerPair',
  'peakFlops',
  'memoryBandwidth',
  'mfuPrefill',
  'mfuDecode',
  'overheadMs',
  'overheadPerSeqMs',
];

const TIMING_FLAGS: Record<keyof RequestTimingParams, string> = {
  timeToFirstTokenMs: 'time-to-first-token',
  timeToFirstTokenStdDevMs: 'time-to-first-token-std-dev',
  prefillOverheadMs: 'prefill-overhead',
  prefillTimePerTokenMs: 'prefill-time-per-token',
  prefillTimeStdDevMs: 'prefill-time-std-dev',
  interTokenLatencyMs: 'inter-token-latency',
  interTokenLatencyStdDevMs: 'inter-token-latency-std-dev',
  timeFactorUnderLoad: 'time-factor-under-load',
};

/** Throws unless `value` is a finite number ≥ `min`. */
export function requireNumber(option: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new EngineOptionsError(option, `must be a finite number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `stdDev` is at most 30% of `mean`, upstream's bound on jitter. */
export function requireStdDevBound(option: string, stdDev: number, mean: number, names: { stdDev: string; mean: string }): void {
  if (stdDev > 0.3 * mean * (1 + 1e-12)) {
    throw new EngineOptionsError(option, `${names.stdDev} (${stdDev} ms) must be at most 30% of ${names.mean} (${mean} ms)`);
  }
}

/** The roofline numbers a preset implies: its GPU times the tensor-parallel size. */
export function presetRoofline(preset: ModelPreset): RooflineParams {
  const tp = preset.tensorParallelSize;
  return {
    paramCount: preset.model.paramCount,
    weightBytes: preset.model.weightBytes,
    kvBytesPerToken: kvBytesPerToken(preset),
    attentionFlopsPerPair: attentionFlopsPerPair(preset),
    peakFlops: preset.gpu.peakFlops * tp,
    memoryBandwidth: preset.gpu.memoryBandwidth * tp,
    mfuPrefill: preset.mfuPrefill,
    mfuDecode: preset.mfuDecode,
    overheadMs: preset.overheadMs,
    overheadPerSeqMs: preset.overheadPerSeqMs,
  };
}

/** Resolves and validates latency options; throws an {@link EngineOptionsError} naming the bad option. */
export function resolveLatencyModel(options: LatencyModelOptions): LatencyModel {
  const kind = options.model;
  if (!LATENCY_MODEL_KINDS.includes(kind)) {
    throw new EngineOptionsError('latency.model', `unknown latency model "${String(kind)}" (known: ${LATENCY_MODEL_KINDS.join(', ')})`);
  }
  const preset = getPreset(options.preset ?? DEFAULT_PRESET);

  const roofline = presetRoofline(preset);
  for (const key of ROOFLINE_KEYS) {
    const v = options.roofline?.[key];
    if (v !== undefined) roofline[key] = requireNumber(`latency.roofline.${key}`, v);
  }
  for (const key of ['peakFlops', 'memoryBandwidth', 'mfuPrefill', 'mfuDecode'] as const) {
    if (!(roofline[key] > 0)) throw new EngineOptionsError(`latency.roofline.${key}`, 'must be > 0');
  }
  for (const key of ['mfuPrefill', 'mfuDecode'] as const) {
    if (roofline[key] > 1) throw new EngineOptionsError(`latency.roofline.${key}`, `must be at most 1, got ${roofline[key]}`);
  }

  const linearIn = options.linearCoefficientsUs ?? preset.linearCoefficientsUs;
  if (linearIn.length !== 3) throw new EngineOptionsError('latency.linearCoefficientsUs', 'expected [β0, β1, β2]');
  const linear = Object.freeze(linearIn.map((b, i) => requireNumber(`latency.linearCoefficientsUs[${i}]`, b))) as unknown as readonly [
    number,
    number,
    number,
  ];

  const timing: RequestTimingParams = { ...DEFAULT_REQUEST_TIMING };
  for (const key of Object.keys(TIMING_FLAGS) as (keyof RequestTimingParams)[]) {
    const v = options.timing?.[key];
    if (v !== undefined) timing[key] = requireNumber(`latency.timing.${key}`, v);
  }
  requireNumber('latency.timing.timeFactorUnderLoad', timing.timeFactorUnderLoad, 1);
  requireStdDevBound('latency.timing.timeToFirstTokenStdDevMs', timing.timeToFirstTokenStdDevMs, timing.timeToFirstTokenMs, {
    stdDev: TIMING_FLAGS.timeToFirstTokenStdDevMs,
    mean: TIMING_FLAGS.timeToFirstTokenMs,
  });
  requireStdDevBound('latency.timing.interTokenLatencyStdDevMs', timing.interTokenLatencyStdDevMs, timing.interTokenLatencyMs, {
    stdDev: TIMING_FLAGS.interTokenLatencyStdDevMs,
    mean: TIMING_FLAGS.interTokenLatencyMs,
  });

  return buildModel(kind, preset, Object.freeze(roofline), linear, Object.freeze(timing));
}

function buildModel(
  kind: LatencyModelKind,
  preset: ModelPreset,
  r: Readonly<RooflineParams>,
  linear: readonly [number, number, number],
  t: Readonly<RequestTimingParams>,
): LatencyModel {
  const stepBased = kind === 'roofline' || kind === 'linear';
  // Hoisted so the per-step path is a handful of multiplications.
  const prefillFlopRate = r.peakFlops * r.mfuPrefill;
  const decodeFlopRate = r.peakFlops * r.mfuDecode;
  const [b0, b1, b2] = linear;

  const rooflineStep = (c: StepComposition): number => {
    const pairs = c.prefillAttentionPairs ?? 0;
    const prefillFlops = 2 * r.paramCount * c.prefillTokens + r.attentionFlopsPerPair * pairs;
    const decodeFlops = 2 * r.paramCount * c.decodeTokens + r.attentionFlopsPerPair * c.decodeContext;
    const computeMs = (prefillFlops / prefillFlopRate + decodeFlops / decodeFlopRate) * 1e3;
    const memoryMs = ((r.weightBytes + c.decodeContext * r.kvBytesPerToken) / r.memoryBandwidth) * 1e3;
    return r.overheadMs + r.overheadPerSeqMs * c.batchSize + Math.max(computeMs, memoryMs);
  };
  const linearStep = (c: StepComposition): number => (b0 + b1 * c.prefillTokens + b2 * c.decodeTokens) / 1e3;

  const meanTtft = (uncached: number, running: number, maxNumSeqs: number): number => {
    const load = loadFactor(t.timeFactorUnderLoad, running, maxNumSeqs);
    return kind === 'constant' ? t.timeToFirstTokenMs * load : (t.prefillOverheadMs + uncached * t.prefillTimePerTokenMs) * load;
  };
  const meanItl = (running: number, maxNumSeqs: number): number =>
    t.interTokenLatencyMs * loadFactor(t.timeFactorUnderLoad, running, maxNumSeqs);

  return Object.freeze({
    kind,
    preset,
    stepBased,
    roofline: r,
    linearCoefficientsUs: linear,
    timing: t,
    stepMs:
      kind === 'roofline'
        ? rooflineStep
        : kind === 'linear'
          ? linearStep
          : () => {
              throw new RangeError(`the ${kind} calculator times requests, not steps; use meanTimeToFirstTokenMs / meanInterTokenLatencyMs`);
            },
    meanTimeToFirstTokenMs: meanTtft,
    meanInterTokenLatencyMs: meanItl,
    sampleTimeToFirstTokenMs: (uncached: number, running: number, maxNumSeqs: number, random: () => number) =>
      jitter(
        meanTtft(uncached, running, maxNumSeqs),
        kind === 'constant' ? t.timeToFirstTokenStdDevMs : t.prefillTimeStdDevMs,
        random,
      ),
    sampleInterTokenLatencyMs: (running: number, maxNumSeqs: number, random: () => number) =>
      jitter(meanItl(running, maxNumSeqs), t.interTokenLatencyStdDevMs, random),
  });
}

const resolved = new WeakMap<LatencyModelOptions, LatencyModel>();

/**
 * What a step of this composition costs under a step-based latency model, in ms. Pure; resolved
 * models are cached per options object, so a benchmark can call it in a loop.
 */
export function stepDurationMs(composition: StepComposition, latency: LatencyModelOptions | LatencyModel): number {
  let model: LatencyModel | undefined;
  if ('stepMs' in latency) model = latency;
  else {
    model = resolved.get(latency);
    if (!model) {
      model = resolveLatencyModel(latency);
      resolved.set(latency, model);
    }
  }
  return model.stepMs(composition);
}
