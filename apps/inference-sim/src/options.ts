import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';

/** Response text the simulator generates: `echo` repeats the prompt, `random` draws built-in sentences. */
export type ResponseMode = 'echo' | 'random';
/** The failure kinds `--failure-types` accepts, with llm-d-inference-sim's names. */
export const FAILURE_TYPES = ['rate_limit', 'invalid_api_key', 'context_length', 'server_error', 'invalid_request', 'model_not_found'] as const;
/** One of {@link FAILURE_TYPES}. */
export type FailureType = (typeof FAILURE_TYPES)[number];
/** Step-time or per-request latency model. `''` is upstream's legacy choice (per-token if prefill timings are set, else constant). */
export const LATENCY_CALCULATORS = ['roofline', 'linear', 'constant', 'per-token', ''] as const;

const duration = (key: string) => z.union([z.number(), z.string()]).transform((v) => parseDurationMs(v, key));
const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const numFrom = (min: number, max = Number.POSITIVE_INFINITY) => z.coerce.number().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const list = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : v.split(/[\s,]+/)).filter(Boolean));

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  help: string;
  env?: string;
}

/**
 * Every flag of the simulator: name (kebab-case, as llm-d-inference-sim and vLLM spell it), how it takes
 * values, its schema and one line of help. Config-file keys are the same names.
 */
