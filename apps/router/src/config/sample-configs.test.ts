import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@llmd/observability';
import { ConfigError } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../app.js';

const load = (text: string) =>
  loadRouterConfig({ configText: text, configSource: 'test.yaml' }, { logger: silentLogger(), endpoints: () => [], random: Math.random, now: () => performance.now() });

// Upstream sample configs as the reference pages give them.
const SAMPLES: Record<string, string> = {
  'GIE v1.2 chart default (inference.networking.x-k8s.io/v1alpha1)': `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
`,
  'llm-d v0.3.0 P/D config (no apiVersion)': `
plugins:
- type: prefill-header-handler
- type: prefix-cache-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: pd-profile-handler
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: max-score-picker}, {pluginRef: prefix-cache-scorer, weight: 2}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: max-score-picker}, {pluginRef: prefix-cache-scorer, weight: 2}]
`,
  'HEAD built-in default (llm-d.ai/v1alpha1)': `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: prefix-cache-scorer},
          {type: metrics-data-source}, {type: core-metrics-extractor}]
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer, weight: 2},
            {pluginRef: prefix-cache-scorer, weight: 3}]
dataLayer: {sources: [{pluginRef: metrics-data-source, extractors: [{pluginRef: core-metrics-extractor}]}]}
`,
  'optimized-baseline guide values (sticky until saturated)': `
plugins:
- type: token-load-scorer
- type: inflight-load-producer
- type: approx-prefix-cache-producer
  parameters: {maxPrefixTokensToMatch: 40960}
- type: prefix-cache-affinity-filter
  parameters: {affinityThreshold: 0.80, maxTokensInFlightPenalty: 286720, maxTTFTPenaltyMs: 0}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-affinity-filter}, {pluginRef: token-load-scorer}]
`,
  'HEAD sticky-until-saturated (eppConfigPrefill plugins)': `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: openai-parser
- type: vllmhttp-parser
- type: approx-prefix-cache-producer
- type: inflight-load-producer
- type: prefix-cache-affinity-filter
- type: token-load-scorer
- type: max-score-picker
- type: single-profile-handler
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-affinity-filter}, {pluginRef: token-load-scorer}, {pluginRef: max-score-picker}]
`,
  'HEAD file discovery': `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- {name: file-discovery, type: file-discovery, parameters: {path: /etc/epp/endpoints.yaml, watchFile: true}}
- type: queue-scorer
dataLayer: {discovery: {pluginRef: file-discovery}}
`,
  'HEAD P/D with the disaggregation profile handler': `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-header-handler
- type: prefix-cache-scorer
- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: 16}
- type: disagg-profile-handler
  parameters:
    deciders:
      prefill: prefix-based-pd-decider
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: max-score-picker}, {pluginRef: prefix-cache-scorer, weight: 2}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: max-score-picker}, {pluginRef: prefix-cache-scorer, weight: 2}]
`,
};

describe('upstream sample configs', () => {
  it.each(Object.entries(SAMPLES))('loads %s', (_label, text) => {
    const config = load(text);
    expect(config.profiles.size).toBeGreaterThan(0);
    expect(config.profileHandler).toBeDefined();
  });

  it('uses the built-in default when no config is given: queue 2, KV 2, prefix 3', () => {
    const config = loadRouterConfig({ configText: null, configSource: '' }, { logger: silentLogger(), endpoints: () => [], random: Math.random, now: () => performance.now() });
    const profile = config.profiles.get('default');
    expect(profile?.scorers.map((s) => [s.scorer.type, s.weight])).toEqual([
      ['queue-scorer', 2],
      ['kv-cache-utilization-scorer', 2],
      ['prefix-cache-scorer', 3],
    ]);
    expect(profile?.picker.type).toBe('max-score-picker');
    expect(config.profileHandler.type).toBe('single-profile-handler');
  });
});

describe('malformed configs are rejected with an error naming the key', () => {
  it.each([
    ['an unknown top-level key', 'plugins: [{type: queue-scorer}]\nschedulingProfile: []', /schedulingProfile/],
    ['an unknown plugin type', 'plugins: [{type: queue-scorr}]', /plugins\[0\].*queue-scorr/],
    ['an unknown parameter', 'plugins: [{type: load-aware-scorer, parameters: {treshold: 5}}]', /plugins\[0\].*parameters.*treshold/],
    ['a parameter of the wrong type', 'plugins: [{type: max-score-picker, parameters: {maxNumOfEndpoints: many}}]', /plugins\[0\].*parameters\.maxNumOfEndpoints/],
    ['a dangling plugin reference', 'plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: missing}]}]', /schedulingProfiles\[0\].*plugins\[0\]\.pluginRef.*missing/],
    ['a duplicate plugin name', 'plugins: [{type: queue-scorer}, {type: queue-scorer}]', /plugins\[1\].*queue-scorer/],
    ['a weight that is not a number', 'plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: queue-scorer, weight: heavy}]}]', /schedulingProfiles\[0\].*plugins\[0\]\.weight/],
    ['an unknown feature gate', 'featureGates: [flowControll]\nplugins: [{type: queue-scorer}]', /featureGates.*flowControll/],
    ['an unknown apiVersion', 'apiVersion: example.com/v9\nkind: EndpointPickerConfig\nplugins: [{type: queue-scorer}]', /apiVersion/],
    ['YAML that does not parse', 'plugins: [{type: queue-scorer', /test\.yaml/],
  ])('%s', (_label, text, message) => {
    let err: unknown;
    try {
      load(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(message);
  });
});

describe('--validate-config-only', () => {
  const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

  it('prints the profiles of a valid config and exits 0', () => {
    const r = spawnSync(process.execPath, [main, '--validate-config-only', '--config-text', SAMPLES['GIE v1.2 chart default (inference.networking.x-k8s.io/v1alpha1)'] as string], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/configuration is valid/);
    expect(r.stdout).toMatch(/queue-scorer×2/);
  });

  it('prints what is wrong and exits 2', () => {
    const r = spawnSync(process.execPath, [main, '--validate-config-only', '--config-text', 'plugins: [{type: load-aware-scorer, parameters: {treshold: 5}}]'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/parameters.*treshold/);
  });
});
