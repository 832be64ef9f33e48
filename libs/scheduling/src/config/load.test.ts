import { FeatureGates } from '@llmd/feature-gates';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Plugin, SchedulerProfile } from '../framework/plugins.js';
import { definePlugin } from '../framework/registry.js';
import type { PluginFactory, PluginHandle } from '../framework/registry.js';
import { PluginRegistry } from '../registry.js';
import type { ExtensionPoint } from '../scheduler.js';
import { baseHandle, context, endpoint, fake, request, upstreamFakes } from '../test-support/fakes.js';
import type { FakePlugin } from '../test-support/fakes.js';
import { DEFAULT_ENDPOINT_PICKER_CONFIG } from './defaults.js';
import { ConfigError } from './errors.js';
import { loadEndpointPickerConfig } from './load.js';
import type { LoadedConfig, LoadOptions } from './load.js';
import { parseEndpointPickerConfig } from './parse.js';
import { instantiateEndpointPickerConfig } from './load.js';

interface TestOptions {
  readonly extra?: readonly PluginFactory<unknown>[];
  /** Replaces the upstream fakes entirely. */
  readonly only?: readonly PluginFactory<unknown>[];
  readonly gates?: FeatureGates;
  readonly source?: string;
  readonly observer?: LoadOptions['observer'];
}

function options(o: TestOptions = {}): LoadOptions {
  const featureGates = o.gates ?? new FeatureGates();
  return {
    registry: new PluginRegistry().register(...(o.only ?? [...upstreamFakes(), ...(o.extra ?? [])])),
    handle: baseHandle(featureGates),
    featureGates,
    ...(o.source !== undefined ? { source: o.source } : {}),
    ...(o.observer !== undefined ? { observer: o.observer } : {}),
  };
}

function load(text: string, o: TestOptions = {}): LoadedConfig {
  return loadEndpointPickerConfig(text, options(o));
}