const FLAGS = {
  model: { arity: 'single', schema: z.string().min(1), help: 'Base model name served (required), e.g. meta-llama/Llama-3.1-8B-Instruct.', env: 'SIM_MODEL' },
  'served-model-name': { arity: 'list', schema: list, help: 'Names the model is served under (default: --model). The first is reported in metrics.' },
  host: { arity: 'single', schema: z.string().min(1), help: 'Address to listen on (default 0.0.0.0).' },
  port: { arity: 'single', schema: intFrom(0, 65535), help: 'HTTP port (default 8000; 0 picks a free port). Data-parallel ranks use port+rank.' },
  mode: { arity: 'single', schema: z.enum(['echo', 'random']), help: 'Response text: echo (repeat the prompt) or random (built-in sentences, default).' },
  seed: { arity: 'single', schema: intFrom(0), help: 'Seed for random responses, lengths, jitter and failure injection (default: time-based).' },
  'max-num-seqs': { arity: 'single', schema: intFrom(1), help: 'Most requests running at once (default 1024, vLLM on an H100).' },
  'max-num-batched-tokens': { arity: 'single', schema: intFrom(1), help: 'Token budget of one engine step (default 8192, vLLM on an H100).' },
  'max-model-len': { arity: 'single', schema: intFrom(1), help: "Longest prompt + output in tokens (default: the preset's context length)." },
  'max-waiting-queue-length': { arity: 'single', schema: intFrom(0), help: 'Waiting-queue capacity; a request beyond it gets 429 (default 1000).' },
  'scheduling-policy': { arity: 'single', schema: z.enum(['fcfs', 'priority']), help: 'Waiting-queue order: fcfs (default) or priority (lower `priority` first).' },
  preset: { arity: 'single', schema: z.string().min(1), help: 'Model/GPU preset of the latency model and KV capacity (default llama-3.1-8b/h100; see `profile --list-presets`).' },
  'latency-calculator': { arity: 'single', schema: z.enum(LATENCY_CALCULATORS), help: 'roofline (default), linear, constant or per-token.' },
  'linear-coefficients': { arity: 'single', schema: z.string(), help: 'β0,β1,β2 in µs for the linear model: β0 + β1·prefill tokens + β2·decode tokens.' },
  'time-to-first-token': { arity: 'single', schema: duration('--time-to-first-token'), help: 'constant calculator: time to first token (ms or duration).' },
  'time-to-first-token-std-dev': { arity: 'single', schema: duration('--time-to-first-token-std-dev'), help: 'Standard deviation of the time to first token (≤ 30% of it).' },
  'inter-token-latency': { arity: 'single', schema: duration('--inter-token-latency'), help: 'constant/per-token calculators: time between output tokens.' },
  'inter-token-latency-std-dev': { arity: 'single', schema: duration('--inter-token-latency-std-dev'), help: 'Standard deviation of the inter-token latency (≤ 30% of it).' },
  'prefill-overhead': { arity: 'single', schema: duration('--prefill-overhead'), help: 'per-token calculator: fixed prefill cost.' },
  'prefill-time-per-token': { arity: 'single', schema: duration('--prefill-time-per-token'), help: 'per-token calculator: prefill cost per uncached prompt token.' },
  'prefill-time-std-dev': { arity: 'single', schema: duration('--prefill-time-std-dev'), help: 'Standard deviation of the prefill time (≤ 30% of it).' },
  'kv-cache-transfer-latency': { arity: 'single', schema: duration('--kv-cache-transfer-latency'), help: 'P/D decode leg: constant KV transfer time.' },
  'kv-cache-transfer-latency-std-dev': { arity: 'single', schema: duration('--kv-cache-transfer-latency-std-dev'), help: 'Standard deviation of the KV transfer time.' },
  'kv-cache-transfer-time-per-token': { arity: 'single', schema: duration('--kv-cache-transfer-time-per-token'), help: 'P/D decode leg: KV transfer time per prompt token.' },
  'kv-cache-transfer-time-std-dev': { arity: 'single', schema: duration('--kv-cache-transfer-time-std-dev'), help: 'Standard deviation of the per-token KV transfer time.' },
  'kv-transfer-bandwidth': { arity: 'single', schema: numFrom(0.001), help: 'P/D: effective KV transfer bandwidth in GB/s when no transfer time is given.' },
  'time-factor-under-load': { arity: 'single', schema: numFrom(1), help: 'constant/per-token calculators: latency multiplier at max-num-seqs running (≥ 1).' },
  'enable-kvcache': { arity: 'boolean', schema: bool, help: 'Publish KV-cache events over ZMQ (the prefix cache itself is always simulated).' },
  'kv-cache-size': { arity: 'single', schema: intFrom(2), help: "KV-cache capacity in blocks (default: derived from the preset's GPU memory)." },
  'gpu-memory-utilization': { arity: 'single', schema: numFrom(0.05, 1), help: 'Share of GPU memory vLLM may use, for the derived KV capacity (default 0.9).' },
  'block-size': { arity: 'single', schema: intFrom(1, 1024), help: 'Tokens per KV block (default 16).' },
  'hash-seed': { arity: 'single', schema: z.string(), help: 'PYTHONHASHSEED of the block hashes (default: $PYTHONHASHSEED; unset = random per process, as vLLM).', env: 'PYTHONHASHSEED' },
  'zmq-endpoint': { arity: 'single', schema: z.string().min(1), help: 'ZMQ endpoint of the KV-event PUB socket (default tcp://localhost:5557; binds if it has * or ::, else connects).' },
  'kv-events-topic': { arity: 'single', schema: z.string(), help: 'Topic of KV-event messages (default kv@<POD_IP or host>:<port>@<model>).' },
  'event-batch-size': { arity: 'single', schema: intFrom(1), help: 'Most events in one published batch (default 16).' },
  'use-vllm-map-event-format': { arity: 'boolean', schema: bool, help: 'Encode events as maps with "type" (newer vLLM) instead of positional arrays.' },
  'kv-events-replay-endpoint': { arity: 'single', schema: z.string(), help: 'ZMQ ROUTER endpoint that replays buffered batches on request.' },
  'kv-events-config': { arity: 'single', schema: z.string(), help: "vLLM's --kv-events-config JSON (enable_kv_cache_events, endpoint, replay_endpoint, topic, buffer_steps)." },
  'lora-modules': { arity: 'list', schema: z.array(z.string()), help: 'LoRA adapters: name=path or JSON {"name","path","base_model_name"}; several allowed.' },
  'max-loras': { arity: 'single', schema: intFrom(1), help: 'Most distinct adapters in one running batch (default 1).' },
  'max-cpu-loras': { arity: 'single', schema: intFrom(1), help: 'Most adapters loaded at once (default: max(--max-loras, adapters given)).' },
  'failure-injection-rate': { arity: 'single', schema: numFrom(0, 100), help: 'Percentage of requests answered with an injected error (default 0).' },
  'failure-types': { arity: 'list', schema: z.array(z.enum(FAILURE_TYPES)), help: `Injected error kinds (default all): ${FAILURE_TYPES.join(', ')}.` },
  'data-parallel-size': { arity: 'single', schema: intFrom(1, 64), help: 'Independent simulated servers in this process, on port+rank (default 1).' },
  config: { arity: 'single', schema: z.string(), help: 'YAML file with the same keys as the flags; flags and environment take precedence.' },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), help: 'Log level (default info).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

