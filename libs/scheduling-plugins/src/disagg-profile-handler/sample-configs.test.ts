// The upstream P/D sample configs, loaded by the real loader with every built-in plugin list and
// run end to end (producers → scheduler → PreRequest hooks) over role-labelled endpoints.
import { FeatureGates } from '@llmd/feature-gates';
import { silentLogger } from '@llmd/observability';
import { PluginRegistry, loadEndpointPickerConfig } from '@llmd/scheduling';
import type { Endpoint, InferenceRequest, LoadedConfig } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { BASIC_PLUGINS } from '../basic.js';
import { PD_PLUGINS } from '../pd.js';
import { PREFIX_PLUGINS } from '../prefix.js';
import { context, recordedHeaders, request } from '../test-support/fixtures.js';
import { isPdDecisionSource } from './decider.js';
import { ROLE, roleEndpoint } from './test-support/profiles.js';

const HEADER = 'x-prefiller-host-port';

// LLMD@v0.3.0:deploy/config/pd-epp-config.yaml; `handlerParameters` is spliced in for variants.
const v03Config = (handlerParameters = ''): string => `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-header-handler
- type: prefix-cache-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: pd-profile-handler
${handlerParameters}
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
`;

// llm-d-router HEAD deploy/config/pd-epp-config.yaml (no header handler: the profile handler writes the header).
const HEAD_CONFIG = `# Sample EPP configuration for running with P/D
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: approx-prefix-cache-producer
  parameters:
    maxPrefixTokensToMatch: 4096
    lruCapacityPerServer: 31250
- type: prefix-cache-scorer
- type: queue-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: disagg-profile-handler
  parameters:
    deciders:
      prefill: prefix-based-pd-decider
- type: prefix-based-pd-decider
  parameters:
    nonCachedTokens: 16
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
`;

function load(text: string): LoadedConfig {
  return loadEndpointPickerConfig(text, {
    registry: new PluginRegistry().register(...BASIC_PLUGINS, ...PREFIX_PLUGINS, ...PD_PLUGINS),
    featureGates: new FeatureGates(),
    handle: { logger: silentLogger(), endpoints: () => pool, featureGates: new FeatureGates(), random: () => 0.5, now: () => 0 },
  });
}

const pool: Endpoint[] = [
  roleEndpoint('decode', '10.4.0.1'),
  roleEndpoint('decode', '10.4.0.2'),
  roleEndpoint('prefill', '10.4.1.1'),
  roleEndpoint('prefill', '10.4.1.2'),
];

/** Routes one request the way the router does; returns the targets and the headers written. */
async function route(loaded: LoadedConfig, req: InferenceRequest) {
  const ctx = context();
  for (const p of loaded.producers) await p.produce(ctx, req, pool);
  const result = loaded.scheduler.schedule(ctx, req, pool);
  const headers = recordedHeaders();
  for (const h of loaded.preRequestHooks) h.preRequest(ctx, req, result, headers);
  return {
    primary: result.primaryProfileName,
    decode: result.profileResults.get('decode')?.targets[0],
    prefill: result.profileResults.get('prefill')?.targets[0],
    header: headers.headers.get(HEADER),
    removed: headers.removed.has(HEADER),
  };
}

// 2000 characters = 500 pseudo-tokens: long enough for either handler to disaggregate when cold.
const prompt = 'a long shared system prompt. '.repeat(69).slice(0, 2000);
const clientHeaders = { [HEADER]: '6.6.6.6:80' };

describe('P/D sample configs through the loader', () => {
  it('LLMD v0.3.0 pd-epp-config: decode primary, prefill target in x-prefiller-host-port', async () => {
    const loaded = load(v03Config());
    expect(loaded.profileHandler.type).toBe('pd-profile-handler');
    expect(loaded.autoAdded.map((p) => p.type)).toContain('approx-prefix-cache-producer');
    const out = await route(loaded, request({ prompt, model: 'm', headers: clientHeaders }));
    expect(out.primary).toBe('decode');
    expect(out.decode?.metadata.labels[ROLE]).toBe('decode');
    expect(out.prefill?.metadata.labels[ROLE]).toBe('prefill');
    expect(out.header).toBe(out.prefill?.metadata.hostPort);
  });

  it('LLMD v0.3.0 pd-epp-config with a threshold: a warm decode endpoint skips prefill and clears the client header', async () => {
    const loaded = load(v03Config('  parameters: {threshold: 100}'));
    const cold = await route(loaded, request({ prompt, model: 'm', headers: clientHeaders }));
    expect(cold.header).toBe(cold.prefill?.metadata.hostPort);
    // The producer indexed the prompt on the decode endpoint; it is picked again and holds it all.
    const warm = await route(loaded, request({ prompt, model: 'm', headers: clientHeaders }));
    expect(warm.decode).toBe(cold.decode);
    expect(warm.prefill).toBeUndefined();
    expect(warm.header).toBeUndefined();
    expect(warm.removed).toBe(true);
  });

  it('llm-d-router HEAD pd-epp-config: the prefix decider disaggregates cold prompts only', async () => {
    const loaded = load(HEAD_CONFIG);
    expect(loaded.profileHandler.type).toBe('disagg-profile-handler');
    const cold = await route(loaded, request({ prompt, model: 'm', headers: clientHeaders }));
    expect(cold.primary).toBe('decode');
    expect(cold.decode?.metadata.labels[ROLE]).toBe('decode');
    expect(cold.prefill?.metadata.labels[ROLE]).toBe('prefill');
    expect(cold.header).toBe(cold.prefill?.metadata.hostPort);

    // 500 tokens − 8 cached blocks × 64 < 16 uncached: decode only.
    const warm = await route(loaded, request({ prompt, model: 'm', headers: clientHeaders }));
    expect(warm.decode).toBe(cold.decode);
    expect(warm.prefill).toBeUndefined();
    expect(warm.header).toBeUndefined();
    expect(warm.removed).toBe(true);

    const handler = loaded.profileHandler;
    expect(isPdDecisionSource(handler) && handler.decisions()).toEqual({ disaggregated: 1, aggregated: 1 });
  });

  it('registers every P/D type once, next to the basic and prefix plugins', () => {
    const registry = new PluginRegistry().register(...BASIC_PLUGINS, ...PREFIX_PLUGINS, ...PD_PLUGINS);
    expect(PD_PLUGINS.map((f) => f.type)).toEqual(['pd-profile-handler', 'disagg-profile-handler', 'prefix-based-pd-decider', 'prefill-header-handler']);
    expect(registry.get('disagg-headers-handler')?.type).toBe('prefill-header-handler');
    for (const f of PD_PLUGINS) expect(f.parameters.safeParse(undefined).success).toBe(true);
  });
});