function loadError(text: string, o: TestOptions = {}): ConfigError {
  try {
    load(text, o);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** A profile as names: filters, scorer:weight, picker. */
function shape(p: SchedulerProfile | undefined): { filters: string[]; scorers: string[]; picker: string } {
  if (p === undefined) throw new Error('no such profile');
  return {
    filters: p.filters.map((f) => f.name),
    scorers: p.scorers.map((s) => `${s.scorer.name}:${s.weight}`),
    picker: p.picker.name,
  };
}

const names = (list: readonly Plugin[]): string[] => list.map((p) => p.name);

describe('loadEndpointPickerConfig: defaults', () => {
  it('builds the implicit default profile, single handler, picker and data-layer defaults', () => {
    const cfg = load(`
plugins:
- type: decode-filter
- type: queue-scorer
- name: kv
  type: kv-cache-utilization-scorer
  parameters: {threshold: 0.9}
- type: prefill-filter
`);
    expect([...cfg.profiles.keys()]).toEqual(['default']);
    expect(shape(cfg.profiles.get('default'))).toEqual({
      filters: ['decode-filter', 'prefill-filter'],
      scorers: ['queue-scorer:1', 'kv:1'],
      picker: 'max-score-picker',
    });
    expect(cfg.profileHandler.type).toBe('single-profile-handler');
    expect(cfg.profileHandler.name).toBe('single-profile-handler');
    expect(cfg.autoAdded).toEqual([
      { name: 'single-profile-handler', type: 'single-profile-handler', reason: 'one profile and no profile handler' },
      { name: 'max-score-picker', type: 'max-score-picker', reason: 'profile "default" has no picker' },
      { name: 'metrics-data-source', type: 'metrics-data-source', reason: 'default metrics source' },
      { name: 'core-metrics-extractor', type: 'core-metrics-extractor', reason: 'default metrics extractor' },
    ]);
    expect((cfg.plugins.get('kv') as FakePlugin).params).toEqual({ threshold: 0.9 });
    expect((cfg.plugins.get('queue-scorer') as FakePlugin).params).toEqual({ threshold: 0.5 });
    expect((cfg.plugins.get('max-score-picker') as FakePlugin).params).toEqual({ maxNumOfEndpoints: 1 });
    expect(names(cfg.dataLayer.sources.map((s) => s.plugin))).toEqual(['metrics-data-source']);
    expect(names(cfg.dataLayer.sources[0]?.extractors ?? [])).toEqual(['core-metrics-extractor']);
    expect(cfg.saturationDetector).toBeNull();
    expect(cfg.parsers).toEqual([]);
    expect(cfg.flowControl).toBeNull();
  });

  it('uses a configured picker in the implicit profile instead of adding one', () => {
    const cfg = load('plugins:\n- type: queue-scorer\n- {type: max-score-picker, name: top2, parameters: {maxNumOfEndpoints: 2}}\n');
    expect(shape(cfg.profiles.get('default')).picker).toBe('top2');
    expect(cfg.plugins.has('max-score-picker')).toBe(false);
  });

  it('defaults scorer weights to 1 and keeps integer and float weights', () => {
    const cfg = load(`
plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: prefix-cache-scorer}]
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer}, {pluginRef: kv-cache-utilization-scorer, weight: 2}, {pluginRef: prefix-cache-scorer, weight: 0.25}]
`);
    expect(shape(cfg.profiles.get('default')).scorers).toEqual(['queue-scorer:1', 'kv-cache-utilization-scorer:2', 'prefix-cache-scorer:0.25']);
  });

  it('gives a profile without a picker the first configured picker (as upstream reuses an existing one)', () => {
    const cfg = load(
      `
plugins: [{type: prefill-filter}, {type: decode-filter}, {type: random-picker}, {type: pd-profile-handler}]
schedulingProfiles:
- {name: prefill, plugins: [{pluginRef: prefill-filter}, {pluginRef: random-picker}]}
- {name: decode, plugins: [{pluginRef: decode-filter}]}
`,
      { extra: [fake('random-picker', ['picker'])] },
    );
    expect(shape(cfg.profiles.get('decode')).picker).toBe('random-picker');
    expect(cfg.plugins.has('max-score-picker')).toBe(false);
  });

  it('accepts a reference to an unconfigured system default by its type name', () => {
    const cfg = load('plugins: [{type: queue-scorer}]\nschedulingProfiles:\n- {name: d, plugins: [{pluginRef: queue-scorer}, {pluginRef: max-score-picker}]}\n');
    expect(shape(cfg.profiles.get('d')).picker).toBe('max-score-picker');
  });

  it('builds a scheduler that schedules with the loaded profiles and reports to the observer', () => {
    const calls: string[] = [];
    const observer = {
      pluginDuration: (point: ExtensionPoint, _type: string, name: string) => calls.push(`${point}:${name}`),
      attempt: (status: string) => calls.push(`attempt:${status}`),
    };
    const cfg = load('plugins: [{type: queue-scorer}]\n', { observer });
    const result = cfg.scheduler.schedule(context(), request(), [endpoint('a'), endpoint('b')]);
    expect(result.primaryProfileName).toBe('default');
    expect(result.profileResults.get('default')?.targets.map((e) => e.metadata.name)).toEqual(['a']);
    expect(calls).toContain('scorer:queue-scorer');
    expect(calls).toContain('picker:max-score-picker');
    expect(calls.at(-1)).toBe('attempt:success');
  });
});

describe('loadEndpointPickerConfig: upstream samples', () => {
  it('loads the GIE chart config (endpoint-picker.md §2)', () => {
    const cfg = load(`
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
`);
    expect(cfg.apiVersion).toBe('inference.networking.x-k8s.io/v1alpha1');
    expect(cfg.warnings).toHaveLength(1);
    expect(shape(cfg.profiles.get('default'))).toEqual({
      filters: [],
      scorers: ['queue-scorer:2', 'kv-cache-utilization-scorer:2', 'prefix-cache-scorer:3'],
      picker: 'max-score-picker',
    });
    expect(cfg.profileHandler.type).toBe('single-profile-handler');
  });

  it('loads the llm-d v0.3.0 P/D config with its profile handler (endpoint-picker.md §2)', () => {
    const cfg = load(`
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
`);
    expect(cfg.profileHandler.name).toBe('pd-profile-handler');
    expect(shape(cfg.profiles.get('prefill'))).toEqual({ filters: ['prefill-filter'], scorers: ['prefix-cache-scorer:2'], picker: 'max-score-picker' });
    expect(shape(cfg.profiles.get('decode'))).toEqual({ filters: ['decode-filter'], scorers: ['prefix-cache-scorer:2'], picker: 'max-score-picker' });
    // The producers prefix-cache-scorer needs come before the plugins that need them.
    expect(names(cfg.producers)).toEqual(['token-producer', 'approx-prefix-cache-producer']);
    expect(names(cfg.preRequestHooks)).toEqual(['prefill-header-handler', 'approx-prefix-cache-producer', 'prefix-cache-scorer']);
    expect(cfg.autoAdded.map((a) => a.name)).toEqual(['approx-prefix-cache-producer', 'token-producer', 'metrics-data-source', 'core-metrics-extractor']);
    const result = cfg.scheduler.schedule(context(), request(), [endpoint('a')]);
    expect([...result.profileResults.keys()]).toEqual(['prefill', 'decode']);
  });

  it('loads the HEAD built-in default (endpoint-picker-head.md §1.1 a)', () => {
    const cfg = load(DEFAULT_ENDPOINT_PICKER_CONFIG);
    expect(cfg.apiVersion).toBe('llm-d.ai/v1alpha1');
    expect(shape(cfg.profiles.get('default'))).toEqual({
      filters: [],
      scorers: ['queue-scorer:2', 'kv-cache-utilization-scorer:2', 'prefix-cache-scorer:3'],
      picker: 'max-score-picker',
    });
    expect([...cfg.plugins.keys()]).toEqual([
      'queue-scorer',
      'kv-cache-utilization-scorer',
      'prefix-cache-scorer',
      'metrics-data-source',
      'core-metrics-extractor',
      'approx-prefix-cache-producer',
      'token-producer',
      'single-profile-handler',
      'max-score-picker',
    ]);
    // The configured source is not injected a second time.
    expect(cfg.dataLayer.sources).toHaveLength(1);
    expect(names(cfg.dataLayer.sources[0]?.extractors ?? [])).toEqual(['core-metrics-extractor']);
    expect(names(cfg.producers)).toEqual(['token-producer', 'approx-prefix-cache-producer']);
  });

  it('loads the file-discovery config shape (endpoint-picker-head.md §2)', () => {
    const discovery = definePlugin({
      type: 'file-discovery',
      parameters: z.strictObject({ path: z.string(), watchFile: z.boolean().default(false) }),
      create: (name, params) => ({ type: 'file-discovery', name, params }),
    });
    const cfg = load(
      `
plugins:
- {name: file-discovery, type: file-discovery, parameters: {path: /etc/epp/endpoints.yaml, watchFile: true}}
- type: queue-scorer
dataLayer: {discovery: {pluginRef: file-discovery}}
`,
      { extra: [discovery as PluginFactory<unknown>] },
    );
    expect(cfg.dataLayer.discovery?.name).toBe('file-discovery');
    expect((cfg.dataLayer.discovery as unknown as { params: unknown }).params).toEqual({ path: '/etc/epp/endpoints.yaml', watchFile: true });
    // file-discovery is neither a filter, scorer nor picker, so the implicit profile leaves it out.
    expect(shape(cfg.profiles.get('default')).scorers).toEqual(['queue-scorer:1']);
  });
});

describe('loadEndpointPickerConfig: auto-required plugins', () => {
  it('adds required types recursively with default parameters, named after their type', () => {
    const cfg = load('plugins: [{type: prefix-cache-scorer}]\n');
    expect(cfg.autoAdded.slice(0, 2)).toEqual([
      { name: 'approx-prefix-cache-producer', type: 'approx-prefix-cache-producer', reason: 'required by "prefix-cache-scorer"' },
      { name: 'token-producer', type: 'token-producer', reason: 'required by "approx-prefix-cache-producer"' },
    ]);
    expect((cfg.plugins.get('token-producer') as FakePlugin).params).toEqual({ threshold: 0.5 });
  });

  it('does not add a required type that a configured plugin already has under another name', () => {
    const cfg = load('plugins: [{type: prefix-cache-scorer}, {name: tokens, type: token-producer, parameters: {threshold: 1}}]\n');
    expect(cfg.plugins.has('token-producer')).toBe(false);
    expect(cfg.autoAdded.map((a) => a.name)).toContain('approx-prefix-cache-producer');
    expect(names(cfg.producers)).toEqual(['tokens', 'approx-prefix-cache-producer']);
  });

  it('lets the parameters of a plugin decide what it requires', () => {
    const needs = fake('needs-sometimes', ['scorer'], { requires: ['new-producer'], requiresFor: (p) => ((p as { threshold: number }).threshold > 0.5 ? ['new-producer'] : []) });
    const extra = [needs, fake('new-producer', ['producer'])];
    expect(load('plugins: [{type: needs-sometimes}]\n', { extra }).plugins.has('new-producer')).toBe(false);
    expect(load('plugins: [{type: needs-sometimes, parameters: {threshold: 0.9}}]\n', { extra }).plugins.has('new-producer')).toBe(true);
  });

  it('resolves required types given by alias', () => {
    const cfg = load('plugins: [{type: needs-old-name}]\n', {
      extra: [fake('needs-old-name', ['scorer'], { requires: ['old-producer'] }), fake('new-producer', ['producer'], { aliases: ['old-producer'] })],
    });
    expect(cfg.plugins.get('new-producer')?.type).toBe('new-producer');
  });

  it.each([
    {
      case: 'a required type that is not registered',
      text: 'plugins: [{name: mine, type: needs-missing}]\n',
      extra: [fake('needs-missing', ['scorer'], { requires: ['missing-producer'] })],
      error: /^plugins\[0\] \(mine\): plugin "mine" requires plugin type "missing-producer", which is not registered \(registered: /,
    },
    {
      case: 'a required plugin whose name is taken by another type',
      text: 'plugins: [{name: token-producer, type: queue-scorer}, {type: prefix-cache-scorer}]\n',
      extra: [],
      error: /^plugins\[0\] \(token-producer\): required by "approx-prefix-cache-producer": the name "token-producer" is taken by a plugin of type "queue-scorer"$/,
    },
    {
      case: 'a required plugin that needs parameters',
      text: 'plugins: [{name: mine, type: needs-configured}]\n',
      extra: [
        fake('needs-configured', ['scorer'], { requires: ['configured-producer'] }),
        fake('configured-producer', ['producer'], { parameters: z.strictObject({ url: z.string() }) }),
      ],
      error: /^plugins\[0\] \(mine\): required by "mine": "configured-producer" cannot be created with default parameters \(parameters\.url: required \(a string\)\)$/,
    },
  ])('rejects $case', ({ text, extra, error }) => {
    expect(loadError(text, { extra }).message).toMatch(error);
  });
});

describe('loadEndpointPickerConfig: feature gates', () => {
  const gated = fake('experimental-scorer', ['scorer'], { featureGate: 'experimentalScoring' });
  const gates = (): FeatureGates =>
    new FeatureGates([
      { name: 'experimentalScoring', default: false, maturity: 'experimental', description: 'x' },
      { name: 'flowControl', default: false, maturity: 'beta', description: 'fc' },
    ]);

  it('applies known gates to the given FeatureGates and loads gated plugins when their gate is on', () => {
    const g = gates();
    const policies = [fake('global-strict-fairness-policy', ['fairness']), fake('fcfs-ordering-policy', ['ordering'])];
    const cfg = load('featureGates: [experimentalScoring, flowControl]\nplugins: [{type: experimental-scorer}]\n', { extra: [gated, ...policies], gates: g });
    expect(cfg.featureGates).toBe(g);
    expect(g.enabledNames()).toEqual(['experimentalScoring', 'flowControl']);
    expect(shape(cfg.profiles.get('default')).scorers).toEqual(['experimental-scorer:1']);
  });

  it.each([
    {
      case: 'a gated plugin whose gate is off',
      text: 'plugins: [{type: experimental-scorer}]\n',
      error:
        'cfg.yaml: plugins[0] (experimental-scorer).type: plugin type "experimental-scorer" is behind the feature gate "experimentalScoring", which is off (enable it in featureGates)',
    },
    {
      case: 'a gated plugin whose gate is switched off explicitly',
      text: 'featureGates: {experimentalScoring: false}\nplugins: [{name: x, type: experimental-scorer}]\n',
      error: 'cfg.yaml: plugins[0] (x).type: plugin type "experimental-scorer" is behind the feature gate "experimentalScoring", which is off (enable it in featureGates)',
    },
    {
      case: 'an unknown gate',
      text: 'featureGates: [experimentalScorin]\n',
      error: 'cfg.yaml: featureGates[0]: unknown feature gate "experimentalScorin" (known: experimentalScoring, flowControl)',
    },
  ])('rejects $case', ({ text, error }) => {
    expect(loadError(text, { extra: [gated], gates: gates(), source: 'cfg.yaml' }).message).toBe(error);
  });

  it('rejects a plugin type whose gate was never declared', () => {
    const err = loadError('plugins: [{type: undeclared-scorer}]\n', { extra: [fake('undeclared-scorer', ['scorer'], { featureGate: 'experimentalNope' })] });
    expect(err.message).toBe('plugins[0] (undeclared-scorer).type: plugin type "undeclared-scorer" names feature gate "experimentalNope", which is not declared');
  });
});

describe('loadEndpointPickerConfig: malformed configs', () => {
  const boom = definePlugin({
    type: 'boom-scorer',
    parameters: z.strictObject({}),
    create: () => {
      throw new Error('kaboom');
    },
  }) as PluginFactory<unknown>;
  const liar = definePlugin({ type: 'liar-scorer', parameters: z.strictObject({}), create: (name) => ({ type: 'other', name }) }) as PluginFactory<unknown>;

  it.each([
    {
      case: 'unknown type',
      text: 'plugins: [{type: queue-scorer}, {name: foo, type: foo-scorer}]\n',
      error: /^plugins\[1\] \(foo\)\.type: unknown plugin type "foo-scorer" \(registered: approx-prefix-cache-producer, /,
    },
    {
      case: 'bad parameter type',
      text: 'plugins: [{type: queue-scorer}, {type: decode-filter}, {name: my-scorer, type: queue-scorer, parameters: {threshold: high}}]\n',
      error: 'plugins[2] (my-scorer).parameters.threshold: expected a number, got string "high"',
    },
    {
      case: 'unknown parameter',
      text: 'plugins: [{type: queue-scorer, parameters: {thresh: 1}}]\n',
      error: 'plugins[0] (queue-scorer).parameters.thresh: unknown field',
    },
    {
      case: 'parameters not a mapping',
      text: 'plugins: [{type: queue-scorer, parameters: 5}]\n',
      error: 'plugins[0] (queue-scorer).parameters: expected a mapping, got number 5',
    },
    {
      case: 'dangling pluginRef in a profile',
      text: 'plugins: [{type: queue-scorer}]\nschedulingProfiles:\n- {name: default, plugins: [{pluginRef: queue-scorer}, {pluginRef: nope}]}\n',
      error: 'schedulingProfiles[0] (default).plugins[1].pluginRef: unknown plugin "nope" (configured: queue-scorer, single-profile-handler)',
    },
    {
      case: 'non-scheduling plugin in a profile',
      text: 'plugins: [{type: prefill-header-handler}]\nschedulingProfiles:\n- {name: d, plugins: [{pluginRef: prefill-header-handler}]}\n',
      error: 'schedulingProfiles[0] (d).plugins[0].pluginRef: plugin "prefill-header-handler" (type prefill-header-handler) is not a filter, scorer or picker',
    },
    {
      case: 'profile handler in a profile',
      text: 'plugins: [{type: pd-profile-handler}]\nschedulingProfiles:\n- {name: d, plugins: [{pluginRef: pd-profile-handler}]}\n',
      error: 'schedulingProfiles[0] (d).plugins[0].pluginRef: plugin "pd-profile-handler" (type pd-profile-handler) is not a filter, scorer or picker',
    },
    {
      case: 'two profile handlers',
      text: 'plugins: [{type: single-profile-handler}, {name: pd, type: pd-profile-handler}]\n',
      error: 'plugins[1] (pd): a second profile handler ("pd"); only one is allowed (first: "single-profile-handler" at plugins[0])',
    },
    {
      case: 'two profiles and no handler',
      text: 'schedulingProfiles: [{name: a}, {name: b}]\n',
      error: 'schedulingProfiles: 2 profiles need a profile handler, and none is configured',
    },
    {
      case: 'single-profile-handler with two profiles',
      text: 'plugins: [{type: single-profile-handler}]\nschedulingProfiles: [{name: a}, {name: b}]\n',
      error: 'plugins[0] (single-profile-handler): single-profile-handler supports one profile, but 2 are configured',
    },
    {
      case: 'two pickers in a profile',
      text: 'plugins: [{type: max-score-picker}, {name: other, type: max-score-picker}]\nschedulingProfiles:\n- {name: d, plugins: [{pluginRef: max-score-picker}, {pluginRef: other}]}\n',
      error: 'schedulingProfiles[0] (d).plugins[1].pluginRef: profile "d" already has picker "max-score-picker"; a profile has one picker',
    },
    {
      case: 'two pickers in the implicit profile',
      text: 'plugins: [{type: max-score-picker}, {name: other, type: max-score-picker}]\n',
      error: 'schedulingProfiles (implicit "default" profile): profile "default" already has picker "max-score-picker"; a profile has one picker',
    },
    {
      case: 'a factory that throws',
      text: 'plugins: [{name: boom, type: boom-scorer}]\n',
      error: 'plugins[0] (boom): could not create plugin "boom" (type boom-scorer): kaboom',
    },
    {
      case: 'a factory that returns the wrong type',
      text: 'plugins: [{name: l, type: liar-scorer}]\n',
      error: 'plugins[0] (l): the factory of "liar-scorer" returned a plugin with type "other" and name "l" (expected "liar-scorer" and "l")',
    },
    {
      case: 'dangling saturation detector',
      text: 'flowControl: {saturationDetector: {pluginRef: my-detector}}\n',
      error: /^flowControl\.saturationDetector\.pluginRef: unknown plugin "my-detector" \(configured: /,
    },
    {
      case: 'dangling data-layer source',
      text: 'dataLayer: {sources: [{pluginRef: prom}]}\n',
      error: /^dataLayer\.sources\[0\]\.pluginRef: unknown plugin "prom" /,
    },
    {
      case: 'dangling extractor',
      text: 'plugins: [{type: metrics-data-source}]\ndataLayer: {sources: [{pluginRef: metrics-data-source, extractors: [{pluginRef: x}]}]}\n',
      error: /^dataLayer\.sources\[0\]\.extractors\[0\]\.pluginRef: unknown plugin "x" /,
    },
    {
      case: 'dangling discovery',
      text: 'dataLayer: {discovery: {pluginRef: file-discovery}}\n',
      error: /^dataLayer\.discovery\.pluginRef: unknown plugin "file-discovery" /,
    },
    {
      case: 'dangling parser',
      text: 'requestHandler: {parsers: [{pluginRef: my-parser}]}\n',
      error: /^requestHandler\.parsers\[0\]\.pluginRef: unknown plugin "my-parser" /,
    },
  ])('rejects $case', ({ text, error }) => {
    const err = loadError(text, { extra: [boom, liar] });
    if (typeof error === 'string') expect(err.message).toBe(error);
    else expect(err.message).toMatch(error);
  });

  it('keeps the cause of a factory error', () => {
    const err = loadError('plugins: [{type: boom-scorer}]\n', { extra: [boom] });
    expect((err.cause as Error).message).toBe('kaboom');
  });

  it.each([
    {
      case: 'no max-score-picker for a profile without picker',
      only: [fake('queue-scorer', ['scorer']), fake('single-profile-handler', ['handler'])],
      error: /^schedulingProfiles \(implicit "default" profile\): profile "default" has no picker, but plugin type "max-score-picker" is not registered \(registered: queue-scorer, single-profile-handler\)$/,
    },
    {
      case: 'no single-profile-handler for one profile without handler',
      only: [fake('queue-scorer', ['scorer']), fake('max-score-picker', ['picker'])],
      error: /^schedulingProfiles: one profile and no profile handler, but plugin type "single-profile-handler" is not registered/,
    },
  ])('rejects a registry with $case', ({ only, error }) => {
    expect(loadError('plugins: [{type: queue-scorer}]\n', { only }).message).toMatch(error);
  });

  it('prefixes the source to phase-2 errors', () => {
    expect(loadError('plugins: [{type: nope}]\n', { source: '--config-text' }).message).toMatch(/^--config-text: plugins\[0\] \(nope\)\.type: unknown plugin type "nope"/);
  });
});

describe('loadEndpointPickerConfig: plugin handle', () => {
  it('resolves other plugins lazily, by name and by type (aliases too), after loading', () => {
    let captured: PluginHandle | undefined;
    const watcher = fake('watcher-scorer', ['scorer'], { onCreate: (_n, h) => (captured = h) });
    const cfg = load('plugins: [{type: watcher-scorer}, {type: queue-scorer}, {name: q2, type: queue-depth-old}]\n', {
      extra: [watcher, fake('queue-depth-scorer', ['scorer'], { aliases: ['queue-depth-old'] })],
    });
    const handle = captured as PluginHandle;
    expect(handle.plugin('queue-scorer')).toBe(cfg.plugins.get('queue-scorer'));
    expect(handle.plugin('nope')).toBeUndefined();
    expect(names(handle.pluginsOfType('queue-depth-old'))).toEqual(['q2']);
    expect(names(handle.pluginsOfType('max-score-picker'))).toEqual(['max-score-picker']);
    expect(handle.featureGates).toBe(cfg.featureGates);
    expect(typeof handle.logger.child).toBe('function');
  });

  it('refuses plugin lookups while plugins are still being created', () => {
    const eager = fake('eager-scorer', ['scorer'], { onCreate: (_n, h) => void h.plugin('queue-scorer') });
    const err = loadError('plugins: [{type: queue-scorer}, {name: e, type: eager-scorer}]\n', { extra: [eager] });
    expect(err.message).toBe(
      'plugins[1] (e): could not create plugin "e" (type eager-scorer): handle.plugin("queue-scorer") was called while plugins are still being created; look other plugins up when they are first used',
    );
  });
});

describe('loadEndpointPickerConfig: other layers', () => {
  const extra = [
    fake('utilization-detector', ['filter', 'detector']),
    fake('concurrency-detector', ['filter', 'detector']),
    fake('openai-parser', []),
    fake('passthrough-parser', []),
    fake('rate-admitter', ['admitter']),
    fake('usage-tracker', ['response', 'pre-request']),
  ];

  it('adds the default saturation detector and the registered default parsers when none are configured', () => {
    const cfg = load('plugins: [{type: queue-scorer}]\n', { extra });
    expect(cfg.saturationDetector?.name).toBe('utilization-detector');
    expect(names(cfg.parsers)).toEqual(['openai-parser', 'passthrough-parser']);
    // The detector is a filter but is not in the implicit profile: it was not configured.
    expect(shape(cfg.profiles.get('default')).filters).toEqual([]);
  });

  it('resolves the configured detector, parsers and hooks in config order', () => {
    const cfg = load(
      `
plugins:
- {type: usage-tracker}
- {name: cd, type: concurrency-detector}
- {type: rate-admitter}
- {type: openai-parser}
saturationDetector: {pluginRef: cd}
requestHandler: {parsers: [{pluginRef: openai-parser}]}
schedulingProfiles: [{name: default}]
flowControl: {maxRequests: 10}
`,
      { extra },
    );
    expect(cfg.saturationDetector?.name).toBe('cd');
    expect(names(cfg.parsers)).toEqual(['openai-parser']);
    expect(names(cfg.admitters)).toEqual(['rate-admitter']);
    expect(names(cfg.responseHooks)).toEqual(['usage-tracker']);
    expect(names(cfg.preRequestHooks)).toEqual(['usage-tracker']);
    expect(cfg.plugins.has('utilization-detector')).toBe(false);
    expect(cfg.flowControl?.maxRequests).toBe(10);
    expect(cfg.warnings).toEqual([
      expect.stringMatching(/top-level saturationDetector is deprecated/),
      expect.stringMatching(/flowControl is configured but the "flowControl" feature gate is off: only its saturationDetector is used/),
    ]);
    expect(cfg.flowControlConfig).toBeNull();
  });

  it.each([
    { case: 'injectDefaults: false', text: 'dataLayer: {injectDefaults: false}\n', sources: [] },
    {
      case: 'a metrics source under another name',
      text: 'plugins: [{name: prom, type: metrics-data-source}]\ndataLayer: {sources: [{pluginRef: prom}]}\n',
      sources: ['prom'],
    },
  ])('does not inject the metrics source with $case', ({ text, sources }) => {
    const cfg = load(text);
    expect(names(cfg.dataLayer.sources.map((s) => s.plugin))).toEqual(sources);
    expect(cfg.plugins.has('metrics-data-source')).toBe(false);
    expect(cfg.autoAdded.map((a) => a.name)).not.toContain('core-metrics-extractor');
  });

  it('runs phase 2 on a phase-1 result', () => {
    const o = options();
    const spec = parseEndpointPickerConfig('plugins: [{type: queue-scorer}]\n', { featureGates: o.featureGates });
    const cfg = instantiateEndpointPickerConfig(spec, o);
    expect(cfg.spec).toBe(spec);
    expect(cfg.raw).toEqual({ plugins: [{ type: 'queue-scorer' }] });
  });
});

describe('loadEndpointPickerConfig: flowControl', () => {
  const gates = (): FeatureGates => new FeatureGates([{ name: 'flowControl', default: false, maturity: 'beta', description: 'fc' }]);
  const extra = [
    fake('utilization-detector', ['filter', 'detector']),
    fake('global-strict-fairness-policy', ['fairness']),
    fake('round-robin-fairness-policy', ['fairness']),
    fake('fcfs-ordering-policy', ['ordering']),
    fake('edf-ordering-policy', ['ordering']),
    fake('static-usage-limit-policy', ['usage-limit']),
    fake('priority-holdback-policy', ['usage-limit']),
  ];
  const on = (text: string) => load(`featureGates: [flowControl]\n${text}`, { extra, gates: gates() });
  const onError = (text: string) => loadError(`featureGates: [flowControl]\n${text}`, { extra, gates: gates() });

  it('applies upstream defaults when the gate is on and the section is absent: a priority-0 band, 60s TTL, 1 GB per band, no global limit', () => {
    const fc = on('plugins: [{type: queue-scorer}]\n').flowControlConfig;
    expect(fc).toMatchObject({ maxBytes: 0, maxRequests: 0, defaultRequestTTLMs: 60_000, noEndpointRequestTTLMs: null, defaultNegativePriorityBand: null });
    expect(fc?.usageLimitPolicy?.type).toBe('static-usage-limit-policy');
    expect(fc?.priorityBands.map((b) => [b.priority, b.maxBytes, b.maxRequests, b.fairnessPolicy.name, b.orderingPolicy.name])).toEqual([
      [0, 1_000_000_000, 0, 'global-strict-fairness-policy', 'fcfs-ordering-policy'],
    ]);
  });

  it('resolves bands (highest first), templates and policies by type name or by configured plugin name', () => {
    const cfg = on(`
plugins:
- {type: queue-scorer}
- {name: fair, type: round-robin-fairness-policy}
flowControl:
  maxRequests: 1k
  maxBytes: 1Mi
  defaultRequestTTL: 30s
  noEndpointRequestTTL: 5m
  defaultPriorityBand: {maxRequests: 50, fairnessPolicyRef: fair}
  defaultNegativePriorityBand: {maxRequests: 0, maxBytes: 1k, orderingPolicyRef: edf-ordering-policy}
  priorityBands:
  - {priority: -1, maxRequests: 5, defaultRequestTTL: 2s}
  - {priority: 10, fairnessPolicyRef: round-robin-fairness-policy, orderingPolicyRef: edf-ordering-policy}
`);
    const fc = cfg.flowControlConfig;
    expect(fc).toMatchObject({ maxRequests: 1000, maxBytes: 1 << 20, defaultRequestTTLMs: 30_000, noEndpointRequestTTLMs: 300_000 });
    expect(fc?.priorityBands.map((b) => [b.priority, b.maxRequests, b.requestTTLMs, b.fairnessPolicy.name, b.orderingPolicy.name])).toEqual([
      [10, 0, null, 'round-robin-fairness-policy', 'edf-ordering-policy'],
      [0, 50, null, 'fair', 'fcfs-ordering-policy'],
      [-1, 5, 2000, 'global-strict-fairness-policy', 'fcfs-ordering-policy'],
    ]);
    expect(fc?.defaultNegativePriorityBand).toMatchObject({ maxRequests: 0, maxBytes: 1000 });
    expect(fc?.defaultNegativePriorityBand?.orderingPolicy.name).toBe('edf-ordering-policy');
    // The policies named by type were added once, under their type name.
    expect(cfg.autoAdded.map((a) => a.name)).toEqual(expect.arrayContaining(['round-robin-fairness-policy', 'edf-ordering-policy', 'fcfs-ordering-policy']));
  });

  it.each([
    {
      case: 'an unknown policy',
      text: 'flowControl: {priorityBands: [{priority: 1, fairnessPolicyRef: fair-share}]}\n',
      error: /^flowControl\.priorityBands\[0\]\.fairnessPolicyRef: unknown fairness policy "fair-share"/,
    },
    {
      case: 'an ordering policy used for fairness',
      text: 'flowControl: {defaultPriorityBand: {fairnessPolicyRef: fcfs-ordering-policy}}\n',
      error: /^flowControl\.defaultPriorityBand\.fairnessPolicyRef: plugin "fcfs-ordering-policy" \(type fcfs-ordering-policy\) is not a fairness policy/,
    },
    {
      case: 'a scorer used for ordering',
      text: 'plugins: [{type: queue-scorer}]\nflowControl: {priorityBands: [{priority: 3, orderingPolicyRef: queue-scorer}]}\n',
      error: /^flowControl\.priorityBands\[0\]\.orderingPolicyRef: plugin "queue-scorer" \(type queue-scorer\) is not an ordering policy/,
    },
    {
      case: 'a detector reference to a plugin that is no detector',
      text: 'plugins: [{type: queue-scorer}]\nflowControl: {saturationDetector: {pluginRef: queue-scorer}}\n',
      error: /^flowControl\.saturationDetector\.pluginRef: plugin "queue-scorer" \(type queue-scorer\) is not a saturation detector/,
    },
  ])('rejects $case, naming the key', ({ text, error }) => {
    expect(onError(text).message).toMatch(error);
  });

  it('refuses to run flow control in an app that registers no policies', () => {
    const err = loadError('featureGates: [flowControl]\n', { gates: gates() });
    expect(err.message).toMatch(/the "flowControl" gate is on, but the default policies global-strict-fairness-policy and fcfs-ordering-policy are not registered/);
  });

  it('resolves usageLimitPolicyPluginRef by plugin name or type, and refuses a plugin of another kind', () => {
    const named = on('plugins:\n- {type: queue-scorer}\n- {name: holdback, type: priority-holdback-policy}\nflowControl: {usageLimitPolicyPluginRef: holdback}\n');
    expect(named.flowControlConfig?.usageLimitPolicy?.name).toBe('holdback');
    expect(on('plugins: [{type: queue-scorer}]\nflowControl: {usageLimitPolicyPluginRef: priority-holdback-policy}\n').flowControlConfig?.usageLimitPolicy?.type).toBe('priority-holdback-policy');
    expect(onError('plugins: [{type: queue-scorer}]\nflowControl: {usageLimitPolicyPluginRef: queue-scorer}\n').message).toMatch(
      /^flowControl\.usageLimitPolicyPluginRef: plugin "queue-scorer" \(type queue-scorer\) is not a usage limit policy/,
    );
    expect(onError('flowControl: {usageLimitPolicyPluginRef: soft-ceiling}\n').message).toMatch(/^flowControl\.usageLimitPolicyPluginRef: unknown usage limit policy "soft-ceiling"/);
  });

  it('warns about the settings it accepts but does not act on', () => {
    const cfg = on('plugins: [{type: queue-scorer}]\nflowControl: {enableEviction: true}\n');
    expect(cfg.warnings).toEqual([expect.stringMatching(/enableEviction is accepted, but dispatched requests are never evicted/)]);
  });
});