/** vLLM engine flags the simulator accepts and ignores, so a vLLM command line runs unchanged. */
const IGNORED_VLLM_FLAGS = new Set([
  'tensor-parallel-size', 'pipeline-parallel-size', 'dtype', 'trust-remote-code', 'enforce-eager', 'enable-prefix-caching',
  'no-enable-prefix-caching', 'prefix-caching-hash-algo', 'kv-cache-dtype', 'disable-log-requests', 'enable-chunked-prefill',
  'kv-transfer-config', 'enable-lora', 'max-lora-rank', 'swap-space', 'uvicorn-log-level', 'disable-uvicorn-access-log',
  'enable-log-requests', 'compilation-config', 'distributed-executor-backend', 'download-dir', 'tokenizer-mode', 'quantization',
]);

/** A LoRA adapter known at start-up. */
export interface LoraModule {
  name: string;
  path: string;
  baseModelName: string | null;
}

/** Validated, frozen options of one simulator process. */
export interface SimOptions {
  model: string;
  servedModelNames: string[];
  host: string;
  port: number;
  mode: ResponseMode;
  seed: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number | null;
  maxWaitingQueueLength: number;
  schedulingPolicy: 'fcfs' | 'priority';
  preset: string;
  latencyCalculator: 'roofline' | 'linear' | 'constant' | 'per-token';
  linearCoefficientsUs: [number, number, number] | null;
  timeToFirstTokenMs: number | null;
  timeToFirstTokenStdDevMs: number | null;
  interTokenLatencyMs: number | null;
  interTokenLatencyStdDevMs: number | null;
  prefillOverheadMs: number | null;
  prefillTimePerTokenMs: number | null;
  prefillTimeStdDevMs: number | null;
  kvCacheTransferLatencyMs: number | null;
  kvCacheTransferLatencyStdDevMs: number | null;
  kvCacheTransferTimePerTokenMs: number | null;
  kvCacheTransferTimeStdDevMs: number | null;
  kvTransferBandwidthGBps: number | null;
  timeFactorUnderLoad: number | null;
  enableKvcache: boolean;
  kvCacheSize: number | null;
  gpuMemoryUtilization: number;
  blockSize: number;
  hashSeed: string | undefined;
  zmqEndpoint: string;
  kvEventsTopic: string | null;
  eventBatchSize: number;
  useVllmMapEventFormat: boolean;
  kvEventsReplayEndpoint: string | null;
  kvEventsBufferSteps: number;
  loraModules: LoraModule[];
  maxLoras: number;
  maxCpuLoras: number | null;
  failureInjectionRate: number;
  failureTypes: FailureType[];
  dataParallelSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Pod identity from the downward API, for the `x-inference-*` response headers and the event topic. */
  podName: string | null;
  podNamespace: string | null;
  podIp: string | null;
}

/** Defaults for everything the user may leave out. */
const DEFAULTS = {
  host: '0.0.0.0',
  port: 8000,
  mode: 'random',
  'max-num-seqs': 1024,
  'max-num-batched-tokens': 8192,
  'max-waiting-queue-length': 1000,
  'scheduling-policy': 'fcfs',
  preset: 'llama-3.1-8b/h100',
  'latency-calculator': 'roofline',
  'enable-kvcache': false,
  'gpu-memory-utilization': 0.9,
  'block-size': 16,
  'zmq-endpoint': 'tcp://localhost:5557',
  'event-batch-size': 16,
  'use-vllm-map-event-format': false,
  'max-loras': 1,
  'failure-injection-rate': 0,
  'failure-types': [...FAILURE_TYPES],
  'data-parallel-size': 1,
  'log-level': 'info',
} satisfies Partial<Record<FlagName, unknown>>;

/** What `parseOptions` returns: options to run with, or a request for help. */
export type ParsedCommand = { kind: 'help'; text: string } | { kind: 'run'; options: SimOptions; ignoredFlags: string[] };

/** The `--help` text, generated from the flag table so it cannot drift. */
export function helpText(): string {
  const lines = ['Usage: node apps/inference-sim/dist/main.js [flags]', '       node apps/inference-sim/dist/main.js profile [flags]', '', 'A vLLM-compatible model server without a GPU.', '', 'Flags:'];
  for (const [name, spec] of Object.entries(FLAGS) as Array<[string, FlagSpec]>) {
    const value = spec.arity === 'boolean' ? '' : spec.arity === 'list' ? ' <v>...' : ' <v>';
    lines.push(`  --${name}${value}`.padEnd(44) + spec.help + (spec.env ? ` [env ${spec.env}]` : ''));
  }
  lines.push('', `Accepted and ignored (vLLM engine flags): ${[...IGNORED_VLLM_FLAGS].map((f) => `--${f}`).join(' ')}`);
  lines.push('Environment: POD_NAME, POD_NAMESPACE (x-inference-* headers), POD_IP (KV-event topic).');
  return lines.join('\n');
}

