import { FeatureGates } from '@llmd/feature-gates';
import { silentLogger } from '@llmd/observability';
import { PluginRegistry, loadEndpointPickerConfig } from '@llmd/scheduling';
import type { DataProducer, Endpoint, Filter, InferenceRequest, PreRequestHook, ResponseHooks, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { BASIC_PLUGINS } from './basic.js';
import { approxPrefixCacheProducer } from './approx-prefix-cache-producer/plugin.js';
import { inflightLoadProducer } from './inflight-load-producer/plugin.js';
import { prefixCacheAffinityFilter } from './prefix-cache-affinity-filter/plugin.js';
import { PREFIX_PLUGINS } from './prefix.js';
import { tokenLoadScorer } from './token-load-scorer/plugin.js';
import { context, endpoint, handle, recordedHeaders, request, schedulingResult } from './test-support/fixtures.js';

const factory = (type: string) => {
  const f = PREFIX_PLUGINS.find((p) => p.type === type);
  if (!f) throw new Error(`no factory for ${type}`);
  return f;
};

describe('PREFIX_PLUGINS', () => {
  it('declares each type once, each loading without parameters', () => {
    const types = PREFIX_PLUGINS.map((p) => p.type);
    expect(new Set(types).size).toBe(types.length);
    expect(types.sort()).toEqual([
      'approx-prefix-cache-producer',
      'inflight-load-producer',
      'no-hit-lru-scorer',
      'prefix-cache-affinity-filter',
      'prefix-cache-scorer',
      'token-load-scorer',
    ]);
    for (const f of PREFIX_PLUGINS) expect(f.parameters.safeParse(undefined).success).toBe(true);
  });

  it('requires only types it declares itself', () => {
    const types = new Set(PREFIX_PLUGINS.map((p) => p.type));
    for (const f of PREFIX_PLUGINS) for (const r of f.requires ?? []) expect(types.has(r)).toBe(true);
  });

  it.each([
    // GIE v1.0/v1.2 chart and LLMD v0.3 P/D sample: the scorer without parameters.
    ['GIE default config', 'prefix-cache-scorer', undefined],
    // GIE v1.0 documented parameters.
    ['GIE v1.0 scorer parameters', 'prefix-cache-scorer', { hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250 }],
    // HEAD sticky-until-saturated (eppConfigPrefill and the guide's producer line).
    ['guide producer', 'approx-prefix-cache-producer', { maxPrefixTokensToMatch: 40960 }],
    ['HEAD inflight producer', 'inflight-load-producer', undefined],
    ['HEAD affinity filter', 'prefix-cache-affinity-filter', { affinityThreshold: 0.8, maxTTFTPenaltyMs: 18000 }],
    ['HEAD token-load scorer', 'token-load-scorer', undefined],
  ])('loads the parameters of the %s', (_name, type, params) => {
    expect(factory(type).parameters.safeParse(params).success).toBe(true);
  });
});

describe('sticky-until-saturated pipeline', () => {
  // The HEAD-valid sticky config: producers (inflight listed first, as in the guide), the
  // affinity filter, then token-load-scorer picked by max score (ties to the first candidate here).
  function pipeline() {
    const h = () => handle({ plugins });
    const plugins: (DataProducer | Filter | Scorer)[] = [];
    const inflight = inflightLoadProducer.create('inflight-load-producer', inflightLoadProducer.parameters.parse(undefined), h()) as DataProducer &
      PreRequestHook &
      ResponseHooks;
    const prefix = approxPrefixCacheProducer.create(
      'approx-prefix-cache-producer',
      approxPrefixCacheProducer.parameters.parse({ maxPrefixTokensToMatch: 40960 }),
      h(),
    ) as DataProducer & PreRequestHook;
    const filter = prefixCacheAffinityFilter.create('prefix-cache-affinity-filter', prefixCacheAffinityFilter.parameters.parse(undefined), h()) as Filter;
    const scorer = tokenLoadScorer.create('token-load-scorer', tokenLoadScorer.parameters.parse(undefined), h()) as Scorer;
    plugins.push(inflight, prefix, filter, scorer);

    return {
      inflight,
      /** Routes one request and returns the chosen endpoint. */
      route(req: InferenceRequest, pool: Endpoint[]): Endpoint {
        const ctx = context();
        inflight.produce(ctx, req, pool);
        prefix.produce(ctx, req, pool);
        const kept = filter.filter(ctx, req, pool);
        const scores = scorer.score(ctx, req, kept);
        let best = 0;
        for (let i = 1; i < kept.length; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
        const chosen = kept[best] as Endpoint;
        const result = schedulingResult({ default: [chosen] });
        inflight.preRequest(ctx, req, result, recordedHeaders());
        prefix.preRequest(ctx, req, result, recordedHeaders());
        return chosen;
      },
    };
  }

  // 40 000 pseudo-tokens of shared history; each turn adds about 7 500 more. Only the first 40 960
  // tokens are indexed (the guide's cap), so a follow-up matches ≥ 97 % of its indexed blocks.
  const history = 'session 1 '.repeat(16_000);
  const turn = (i: number): string => history + `turn ${i} `.repeat(4000);

  it('sticks a session to the endpoint holding its prefix until its queued prefill costs more than 18 s', () => {
    const pool = [endpoint({ id: 'ns/a' }), endpoint({ id: 'ns/b' })];
    const p = pipeline();
    const first = p.route(request({ prompt: history, model: 'm' }), pool);
    const load = p.inflight as unknown as { inFlightLoad(id: string): { tokens: number } };
    // Follow-ups land on `first` while the load gap stays within 18 s × 15928 tok/s ≈ 286 704
    // tokens, although token-load alone would prefer the idle endpoint; the next one goes elsewhere.
    let followers = 0;
    let loadWhenBroken = 0;
    for (let i = 0; i < 60; i++) {
      const before = load.inFlightLoad(first.metadata.id).tokens;
      if (p.route(request({ prompt: turn(i), model: 'm' }), pool) !== first) {
        loadWhenBroken = before;
        break;
      }
      followers++;
    }
    expect(followers).toBeGreaterThan(20);
    expect(loadWhenBroken).toBeGreaterThan(286_704);
    expect(loadWhenBroken).toBeLessThan(286_704 + 10_000);
  });
});

describe('upstream sample configs through the loader', () => {
  const load = (text: string) =>
    loadEndpointPickerConfig(text, {
      registry: new PluginRegistry().register(...BASIC_PLUGINS, ...PREFIX_PLUGINS),
      featureGates: new FeatureGates(),
      handle: { logger: silentLogger(), endpoints: () => [], featureGates: new FeatureGates(), random: () => 0.5, now: () => 0 },
    });

  it.each([
    ['GIE v1.0 chart (no parameters: HEAD form)', '- type: prefix-cache-scorer', 'approx-prefix-cache-producer', true],
    // The v1.0 form keeps its own index: no approximate producer is added to hash prompts for nothing.
    ['GIE v1.0 documented parameters (v1.0 form)', '- type: prefix-cache-scorer\n  parameters: {hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250}', 'prefix-cache-scorer', false],
  ])('loads the %s', (_name, plugin, indexer, producerAdded) => {
    const loaded = load(`apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
${plugin}
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: 2}, {pluginRef: prefix-cache-scorer, weight: 3}]
`);
    expect(loaded.autoAdded.map((p) => p.type).includes('approx-prefix-cache-producer')).toBe(producerAdded);
    expect(loaded.preRequestHooks.map((h) => h.name)).toContain(indexer);
  });

  it('loads the HEAD sticky-until-saturated config and discounts cached tokens although the inflight producer runs first', () => {
    const loaded = load(`apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-load-scorer
- type: inflight-load-producer
- type: approx-prefix-cache-producer
  parameters: {maxPrefixTokensToMatch: 40960}
- type: prefix-cache-affinity-filter
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-affinity-filter}, {pluginRef: token-load-scorer}]
`);
    expect(loaded.producers.map((p) => p.type)).toEqual(['inflight-load-producer', 'approx-prefix-cache-producer']);
    const pool = [endpoint({ id: 'ns/a' }), endpoint({ id: 'ns/b' })];
    const route = (req: InferenceRequest) => {
      const ctx = context();
      for (const p of loaded.producers) p.produce(ctx, req, pool);
      const result = loaded.scheduler.schedule(ctx, req, pool);
      for (const h of loaded.preRequestHooks) h.preRequest(ctx, req, result, recordedHeaders());
      return { ctx, target: result.profileResults.get(result.primaryProfileName)?.targets[0] };
    };
    const prompt = 'shared context '.repeat(2000);
    const first = route(request({ prompt, model: 'm' }));
    const second = route(request({ prompt, model: 'm' }));
    expect(second.target).toBe(first.target);
    const uncached = second.ctx.attributes.get<{ tokens: number }>((first.target as Endpoint).metadata.id, 'UncachedRequestTokens');
    expect(uncached?.tokens).toBe(0);
  });
});
