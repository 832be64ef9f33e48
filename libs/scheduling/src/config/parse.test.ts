import { FeatureGates } from '@llmd/feature-gates';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseEndpointPickerConfig, validateEndpointPickerConfig } from './parse.js';

const gates = (): FeatureGates =>
  new FeatureGates([
    { name: 'flowControl', default: false, maturity: 'beta', description: 'flow control' },
    { name: 'haPopulateNonLeaderDatastore', default: true, maturity: 'beta', description: 'ha' },
  ]);

function parseError(text: string, options: Parameters<typeof parseEndpointPickerConfig>[1] = {}): ConfigError {
  try {
    parseEndpointPickerConfig(text, options);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEndpointPickerConfig: shape', () => {
  it('applies static defaults: name = type, apiVersion when omitted', () => {
    const spec = parseEndpointPickerConfig(`
plugins:
- type: queue-scorer
- name: my-prefix
  type: prefix-cache-scorer
  parameters: {hashBlockSize: 5}
- type: max-score-picker
  name: ""
  parameters:
`);
    expect(spec.apiVersion).toBe('llm-d.ai/v1alpha1');
    expect(spec.kind).toBe('EndpointPickerConfig');
    expect(spec.plugins).toEqual([
      { name: 'queue-scorer', type: 'queue-scorer', parameters: undefined, path: 'plugins[0]' },
      { name: 'my-prefix', type: 'prefix-cache-scorer', parameters: { hashBlockSize: 5 }, path: 'plugins[1]' },
      { name: 'max-score-picker', type: 'max-score-picker', parameters: undefined, path: 'plugins[2]' },
    ]);
    expect(spec.schedulingProfiles).toEqual([]);
    expect(spec.warnings).toEqual([]);
  });

  it('reads JSON too, and warns about the deprecated apiVersion', () => {
    const spec = parseEndpointPickerConfig(
      JSON.stringify({
        apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
        kind: 'EndpointPickerConfig',
        plugins: [{ type: 'queue-scorer' }],
        schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'queue-scorer', weight: 2.5 }] }],
      }),
    );
    expect(spec.apiVersion).toBe('inference.networking.x-k8s.io/v1alpha1');
    expect(spec.schedulingProfiles).toEqual([
      {
        name: 'default',
        path: 'schedulingProfiles[0]',
        plugins: [{ pluginRef: 'queue-scorer', weight: 2.5, path: 'schedulingProfiles[0].plugins[0].pluginRef' }],
      },
    ]);
    expect(spec.warnings).toEqual([expect.stringMatching(/apiVersion inference.networking.x-k8s.io\/v1alpha1 is deprecated/)]);
  });

  it('normalises dataLayer, parsers and the saturation detector (new fields win over deprecated ones)', () => {
    const spec = parseEndpointPickerConfig(`
saturationDetector: {pluginRef: old-detector}
parser: {pluginRef: old-parser}
requestHandler:
  parsers: [{pluginRef: openai-parser}, {pluginRef: vllmhttp-parser}]
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
dataLayer:
  injectDefaults: false
  discovery: {pluginRef: file-discovery}
  crossReplicaSyncInterval: 2s
  sources:
  - pluginRef: metrics-data-source
    extractors: [{pluginRef: core-metrics-extractor}]
`);
    expect(spec.saturationDetector).toEqual({ pluginRef: 'concurrency-detector', path: 'flowControl.saturationDetector.pluginRef' });
    expect(spec.parsers).toEqual([
      { pluginRef: 'openai-parser', path: 'requestHandler.parsers[0].pluginRef' },
      { pluginRef: 'vllmhttp-parser', path: 'requestHandler.parsers[1].pluginRef' },
    ]);
    expect(spec.dataLayer).toEqual({
      injectDefaults: false,
      sources: [
        {
          source: { pluginRef: 'metrics-data-source', path: 'dataLayer.sources[0].pluginRef' },
          extractors: [{ pluginRef: 'core-metrics-extractor', path: 'dataLayer.sources[0].extractors[0].pluginRef' }],
        },
      ],
      discovery: { pluginRef: 'file-discovery', path: 'dataLayer.discovery.pluginRef' },
      peerDiscovery: null,
      crossReplicaSyncer: null,
      crossReplicaSyncIntervalMs: 2000,
    });
    expect(spec.warnings).toHaveLength(2);
  });

  it('falls back to the deprecated top-level parser and saturationDetector', () => {
    const spec = parseEndpointPickerConfig('saturationDetector: {pluginRef: d}\nparser: {pluginRef: p}\n');
    expect(spec.saturationDetector).toEqual({ pluginRef: 'd', path: 'saturationDetector.pluginRef' });
    expect(spec.parsers).toEqual([{ pluginRef: 'p', path: 'parser.pluginRef' }]);
  });

  it('returns flowControl as data, with quantities and durations converted', () => {
    const spec = parseEndpointPickerConfig(`
flowControl:
  maxBytes: 1Gi
  maxRequests: "1k"
  defaultRequestTTL: 60s
  noEndpointRequestTTL: 2m
  enableEviction: true
  usageLimitPolicyPluginRef: static-usage-limit
  defaultPriorityBand: {maxRequests: 100}
  priorityBands:
  - {priority: 10, maxBytes: 500M, fairnessPolicyRef: round-robin-fairness-policy}
  - {priority: -1, maxRequests: 5, orderingPolicyRef: edf-ordering-policy, defaultRequestTTL: 500ms}
`);
    expect(spec.flowControl).toEqual({
      maxBytes: 2 ** 30,
      maxRequests: 1000,
      defaultRequestTTLMs: 60_000,
      noEndpointRequestTTLMs: 120_000,
      defaultPriorityBand: { priority: null, maxBytes: null, maxRequests: 100, requestTTLMs: null, fairnessPolicyRef: null, orderingPolicyRef: null },
      defaultNegativePriorityBand: null,
      priorityBands: [
        { priority: 10, maxBytes: 500_000_000, maxRequests: null, requestTTLMs: null, fairnessPolicyRef: 'round-robin-fairness-policy', orderingPolicyRef: null },
        { priority: -1, maxBytes: null, maxRequests: 5, requestTTLMs: 500, fairnessPolicyRef: null, orderingPolicyRef: 'edf-ordering-policy' },
      ],
      usageLimitPolicyPluginRef: 'static-usage-limit',
      enableEviction: true,
    });
  });

  it('accepts an already-decoded document', () => {
    const spec = validateEndpointPickerConfig({ plugins: [{ type: 'queue-scorer' }] });
    expect(spec.plugins[0]?.name).toBe('queue-scorer');
  });

  it.each([
    { case: 'unknown top-level key', text: 'plugins: []\nschedulingProfile: []\n', error: 'schedulingProfile: unknown field' },
    { case: 'two unknown keys', text: 'a: 1\nb: 2\n', error: 'a: unknown field (also unknown: b)' },
    {
      case: 'bad apiVersion',
      text: 'apiVersion: llm-d.ai/v1\n',
      error: 'apiVersion: expected one of "inference.networking.x-k8s.io/v1alpha1", "llm-d.ai/v1alpha1", got string "llm-d.ai/v1"',
    },
    { case: 'bad kind', text: 'kind: InferencePool\n', error: 'kind: expected "EndpointPickerConfig", got string "InferencePool"' },
    { case: 'unknown plugin key', text: 'plugins:\n- type: a\n  params: {x: 1}\n', error: 'plugins[0].params: unknown field' },
    { case: 'missing plugin type', text: 'plugins:\n- name: a\n', error: 'plugins[0].type: required (a string)' },
    { case: 'empty plugin type', text: 'plugins:\n- type: ""\n', error: 'plugins[0].type: must not be empty' },
    { case: 'plugins not a list', text: 'plugins: {type: a}\n', error: 'plugins: expected a list, got a mapping' },
    {
      case: 'duplicate names',
      text: 'plugins:\n- {name: s, type: a}\n- {name: s, type: b}\n',
      error: 'plugins[1].name: duplicate plugin name "s" (also plugins[0])',
    },
    {
      case: 'duplicate names from types',
      text: 'plugins:\n- {type: a}\n- {type: a}\n',
      error: 'plugins[1].type: duplicate plugin name "a" (the name defaults to the type; also plugins[0]); give one a name',
    },
    {
      case: 'weight as a string',
      text: 'schedulingProfiles:\n- name: d\n  plugins: [{pluginRef: a, weight: "2"}]\n',
      error: 'schedulingProfiles[0].plugins[0].weight: expected a number, got string "2"',
    },
    {
      case: 'weight NaN',
      text: 'schedulingProfiles:\n- name: d\n  plugins: [{pluginRef: a, weight: .nan}]\n',
      error: 'schedulingProfiles[0].plugins[0].weight: expected a number, got number NaN',
    },
    { case: 'profile without name', text: 'schedulingProfiles:\n- plugins: []\n', error: 'schedulingProfiles[0].name: required (a string)' },
    {
      case: 'profile ref without pluginRef',
      text: 'schedulingProfiles:\n- name: d\n  plugins: [{weight: 1}]\n',
      error: 'schedulingProfiles[0].plugins[0].pluginRef: required (a string)',
    },
    {
      case: 'unknown profile key',
      text: 'schedulingProfiles:\n- name: d\n  plugin: []\n',
      error: 'schedulingProfiles[0].plugin: unknown field',
    },
    {
      case: 'duplicate profile names',
      text: 'schedulingProfiles:\n- name: d\n- name: d\n',
      error: 'schedulingProfiles[1].name: duplicate profile name "d" (also schedulingProfiles[0])',
    },
    { case: 'unknown dataLayer key', text: 'dataLayer: {source: []}\n', error: 'dataLayer.source: unknown field' },
    {
      case: 'extractor without pluginRef',
      text: 'dataLayer: {sources: [{pluginRef: m, extractors: [{}]}]}\n',
      error: 'dataLayer.sources[0].extractors[0].pluginRef: required (a string)',
    },
    { case: 'discovery without pluginRef', text: 'dataLayer: {discovery: {}}\n', error: 'dataLayer.discovery.pluginRef: required (a string)' },
    { case: 'injectDefaults not a bool', text: 'dataLayer: {injectDefaults: "no"}\n', error: 'dataLayer.injectDefaults: expected true or false, got string "no"' },
    { case: 'unknown flowControl key', text: 'flowControl: {maxQueue: 1}\n', error: 'flowControl.maxQueue: unknown field' },
    {
      case: 'bad quantity',
      text: 'flowControl: {maxBytes: lots}\n',
      error: 'flowControl.maxBytes: expected a non-negative quantity such as 100, 1k or 1Gi, got string "lots"',
    },
    {
      case: 'negative quantity',
      text: 'flowControl: {maxRequests: -5}\n',
      error: 'flowControl.maxRequests: expected a non-negative quantity such as 100, 1k or 1Gi, got number -5',
    },
    {
      case: 'duration as a number',
      text: 'flowControl: {defaultRequestTTL: 60}\n',
      error: 'flowControl.defaultRequestTTL: expected a non-negative duration such as 60s or 1m30s, got number 60',
    },
    {
      case: 'band without priority',
      text: 'flowControl: {priorityBands: [{maxRequests: 1}]}\n',
      error: 'flowControl.priorityBands[0].priority: required (a number)',
    },
    {
      case: 'fractional priority',
      text: 'flowControl: {priorityBands: [{priority: 1.5}]}\n',
      error: 'flowControl.priorityBands[0].priority: expected an integer, got number 1.5',
    },
    {
      case: 'unknown band key',
      text: 'flowControl: {priorityBands: [{priority: 1, fairness: x}]}\n',
      error: 'flowControl.priorityBands[0].fairness: unknown field',
    },
    {
      case: 'duplicate band priority',
      text: 'flowControl: {priorityBands: [{priority: 1}, {priority: 1}]}\n',
      error: 'flowControl.priorityBands[1].priority: duplicate priority 1 (also flowControl.priorityBands[0])',
    },
    { case: 'unknown requestHandler key', text: 'requestHandler: {parser: []}\n', error: 'requestHandler.parser: unknown field' },
    { case: 'parser without pluginRef', text: 'requestHandler: {parsers: [{}]}\n', error: 'requestHandler.parsers[0].pluginRef: required (a string)' },
    { case: 'featureGates scalar', text: 'featureGates: flowControl\n', error: 'featureGates: expected a list of gate names or a mapping of name to true/false, got string "flowControl"' },
    { case: 'featureGates bad value', text: 'featureGates: [flowControl=maybe]\n', error: 'featureGates[0]: expected "name", "name=true" or "name=false", got "flowControl=maybe"' },
    { case: 'featureGates map with non-bool', text: 'featureGates: {flowControl: "yes"}\n', error: 'featureGates.flowControl: expected true or false, got string "yes"' },
    { case: 'not a mapping', text: '- plugins\n', error: 'expected a mapping, got a list' },
    { case: 'empty text', text: '  \n# nothing\n', error: 'the config is empty' },
    { case: 'two documents', text: 'plugins: []\n---\nplugins: []\n', error: /^invalid YAML: Source contains multiple documents/ },
    { case: 'duplicate keys', text: 'plugins: []\nplugins: []\n', error: /^invalid YAML: Map keys must be unique at line 2, column 1/ },
    { case: 'broken YAML', text: 'plugins: [\n', error: /^invalid YAML: / },
  ])('rejects $case', ({ text, error }) => {
    const err = parseError(text);
    if (typeof error === 'string') expect(err.message).toBe(error);
    else expect(err.message).toMatch(error);
  });

  it('names the source and the offending key', () => {
    const err = parseError('plugins:\n- type: a\n- type: b\n  parameter: {}\n', { source: '/etc/epp/config.yaml' });
    expect(err.message).toBe('/etc/epp/config.yaml: plugins[1].parameter: unknown field');
    expect(err.path).toBe('plugins[1].parameter');
    expect(err.detail).toBe('unknown field');
    expect(err.source).toBe('/etc/epp/config.yaml');
  });
});