function normaliseKey(key: string): string {
  return key.replaceAll('_', '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('--config', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ConfigError('--config', `${path} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('--config', `${path} must hold a mapping of flag names to values`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const name = normaliseKey(k);
    if (!(name in FLAGS) || name === 'config' || name === 'help') {
      if (IGNORED_VLLM_FLAGS.has(name)) continue;
      throw new ConfigError(`${path}: ${k}`, 'unknown key (config keys are the flag names)');
    }
    out[name] = v;
  }
  return out;
}

function parseLoraModule(raw: string, index: number): LoraModule {
  const key = `--lora-modules[${index}]`;
  const text = raw.trim();
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new ConfigError(key, `not valid JSON: ${text}`, { cause });
    }
    const parsed = z
      .object({ name: z.string().min(1), path: z.string().default(''), base_model_name: z.string().nullish() })
      .safeParse(value);
    if (!parsed.success) throw new ConfigError(`${key}.${parsed.error.issues[0]?.path.join('.') ?? ''}`, parsed.error.issues[0]?.message ?? 'invalid');
    return { name: parsed.data.name, path: parsed.data.path, baseModelName: parsed.data.base_model_name ?? null };
  }
  const eq = text.indexOf('=');
  const name = eq === -1 ? text : text.slice(0, eq);
  if (!name) throw new ConfigError(key, `expected name=path or JSON, got "${raw}"`);
  return { name, path: eq === -1 ? '' : text.slice(eq + 1), baseModelName: null };
}

interface KvEventsConfig {
  enable_kv_cache_events?: boolean;
  endpoint?: string;
  replay_endpoint?: string | null;
  topic?: string;
  buffer_steps?: number;
}

