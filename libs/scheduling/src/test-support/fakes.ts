// Small fake plugins for the framework's tests. The real built-in plugins live in
// libs/scheduling-plugins and are tested there; these only exercise the framework's contracts.
import { FeatureGates } from '@llmd/feature-gates';
import { pino } from 'pino';
import { z } from 'zod';
import { EMPTY_METRICS } from '../framework/endpoint.js';
import type { Endpoint, EndpointMetrics } from '../framework/endpoint.js';
import { RouterError } from '../framework/errors.js';
import type {
  Plugin,
  ProfileHandler,
  ProfileRunResult,
  SchedulerProfile,
  SchedulingContext,
  SchedulingResult,
  ScoredEndpoint,
} from '../framework/plugins.js';
import { definePlugin } from '../framework/registry.js';
import type { PluginFactory, PluginHandle } from '../framework/registry.js';
import type { InferenceRequest } from '../framework/request.js';
import { CycleState, EndpointAttributes } from '../framework/state.js';
import { PluginRegistry } from '../registry.js';

/** An endpoint `default/<name>` with the given metrics. */
export function endpoint(name: string, metrics: Partial<EndpointMetrics> = {}): Endpoint {
  return {
    metadata: { id: `default/${name}`, name, namespace: 'default', address: '10.0.0.1', port: 8000, hostPort: '10.0.0.1:8000', labels: {} },
    metrics: { ...EMPTY_METRICS, ...metrics },
  };
}

/** A scheduling context with a fixed random source and clock. */
export function context(): SchedulingContext {
  return { cycle: new CycleState(), attributes: new EndpointAttributes(), random: () => 0.5, now: () => 0 };
}

/** A chat request. */
export function request(): InferenceRequest {
  return {
    requestId: 'r-1',
    kind: 'chat-completions',
    incomingModel: 'm',
    targetModel: 'm',
    body: {},
    headers: {},
    prompt: { text: 'hello', tokenIds: null, messages: null },
    priority: 0,
    objective: null,
    fairnessId: 'default-flow',
    maxTokens: null,
    estimatedInputTokens: 2,
    bodyBytes: 10,
    receivedAt: 0,
  };
}

/** Handle fields the loader does not provide itself. */
export function baseHandle(featureGates: FeatureGates = new FeatureGates()): Omit<PluginHandle, 'plugin' | 'pluginsOfType'> {
  return { logger: pino({ level: 'silent' }), endpoints: () => [], featureGates, random: () => 0.5, now: () => 0 };
}

/** Extension points a fake plugin can implement. */
export type FakeKind = 'filter' | 'scorer' | 'picker' | 'handler' | 'producer' | 'admitter' | 'pre-request' | 'response' | 'detector' | 'fairness' | 'ordering' | 'usage-limit';

/** A fake plugin instance: records its parameters and handle. */
export interface FakePlugin extends Plugin {
  readonly params: unknown;
  readonly handle: PluginHandle;
}

/** Options of {@link fake}. */
export interface FakeOptions {
  readonly parameters?: z.ZodType;
  readonly requires?: readonly string[];
  readonly requiresFor?: (params: unknown) => readonly string[];
  readonly aliases?: readonly string[];
  readonly featureGate?: string;
  /** Called by create, e.g. to misuse the handle. */
  readonly onCreate?: (name: string, handle: PluginHandle) => void;
}

/** Parameters every fake accepts unless told otherwise: an optional threshold (default 0.5). */
export const fakeParameters = z.strictObject({ threshold: z.number().default(0.5) });

/**
 * A factory for a plugin implementing the given extension points with trivial behaviour: filters
 * keep everything, scorers give 1, pickers take the best, handlers run each profile once.
 */