describe('parseEndpointPickerConfig: feature gates', () => {
  it.each([
    { case: 'a list of names', text: 'featureGates: [flowControl]\n', flowControl: true, ha: true },
    { case: 'name=value entries', text: 'featureGates: [flowControl=true, haPopulateNonLeaderDatastore=False]\n', flowControl: true, ha: false },
    { case: 'a map', text: 'featureGates: {flowControl: true, haPopulateNonLeaderDatastore: false}\n', flowControl: true, ha: false },
    { case: 'nothing', text: 'plugins: []\n', flowControl: false, ha: true },
  ])('applies $case', ({ text, flowControl, ha }) => {
    const g = gates();
    const spec = parseEndpointPickerConfig(text, { featureGates: g });
    expect(g.enabled('flowControl')).toBe(flowControl);
    expect(g.enabled('haPopulateNonLeaderDatastore')).toBe(ha);
    expect(typeof spec.featureGates).toBe('object');
  });

  it('keeps the settings as written', () => {
    expect(parseEndpointPickerConfig('featureGates: [a, b=false]\n').featureGates).toEqual({ a: true, b: false });
  });

  it.each([
    { text: 'featureGates: [flowControl, flowKontrol]\n', error: 'featureGates[1]: unknown feature gate "flowKontrol" (known: flowControl, haPopulateNonLeaderDatastore)' },
    { text: 'featureGates: {flowKontrol: true}\n', error: 'featureGates.flowKontrol: unknown feature gate "flowKontrol" (known: flowControl, haPopulateNonLeaderDatastore)' },
  ])('rejects an unknown gate and applies nothing: $text', ({ text, error }) => {
    const g = gates();
    expect(parseError(text, { featureGates: g }).message).toBe(error);
    expect(g.enabled('flowControl')).toBe(false);
  });
});
