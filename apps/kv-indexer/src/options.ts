import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from '@llmd/cli';
import { z } from 'zod';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const port = intFrom(0, 65535);
const duration = (key: string) => z.string().transform((v) => parseDurationMs(v, key));

/** `gpu=1,cpu=0.8` → `{gpu: 1, cpu: 0.8}`; tiers lower-cased as the event side lower-cases `medium`. */
const tierWeights = z.string().transform((text, ctx) => {
  const weights: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(\S+)$/.exec(part);
    const weight = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(weight) || weight < 0) {
      ctx.addIssue({ code: 'custom', message: `expected tier=weight pairs with weights ≥ 0, e.g. gpu=1,cpu=0.8; got "${part}"` });
      return z.NEVER;
    }
    weights[(m[1] as string).toLowerCase()] = weight;
  }
  if (Object.keys(weights).length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one tier=weight pair' });
    return z.NEVER;
  }
  return weights;
});

/** A ZMQ endpoint the SUB socket can bind: `tcp://host:port` (host may be `*`), `ipc://…` or `inproc://…`. */
const zmqEndpoint = z.string().regex(/^(tcp:\/\/[^\s]+:(\d+|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/, 'expected tcp://<host>:<port>, ipc://<path> or inproc://<name>');

interface FlagSpec {
  arity: FlagArity;
  schema: z.ZodType;
  help: string;
}

/** Every kv-indexer flag, with upstream llm-d names where upstream has the setting. */
const FLAGS = {
  'zmq-endpoint': { arity: 'single', schema: zmqEndpoint, help: 'Centralized mode: address the SUB socket binds, publishers connect to it (default tcp://*:5557; off with --endpoints-file unless given).' },
  'endpoints-file': { arity: 'single', schema: z.string().min(1), help: 'Per-endpoint mode: endpoints file (YAML/JSON, endpoints: [{name, namespace?, address, port, labels?}]); the indexer connects to tcp://<address>:<--zmq-port> of each and follows changes.' },
  'zmq-port': { arity: 'single', schema: intFrom(1, 65535), help: 'Port of the endpoints\' KV-event PUB sockets in per-endpoint mode (default 5557).' },
  'replay-port': { arity: 'single', schema: intFrom(1, 65535), help: 'Port of the publishers\' replay ROUTER sockets, asked for missed batches after a sequence gap (default off).' },
  'block-size': { arity: 'single', schema: intFrom(1, 1 << 16), help: 'Tokens per request key block (llm-d blockSizeTokens; default 16).' },
  'hash-seed': { arity: 'single', schema: z.string(), help: 'Seed of the request-key chain (llm-d hashSeed; default "").' },
  'tier-weights': { arity: 'single', schema: tierWeights, help: 'Score weight of a block per device tier (default gpu=1,cpu=0.8; unknown tiers count 1).' },
  'index-backend': { arity: 'single', schema: z.enum(['memory', 'redis']), help: 'Where the index lives: memory (default) or redis (shared by replicas).' },
  'redis-url': { arity: 'single', schema: z.string().regex(/^(redis|rediss|valkey|valkeys):\/\//, 'expected redis://[user:pass@]host:port[/db]'), help: 'Redis/Valkey URL of --index-backend redis (default redis://127.0.0.1:6379).' },
  'redis-connect-timeout': { arity: 'single', schema: duration('--redis-connect-timeout'), help: 'How long start-up waits for Redis before failing (default 10s).' },
  'index-max-blocks': { arity: 'single', schema: intFrom(1), help: 'In-memory index: most request-key blocks kept, least recently used dropped first (default: the index\'s own).' },
  concurrency: { arity: 'single', schema: intFrom(1, 256), help: 'Event-ingestion shards; one endpoint\'s events stay in order on one shard (default 4).' },
  'http-port': { arity: 'single', schema: port, help: 'HTTP port: POST /v1/scores, GET /health, GET /metrics (default 8080; 0 picks a free port).' },
  'grpc-port': { arity: 'single', schema: port, help: 'gRPC port of indexer.v1.IndexerService (default 50051; 0 turns it off).' },
  host: { arity: 'single', schema: z.string().min(1), help: 'Address the HTTP and gRPC servers listen on (default 0.0.0.0).' },
  tokenizer: { arity: 'single', schema: z.string().min(1), help: 'Local Hugging Face tokenizer folder used for every model (default: the bundled tokenizer for the request\'s model name).' },
  'tokenizer-pool-size': { arity: 'single', schema: intFrom(1, 16), help: 'Worker threads per tokenizer (default 2).' },
  'prefix-cache-tokens': { arity: 'single', schema: intFrom(0), help: 'Tokens the prompt-prefix token cache holds per tokenizer (default 2000000; 0 turns it off).' },
  'log-level': { arity: 'single', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), help: 'Log level (default info).' },
  help: { arity: 'boolean', schema: bool, help: 'Print this help and exit.' },
} as const satisfies Record<string, FlagSpec>;

/** Validated, frozen kv-indexer options. */
export interface KvIndexerOptions {
  /** Address the SUB socket binds (centralized mode), or null when off. */
  readonly zmqEndpoint: string | null;
  /** Endpoints file of per-endpoint mode, or null. */
  readonly endpointsFile: string | null;
  readonly zmqPort: number;
  /** Replay ROUTER port of the publishers, or null when replay is off. */
  readonly replayPort: number | null;
  readonly blockSize: number;
  readonly hashSeed: string;
  readonly tierWeights: Readonly<Record<string, number>>;
  readonly indexBackend: 'memory' | 'redis';
  readonly redisUrl: string;
  /** How long start-up waits for the Redis connection, in milliseconds. */
  readonly redisConnectTimeoutMs: number;
  /** Bound of the in-memory index, or null for the index's default. */
  readonly indexMaxBlocks: number | null;
  readonly concurrency: number;
  readonly host: string;
  /** HTTP port; 0 picks a free one. */
  readonly httpPort: number;
  /** gRPC port, or null when off (the flag's 0); in options built by hand, 0 picks a free port. */
  readonly grpcPort: number | null;
  /** Tokenizer folder for every model, or null for the bundled tokenizer by model name. */
  readonly tokenizerPath: string | null;
  readonly tokenizerPoolSize: number;
  readonly prefixCacheTokens: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** What {@link parseKvIndexerOptions} returns. */
export type KvIndexerCommand = { kind: 'help'; text: string } | { kind: 'run'; options: KvIndexerOptions };

/** `--help`, generated from the flag table. */
export function kvIndexerHelp(): string {
  const lines = [
    'Usage: node apps/kv-indexer/dist/main.js [flags]',
    '',
    'The llm-d KV-cache indexer: ingests the model servers\' KV-cache events and scores prompts per endpoint.',
    '',
    'Flags:',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as Array<[string, FlagSpec]>) {
    lines.push(`  --${name}${spec.arity === 'boolean' ? '' : ' <v>'}`.padEnd(32) + spec.help);
  }
  return lines.join('\n');
}

/** Parses argv into kv-indexer options; every error names its flag. */
export function parseKvIndexerOptions(argv: readonly string[]): KvIndexerCommand {
  const split = splitArgs(argv, (name) => (FLAGS as Record<string, FlagSpec>)[name]?.arity);
  if (split.values.get('help') === true) return { kind: 'help', text: kvIndexerHelp() };
  if (split.positionals.length > 0) throw new ConfigError(split.positionals[0] as string, 'unexpected argument (flags start with --)');
  const v: Record<string, unknown> = {};
  for (const [name, raw] of split.values) {
    const result = ((FLAGS as Record<string, FlagSpec>)[name] as FlagSpec).schema.safeParse(raw);
    if (!result.success) throw new ConfigError(`--${name}`, result.error.issues[0]?.message ?? 'invalid value');
    v[name] = result.data;
  }
  const endpointsFile = (v['endpoints-file'] as string | undefined) ?? null;
  const backend = (v['index-backend'] as 'memory' | 'redis' | undefined) ?? 'memory';
  for (const flag of ['redis-url', 'redis-connect-timeout']) {
    if (v[flag] !== undefined && backend !== 'redis') throw new ConfigError(`--${flag}`, 'only used with --index-backend redis');
  }
  if (v['index-max-blocks'] !== undefined && backend !== 'memory') throw new ConfigError('--index-max-blocks', 'only used with --index-backend memory');
  if (endpointsFile === null && v['zmq-port'] !== undefined) throw new ConfigError('--zmq-port', 'only used with --endpoints-file (per-endpoint mode)');
  const grpcPort = (v['grpc-port'] as number | undefined) ?? 50051;
  const options: KvIndexerOptions = {
    zmqEndpoint: (v['zmq-endpoint'] as string | undefined) ?? (endpointsFile === null ? 'tcp://*:5557' : null),
    endpointsFile,
    zmqPort: (v['zmq-port'] as number | undefined) ?? 5557,
    replayPort: (v['replay-port'] as number | undefined) ?? null,
    blockSize: (v['block-size'] as number | undefined) ?? 16,
    hashSeed: (v['hash-seed'] as string | undefined) ?? '',
    tierWeights: Object.freeze((v['tier-weights'] as Record<string, number> | undefined) ?? { gpu: 1, cpu: 0.8 }),
    indexBackend: backend,
    redisUrl: (v['redis-url'] as string | undefined) ?? 'redis://127.0.0.1:6379',
    redisConnectTimeoutMs: (v['redis-connect-timeout'] as number | undefined) ?? 10_000,
    indexMaxBlocks: (v['index-max-blocks'] as number | undefined) ?? null,
    concurrency: (v.concurrency as number | undefined) ?? 4,
    host: (v.host as string | undefined) ?? '0.0.0.0',
    httpPort: (v['http-port'] as number | undefined) ?? 8080,
    grpcPort: grpcPort === 0 ? null : grpcPort,
    tokenizerPath: (v.tokenizer as string | undefined) ?? null,
    tokenizerPoolSize: (v['tokenizer-pool-size'] as number | undefined) ?? 2,
    prefixCacheTokens: (v['prefix-cache-tokens'] as number | undefined) ?? 2_000_000,
    logLevel: (v['log-level'] as KvIndexerOptions['logLevel'] | undefined) ?? 'info',
  };
  return { kind: 'run', options: Object.freeze(options) };
}
