// Small, generic builders for plugin unit tests: endpoints, requests, scheduling contexts and
// plugin handles. Shared by every plugin folder of this package; keep it free of plugin specifics.
import { FeatureGates } from '@llmd/feature-gates';
import { silentLogger } from '@llmd/observability';
import { CycleState, EMPTY_METRICS, EndpointAttributes } from '@llmd/scheduling';
import type {
  Endpoint,
  EndpointMetrics,
  HeaderMutations,
  InferenceRequest,
  Plugin,
  PluginHandle,
  ProfileRunResult,
  SchedulingContext,
  SchedulingResult,
} from '@llmd/scheduling';
import type { Logger } from 'pino';

/** What a test may say about an endpoint; everything else gets a default. */
export interface EndpointSpec {
  /** `namespace/name`; derived from `namespace` and `name` when absent. */
  readonly id?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly address?: string;
  readonly port?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly metrics?: Partial<EndpointMetrics>;
}

let endpointCounter = 0;

/** Builds an endpoint; unnamed ones get `default/pod-<n>` and address `10.0.0.<n>`. */
export function endpoint(spec: EndpointSpec = {}): Endpoint {
  const n = ++endpointCounter;
  const [idNamespace, idName] = spec.id?.includes('/') ? spec.id.split('/', 2) : [undefined, spec.id];
  const namespace = spec.namespace ?? idNamespace ?? 'default';
  const name = spec.name ?? idName ?? `pod-${n}`;
  const address = spec.address ?? `10.0.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  const port = spec.port ?? 8000;
  return {
    metadata: {
      id: spec.id ?? `${namespace}/${name}`,
      name,
      namespace,
      address,
      port,
      hostPort: `${address}:${port}`,
      labels: spec.labels ?? {},
    },
    metrics: { ...EMPTY_METRICS, ...spec.metrics },
  };
}

/** What a test may say about a request; `model` sets both the incoming and the target model. */
export interface RequestSpec extends Partial<Omit<InferenceRequest, 'prompt'>> {
  readonly model?: string;
  /** Prompt text (completions style); ignored when `promptView` is given. */
  readonly prompt?: string;
  readonly promptView?: InferenceRequest['prompt'];
}

let requestCounter = 0;

/** Builds a completions request with sensible defaults and a unique `requestId`. */
export function request(spec: RequestSpec = {}): InferenceRequest {
  const { model, prompt, promptView, ...rest } = spec;
  const text = prompt ?? 'hello world';
  return {
    requestId: `req-${++requestCounter}`,
    kind: 'completions',
    incomingModel: model ?? 'base-model',
    targetModel: model ?? 'base-model',
    body: { model: model ?? 'base-model', prompt: text },
    headers: {},
    prompt: promptView ?? { text, tokenIds: null, messages: null },
    priority: 0,
    objective: null,
    fairnessId: 'default-flow',
    maxTokens: null,
    estimatedInputTokens: Math.ceil(text.length / 4),
    bodyBytes: text.length,
    receivedAt: 0,
    ...rest,
  };
}

/**
 * A deterministic random source in [0, 1) (mulberry32), so tests that depend on shuffles or
 * sampling always see the same sequence.
 */
export function seededRandom(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source that returns the given values in turn, cycling; for exact expectations. */
export function randomSequence(values: readonly number[]): () => number {
  if (values.length === 0) throw new Error('randomSequence needs at least one value');
  let i = 0;
  return () => values[i++ % values.length] as number;
}

/** A clock that only moves when the test says so. */
export interface ManualClock {
  readonly now: () => number;
  advance(ms: number): void;
}

/** Creates a manual clock starting at `start` ms. */
export function manualClock(start = 0): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Builds a fresh scheduling context (new cycle state and attributes); random defaults to seed 1. */
export function context(spec: { random?: () => number; now?: () => number } = {}): SchedulingContext {
  return {
    cycle: new CycleState(),
    attributes: new EndpointAttributes(),
    random: spec.random ?? seededRandom(1),
    now: spec.now ?? (() => 0),
  };
}

/** What a test may give a plugin handle. */
export interface HandleSpec {
  readonly logger?: Logger;
  /** Other configured plugins, looked up by instance name and type. */
  readonly plugins?: readonly Plugin[];
  readonly endpoints?: readonly Endpoint[];
  readonly featureGates?: FeatureGates;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Builds a plugin handle with a silent logger, no gates and a seeded random source. */
export function handle(spec: HandleSpec = {}): PluginHandle {
  const plugins = spec.plugins ?? [];
  return {
    logger: spec.logger ?? silentLogger(),
    plugin: <T extends Plugin = Plugin>(name: string) => plugins.find((p) => p.name === name) as T | undefined,
    pluginsOfType: <T extends Plugin = Plugin>(type: string) => plugins.filter((p) => p.type === type) as T[],
    endpoints: () => spec.endpoints ?? [],
    featureGates: spec.featureGates ?? new FeatureGates(),
    random: spec.random ?? seededRandom(1),
    now: spec.now ?? (() => 0),
  };
}

/** Builds a scheduling result from `profile → targets` (null = the profile found nothing). */
export function schedulingResult(
  profiles: Readonly<Record<string, readonly Endpoint[] | null>>,
  primaryProfileName = Object.keys(profiles)[0] ?? 'default',
): SchedulingResult {
  const profileResults = new Map<string, ProfileRunResult | null>();
  for (const [name, targets] of Object.entries(profiles)) profileResults.set(name, targets === null ? null : { targets });
  return { profileResults, primaryProfileName };
}

/** Header mutations that record what plugins set and removed. */
export interface RecordedHeaders extends HeaderMutations {
  readonly headers: Map<string, string>;
  readonly removed: Set<string>;
}

/** Creates header mutations that record into a map. */
export function recordedHeaders(): RecordedHeaders {
  const headers = new Map<string, string>();
  const removed = new Set<string>();
  return {
    headers,
    removed,
    set(name, value) {
      headers.set(name, value);
      removed.delete(name);
    },
    remove(name) {
      headers.delete(name);
      removed.add(name);
    },
  };
}