function parseKvEventsConfig(raw: string): KvEventsConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError('--kv-events-config', 'not valid JSON', { cause });
  }
  const parsed = z
    .looseObject({
      enable_kv_cache_events: z.boolean().optional(),
      publisher: z.string().optional(),
      endpoint: z.string().optional(),
      replay_endpoint: z.string().nullish(),
      topic: z.string().optional(),
      buffer_steps: z.number().int().positive().optional(),
    })
    .safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`--kv-events-config.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid');
  }
  return parsed.data as KvEventsConfig;
}

/**
 * Turns argv, environment and an optional YAML file into frozen options.
 * Precedence, as llm-d-inference-sim: flags > environment > config file > defaults.
 */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand {
  const split = splitArgs(argv, (name) => (FLAGS as Record<string, FlagSpec>)[name]?.arity, IGNORED_VLLM_FLAGS);
  if (split.values.get('help') === true) return { kind: 'help', text: helpText() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');

  const fromFile = typeof split.values.get('config') === 'string' ? readConfigFile(split.values.get('config') as string) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(FLAGS) as Array<[string, FlagSpec]>) {
    if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') fromEnv[name] = env[spec.env];
  }
  const merged: Record<string, unknown> = { ...DEFAULTS, ...fromFile, ...fromEnv, ...Object.fromEntries(split.values) };

  const v: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(merged)) {
    if (name === 'config' || name === 'help') continue;
    const spec = (FLAGS as Record<string, FlagSpec>)[name] as FlagSpec;
    const result = spec.schema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue && issue.path.length > 0 ? `[${issue.path.join('.')}]` : '';
      throw new ConfigError(`--${name}${where}`, issue?.message ?? 'invalid value');
    }
    v[name] = result.data;
  }
  if (typeof v.model !== 'string') throw new ConfigError('--model', 'required (the model name to serve)');
  const get = <T>(name: FlagName) => v[name] as T;

  let calculator = get<SimOptions['latencyCalculator'] | ''>('latency-calculator');
  if (calculator === '') {
    const perToken = v['prefill-time-per-token'] !== undefined || v['prefill-overhead'] !== undefined;
    calculator = perToken ? 'per-token' : 'constant';
  }
  let linear: SimOptions['linearCoefficientsUs'] = null;
  const linearRaw = v['linear-coefficients'] as string | undefined;
  if (linearRaw !== undefined) {
    const parts = linearRaw.split(',').map((s) => Number(s.trim()));
    if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n) || n < 0)) {
      throw new ConfigError('--linear-coefficients', `expected three non-negative numbers "β0,β1,β2", got "${linearRaw}"`);
    }
    linear = parts as [number, number, number];
  }

  let enableKvcache = get<boolean>('enable-kvcache');
  let zmqEndpoint = get<string>('zmq-endpoint');
  let topic = (v['kv-events-topic'] as string | undefined) ?? null;
  let replay = (v['kv-events-replay-endpoint'] as string | undefined) ?? null;
  let bufferSteps = 10_000;
  if (typeof v['kv-events-config'] === 'string') {
    const kv = parseKvEventsConfig(v['kv-events-config']);
    if (kv.enable_kv_cache_events !== undefined) enableKvcache = kv.enable_kv_cache_events;
    if (kv.endpoint) zmqEndpoint = kv.endpoint;
    if (kv.topic) topic = kv.topic;
    if (kv.replay_endpoint) replay = kv.replay_endpoint;
    if (kv.buffer_steps) bufferSteps = kv.buffer_steps;
  }

  const loraModules = (get<string[] | undefined>('lora-modules') ?? []).map(parseLoraModule);
  const served = get<string[] | undefined>('served-model-name');
  const options: SimOptions = {
    model: get('model'),
    servedModelNames: served && served.length > 0 ? served : [get<string>('model')],
    host: get('host'),
    port: get('port'),
    mode: get('mode'),
    seed: (v.seed as number | undefined) ?? Date.now() % 2 ** 31,
    maxNumSeqs: get('max-num-seqs'),
    maxNumBatchedTokens: get('max-num-batched-tokens'),
    maxModelLen: (v['max-model-len'] as number | undefined) ?? null,
    maxWaitingQueueLength: get('max-waiting-queue-length'),
    schedulingPolicy: get('scheduling-policy'),
    preset: get('preset'),
    latencyCalculator: calculator,
    linearCoefficientsUs: linear,
    timeToFirstTokenMs: (v['time-to-first-token'] as number | undefined) ?? null,
    timeToFirstTokenStdDevMs: (v['time-to-first-token-std-dev'] as number | undefined) ?? null,
    interTokenLatencyMs: (v['inter-token-latency'] as number | undefined) ?? null,
    interTokenLatencyStdDevMs: (v['inter-token-latency-std-dev'] as number | undefined) ?? null,
    prefillOverheadMs: (v['prefill-overhead'] as number | undefined) ?? null,
    prefillTimePerTokenMs: (v['prefill-time-per-token'] as number | undefined) ?? null,
    prefillTimeStdDevMs: (v['prefill-time-std-dev'] as number | undefined) ?? null,
    kvCacheTransferLatencyMs: (v['kv-cache-transfer-latency'] as number | undefined) ?? null,
    kvCacheTransferLatencyStdDevMs: (v['kv-cache-transfer-latency-std-dev'] as number | undefined) ?? null,
    kvCacheTransferTimePerTokenMs: (v['kv-cache-transfer-time-per-token'] as number | undefined) ?? null,
    kvCacheTransferTimeStdDevMs: (v['kv-cache-transfer-time-std-dev'] as number | undefined) ?? null,
    kvTransferBandwidthGBps: (v['kv-transfer-bandwidth'] as number | undefined) ?? null,
    timeFactorUnderLoad: (v['time-factor-under-load'] as number | undefined) ?? null,
    enableKvcache,
    kvCacheSize: (v['kv-cache-size'] as number | undefined) ?? null,
    gpuMemoryUtilization: get('gpu-memory-utilization'),
    blockSize: get('block-size'),
    hashSeed: v['hash-seed'] as string | undefined,
    zmqEndpoint,
    kvEventsTopic: topic,
    eventBatchSize: get('event-batch-size'),
    useVllmMapEventFormat: get('use-vllm-map-event-format'),
    kvEventsReplayEndpoint: replay,
    kvEventsBufferSteps: bufferSteps,
    loraModules,
    maxLoras: get('max-loras'),
    maxCpuLoras: (v['max-cpu-loras'] as number | undefined) ?? null,
    failureInjectionRate: get('failure-injection-rate'),
    failureTypes: get('failure-types'),
    dataParallelSize: get('data-parallel-size'),
    logLevel: get('log-level'),
    podName: env.POD_NAME || null,
    podNamespace: env.POD_NAMESPACE || null,
    podIp: env.POD_IP || null,
  };
  return { kind: 'run', options: Object.freeze(options), ignoredFlags: split.ignoredSeen };
}