export function fake(type: string, kinds: readonly FakeKind[], options: FakeOptions = {}): PluginFactory<unknown> {
  return definePlugin({
    type,
    parameters: options.parameters ?? fakeParameters,
    ...(options.requires ? { requires: options.requires } : {}),
    ...(options.requiresFor ? { requiresFor: options.requiresFor } : {}),
    ...(options.aliases ? { aliases: options.aliases } : {}),
    ...(options.featureGate ? { featureGate: options.featureGate } : {}),
    create(name: string, params: unknown, handle: PluginHandle): Plugin {
      options.onCreate?.(name, handle);
      const p: Record<string, unknown> = { type, name, params, handle };
      for (const kind of kinds) {
        switch (kind) {
          case 'filter':
            p['filter'] = (_c: unknown, _r: unknown, eps: readonly Endpoint[]) => eps;
            break;
          case 'scorer':
            p['category'] = 'balance';
            p['score'] = (_c: unknown, _r: unknown, eps: readonly Endpoint[]) => eps.map(() => 1);
            break;
          case 'picker':
            p['pick'] = (_c: unknown, scored: readonly ScoredEndpoint[]) => pickBest(scored);
            break;
          case 'handler':
            Object.assign(p, runEachOnce(name, type));
            break;
          case 'producer':
            p['produce'] = () => undefined;
            break;
          case 'admitter':
            p['admit'] = () => ({ admitted: true });
            break;
          case 'pre-request':
            p['preRequest'] = () => undefined;
            break;
          case 'response':
            p['onResponseComplete'] = () => undefined;
            break;
          case 'detector':
            p['saturation'] = () => 0;
            break;
          case 'fairness':
            p['newBandState'] = () => ({ pick: (flows: readonly { length: number }[]) => flows.find((f) => f.length > 0) ?? null });
            break;
          case 'ordering':
            p['compare'] = (a: { sequence: number }, b: { sequence: number }) => a.sequence - b.sequence;
            break;
          case 'usage-limit':
            p['computeLimit'] = (_s: number, priorities: readonly number[]) => priorities.map(() => 1);
            break;
        }
      }
      return p as unknown as FakePlugin;
    },
  }) as PluginFactory<unknown>;
}

/** The highest score wins; ties go to the first. */
export function pickBest(scored: readonly ScoredEndpoint[]): ProfileRunResult {
  let best: ScoredEndpoint | undefined;
  for (const s of scored) if (best === undefined || s.score > best.score) best = s;
  return { targets: best ? [best.endpoint] : [] };
}

/** A handler that runs every profile once, in map order, and makes the first profile primary. */
export function runEachOnce(name: string, type: string): ProfileHandler {
  return {
    type,
    name,
    pickProfiles(_c, _r, profiles: ReadonlyMap<string, SchedulerProfile>, results) {
      return [...profiles.values()].filter((p) => !results.has(p.name));
    },
    processResults(_c, _r, results): SchedulingResult {
      const [first] = results.keys();
      if (first === undefined || [...results.values()].every((r) => r === null)) {
        throw new RouterError('ServiceUnavailable', 'no profile found an endpoint');
      }
      return { profileResults: results, primaryProfileName: first };
    },
  };
}

/** The upstream type names the sample configs use, as fakes of the right extension points. */
export function upstreamFakes(): PluginFactory<unknown>[] {
  return [
    fake('queue-scorer', ['scorer']),
    fake('kv-cache-utilization-scorer', ['scorer']),
    fake('prefix-cache-scorer', ['scorer', 'pre-request'], { requires: ['approx-prefix-cache-producer'] }),
    fake('approx-prefix-cache-producer', ['producer', 'pre-request'], { requires: ['token-producer'] }),
    fake('token-producer', ['producer']),
    fake('metrics-data-source', []),
    fake('core-metrics-extractor', []),
    fake('max-score-picker', ['picker'], { parameters: z.strictObject({ maxNumOfEndpoints: z.number().int().default(1) }) }),
    fake('single-profile-handler', ['handler']),
    fake('pd-profile-handler', ['handler']),
    fake('prefill-header-handler', ['pre-request']),
    fake('prefill-filter', ['filter']),
    fake('decode-filter', ['filter']),
  ];
}

/** A registry of {@link upstreamFakes} plus `extra`. */
export function registryWith(...extra: PluginFactory<unknown>[]): PluginRegistry {
  return new PluginRegistry().register(...upstreamFakes(), ...extra);
}
