// Phase 1 of loading an EndpointPickerConfig: decode YAML/JSON, check the shape strictly, apply
// the static defaults (name = type), check what needs no registry, and apply the feature gates.
import { FeatureGateError } from '@llmd/feature-gates';
import type { FeatureGates } from '@llmd/feature-gates';
import { parseDocument } from 'yaml';
import { ConfigError, configErrorFromZod, describeValue, formatConfigPath } from './errors.js';
import { endpointPickerConfigSchema } from './schema.js';
import type { EndpointPickerApiVersion, EndpointPickerConfigDocument } from './schema.js';

/** A reference to a configured plugin by name, with the config key it was written at (for errors). */
export interface PluginRefSpec {
  readonly pluginRef: string;
  readonly path: string;
}

/** One `plugins[]` entry after static defaults. */
export interface PluginSpec {
  /** Instance name; defaults to the type as written. */
  readonly name: string;
  /** Type as written (may be an alias). */
  readonly type: string;
  /** Raw parameters, undefined when absent or null; validated by the factory's schema in phase 2. */
  readonly parameters: unknown;
  /** `plugins[i]`. */
  readonly path: string;
}

/** One `schedulingProfiles[].plugins[]` entry. */
export interface ProfilePluginSpec extends PluginRefSpec {
  /** Undefined when not written: scorers then get the default weight. */
  readonly weight: number | undefined;
}

/** One `schedulingProfiles[]` entry. */
export interface ProfileSpec {
  readonly name: string;
  readonly plugins: readonly ProfilePluginSpec[];
  /** `schedulingProfiles[i]`. */
  readonly path: string;
}

/** A data-layer source and its extractors. */
export interface DataLayerSourceSpec {
  readonly source: PluginRefSpec;
  readonly extractors: readonly PluginRefSpec[];
}

/** `dataLayer`, normalised. */
export interface DataLayerSpec {
  /** False only when `injectDefaults: false` was written. */
  readonly injectDefaults: boolean;
  readonly sources: readonly DataLayerSourceSpec[];
  /** `discovery.pluginRef`: e.g. `file-discovery`; null = Kubernetes discovery. */
  readonly discovery: PluginRefSpec | null;
  readonly peerDiscovery: PluginRefSpec | null;
  readonly crossReplicaSyncer: PluginRefSpec | null;
  readonly crossReplicaSyncIntervalMs: number | null;
}

/** One priority band of `flowControl` (quantities as integers, null when absent). */
export interface PriorityBandSpec {
  readonly priority: number;
  readonly maxBytes: number | null;
  readonly maxRequests: number | null;
  /** The band's own `defaultRequestTTL` (ms), overriding the global one; null when absent. */
  readonly requestTTLMs: number | null;
  readonly fairnessPolicyRef: string | null;
  readonly orderingPolicyRef: string | null;
}

/** A band template (`defaultPriorityBand`), whose priority is ignored when absent. */
export interface PriorityBandTemplateSpec extends Omit<PriorityBandSpec, 'priority'> {
  readonly priority: number | null;
}

/** `flowControl`, normalised: quantities as integers, durations in milliseconds, null when absent. */
export interface FlowControlSpec {
  readonly maxBytes: number | null;
  readonly maxRequests: number | null;
  readonly defaultRequestTTLMs: number | null;
  readonly noEndpointRequestTTLMs: number | null;
  readonly defaultPriorityBand: PriorityBandTemplateSpec | null;
  readonly defaultNegativePriorityBand: PriorityBandTemplateSpec | null;
  readonly priorityBands: readonly PriorityBandSpec[];
  readonly usageLimitPolicyPluginRef: string | null;
  readonly enableEviction: boolean;
}

/** The result of phase 1: a shape-checked config with static defaults applied. */
export interface EndpointPickerConfigSpec {
  /** As written, or `llm-d.ai/v1alpha1` when omitted. */
  readonly apiVersion: EndpointPickerApiVersion;
  readonly kind: 'EndpointPickerConfig';
  /** Gate settings as written (`name` alone means true). */
  readonly featureGates: Readonly<Record<string, boolean>>;
  readonly plugins: readonly PluginSpec[];
  /** As written; empty means "a default profile of every filter, scorer and picker". */
  readonly schedulingProfiles: readonly ProfileSpec[];
  /** `flowControl.saturationDetector`, else the deprecated top-level `saturationDetector`; null = default. */
  readonly saturationDetector: PluginRefSpec | null;
  readonly dataLayer: DataLayerSpec | null;
  readonly flowControl: FlowControlSpec | null;
  /** `requestHandler.parsers`, else the deprecated top-level `parser`; empty = defaults. */
  readonly parsers: readonly PluginRefSpec[];
  /** Deprecations worth logging (the loader has no logger of its own). */
  readonly warnings: readonly string[];
  /** The decoded document as written. */
  readonly raw: unknown;
}

/** Options of phase 1. */
export interface ParseOptions {
  /** Gates to apply the config's `featureGates` to; unknown names are errors. */
  readonly featureGates?: FeatureGates;
  /** Where the text came from, prefixed to error messages (`/etc/epp/config.yaml`, `--config-text`). */
  readonly source?: string;
}

const DEFAULT_API_VERSION: EndpointPickerApiVersion = 'llm-d.ai/v1alpha1';
const DEPRECATED_API_VERSION: EndpointPickerApiVersion = 'inference.networking.x-k8s.io/v1alpha1';

/**
 * Phase 1: decodes EndpointPickerConfig YAML (or JSON), checks its shape strictly, applies static
 * defaults and, when `options.featureGates` is given, its feature gates. Plugins are not built:
 * types, parameters and references are checked by {@link loadEndpointPickerConfig}.
 */
export function parseEndpointPickerConfig(text: string, options: ParseOptions = {}): EndpointPickerConfigSpec {
  try {
    return validateDocument(decode(text), options.featureGates);
  } catch (err) {
    throw err instanceof ConfigError ? err.withSource(options.source) : err;
  }
}

/** Phase 1 for an already-decoded document (e.g. a Helm value or a test fixture). */
export function validateEndpointPickerConfig(document: unknown, options: ParseOptions = {}): EndpointPickerConfigSpec {
  try {
    return validateDocument(document, options.featureGates);
  } catch (err) {
    throw err instanceof ConfigError ? err.withSource(options.source) : err;
  }
}

function decode(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    // yaml's message carries "at line L, column C" and a code excerpt; the first line is enough.
    throw new ConfigError('', `invalid YAML: ${first.message.split('\n')[0] ?? first.code}`, { cause: first });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) throw new ConfigError('', 'the config is empty');
  return value;
}

function validateDocument(raw: unknown, gates: FeatureGates | undefined): EndpointPickerConfigSpec {
  const parsed = endpointPickerConfigSchema.safeParse(raw);
  if (!parsed.success) throw configErrorFromZod(parsed.error, raw, { path: '' });
  const doc = parsed.data;
  const warnings: string[] = [];

  const apiVersion = doc.apiVersion ?? DEFAULT_API_VERSION;
  if (apiVersion === DEPRECATED_API_VERSION) {
    warnings.push(`apiVersion ${DEPRECATED_API_VERSION} is deprecated; use ${DEFAULT_API_VERSION}`);
  }

  const featureGates = normaliseFeatureGates(doc.featureGates);
  const plugins = normalisePlugins(doc);
  const schedulingProfiles = normaliseProfiles(doc);
  const saturationDetector = normaliseSaturationDetector(doc, warnings);
  const parsers = normaliseParsers(doc, warnings);
  const dataLayer = normaliseDataLayer(doc);
  const flowControl = normaliseFlowControl(doc);

  if (gates !== undefined) applyFeatureGates(gates, featureGates);

  return {
    apiVersion,
    kind: 'EndpointPickerConfig',
    featureGates: featureGates.settings,
    plugins,
    schedulingProfiles,
    saturationDetector,
    dataLayer,
    flowControl,
    parsers,
    warnings,
    raw,
  };
}

interface GateSettings {
  readonly settings: Readonly<Record<string, boolean>>;
  /** The config key of each setting, for errors. */
  readonly paths: ReadonlyMap<string, string>;
}

// Upstream parses the value with Go's strconv.ParseBool after lower-casing it.
const GATE_VALUES: Record<string, boolean> = { true: true, t: true, '1': true, false: false, f: false, '0': false };

function normaliseFeatureGates(value: unknown): GateSettings {
  const settings: Record<string, boolean> = {};
  const paths = new Map<string, string>();
  if (value === undefined || value === null) return { settings, paths };
  if (Array.isArray(value)) {
    value.forEach((entry: unknown, i) => {
      const path = `featureGates[${i}]`;
      if (typeof entry !== 'string') throw new ConfigError(path, `expected a gate name, got ${describeValue(entry)}`);
      const [gate = '', setting, ...rest] = entry.split('=').map((s) => s.trim());
      const enabled = setting === undefined ? true : GATE_VALUES[setting.toLowerCase()];
      if (gate === '' || rest.length > 0 || enabled === undefined) {
        throw new ConfigError(path, `expected "name", "name=true" or "name=false", got ${JSON.stringify(entry)}`);
      }
      settings[gate] = enabled;
      paths.set(gate, path);
    });
    return { settings, paths };
  }
  if (typeof value === 'object') {
    for (const [gate, enabled] of Object.entries(value as Record<string, unknown>)) {
      const path = formatConfigPath([gate], 'featureGates');
      if (typeof enabled !== 'boolean') throw new ConfigError(path, `expected true or false, got ${describeValue(enabled)}`);
      settings[gate] = enabled;
      paths.set(gate, path);
    }
    return { settings, paths };
  }
  throw new ConfigError('featureGates', `expected a list of gate names or a mapping of name to true/false, got ${describeValue(value)}`);
}

function applyFeatureGates(gates: FeatureGates, { settings, paths }: GateSettings): void {
  const known = new Set(gates.list().map((s) => s.name));
  for (const gate of Object.keys(settings)) {
    if (!known.has(gate)) {
      const list = [...known].sort().join(', ') || 'none';
      throw new ConfigError(paths.get(gate) ?? 'featureGates', `unknown feature gate "${gate}" (known: ${list})`);
    }
  }
  try {
    // All names are known, so this applies every setting or none.
    gates.apply(settings, 'featureGates');
  } catch (err) {
    if (err instanceof FeatureGateError) throw new ConfigError(err.key, err.message, { cause: err });
    throw err;
  }
}

function normalisePlugins(doc: EndpointPickerConfigDocument): PluginSpec[] {
  const byName = new Map<string, number>();
  return (doc.plugins ?? []).map((p, i) => {
    const explicit = p.name !== undefined && p.name !== null && p.name !== '';
    const name = explicit ? (p.name as string) : p.type;
    const seen = byName.get(name);
    if (seen !== undefined) {
      throw new ConfigError(
        `plugins[${i}].${explicit ? 'name' : 'type'}`,
        explicit
          ? `duplicate plugin name "${name}" (also plugins[${seen}])`
          : `duplicate plugin name "${name}" (the name defaults to the type; also plugins[${seen}]); give one a name`,
      );
    }
    byName.set(name, i);
    return { name, type: p.type, parameters: p.parameters ?? undefined, path: `plugins[${i}]` };
  });
}

function normaliseProfiles(doc: EndpointPickerConfigDocument): ProfileSpec[] {
  const seen = new Map<string, number>();
  return (doc.schedulingProfiles ?? []).map((profile, i) => {
    const first = seen.get(profile.name);
    if (first !== undefined) {
      throw new ConfigError(`schedulingProfiles[${i}].name`, `duplicate profile name "${profile.name}" (also schedulingProfiles[${first}])`);
    }
    seen.set(profile.name, i);
    const path = `schedulingProfiles[${i}]`;
    return {
      name: profile.name,
      path,
      plugins: (profile.plugins ?? []).map((ref, j) => ({
        pluginRef: ref.pluginRef,
        weight: ref.weight ?? undefined,
        path: `${path}.plugins[${j}].pluginRef`,
      })),
    };
  });
}

function normaliseSaturationDetector(doc: EndpointPickerConfigDocument, warnings: string[]): PluginRefSpec | null {
  const current = doc.flowControl?.saturationDetector?.pluginRef;
  const deprecated = doc.saturationDetector?.pluginRef;
  if (doc.saturationDetector != null) {
    warnings.push('top-level saturationDetector is deprecated; use flowControl.saturationDetector (the new field wins when both are set)');
  }
  // An empty pluginRef means "the default detector", as upstream treats it.
  if (current) return { pluginRef: current, path: 'flowControl.saturationDetector.pluginRef' };
  if (deprecated) return { pluginRef: deprecated, path: 'saturationDetector.pluginRef' };
  return null;
}

function normaliseParsers(doc: EndpointPickerConfigDocument, warnings: string[]): PluginRefSpec[] {
  if (doc.parser != null) {
    warnings.push('top-level parser is deprecated; use requestHandler.parsers (the new field wins when both are set)');
  }
  const listed = doc.requestHandler?.parsers ?? [];
  if (listed.length > 0) return listed.map((p, i) => ({ pluginRef: p.pluginRef, path: `requestHandler.parsers[${i}].pluginRef` }));
  if (doc.parser != null) return [{ pluginRef: doc.parser.pluginRef, path: 'parser.pluginRef' }];
  return [];
}

function normaliseDataLayer(doc: EndpointPickerConfigDocument): DataLayerSpec | null {
  const dl = doc.dataLayer;
  if (dl == null) return null;
  const ref = (pluginRef: string | null | undefined, path: string): PluginRefSpec | null =>
    pluginRef ? { pluginRef, path } : null;
  return {
    injectDefaults: dl.injectDefaults !== false,
    sources: (dl.sources ?? []).map((s, i) => ({
      source: { pluginRef: s.pluginRef, path: `dataLayer.sources[${i}].pluginRef` },
      extractors: (s.extractors ?? []).map((e, j) => ({
        pluginRef: e.pluginRef,
        path: `dataLayer.sources[${i}].extractors[${j}].pluginRef`,
      })),
    })),
    discovery: ref(dl.discovery?.pluginRef, 'dataLayer.discovery.pluginRef'),
    peerDiscovery: ref(dl.peerDiscovery?.pluginRef, 'dataLayer.peerDiscovery.pluginRef'),
    crossReplicaSyncer: ref(dl.crossReplicaSyncerPluginRef, 'dataLayer.crossReplicaSyncerPluginRef'),
    crossReplicaSyncIntervalMs: dl.crossReplicaSyncInterval ?? null,
  };
}

type BandDocument = {
  maxBytes?: number | undefined;
  maxRequests?: number | undefined;
  defaultRequestTTL?: number | undefined;
  fairnessPolicyRef?: string | null | undefined;
  orderingPolicyRef?: string | null | undefined;
};

function bandLimits(b: BandDocument): Omit<PriorityBandSpec, 'priority'> {
  return {
    maxBytes: b.maxBytes ?? null,
    maxRequests: b.maxRequests ?? null,
    requestTTLMs: b.defaultRequestTTL ?? null,
    fairnessPolicyRef: b.fairnessPolicyRef || null,
    orderingPolicyRef: b.orderingPolicyRef || null,
  };
}

function normaliseFlowControl(doc: EndpointPickerConfigDocument): FlowControlSpec | null {
  const fc = doc.flowControl;
  if (fc == null) return null;
  const seen = new Map<number, number>();
  const priorityBands = (fc.priorityBands ?? []).map((b, i) => {
    const first = seen.get(b.priority);
    if (first !== undefined) {
      throw new ConfigError(`flowControl.priorityBands[${i}].priority`, `duplicate priority ${b.priority} (also flowControl.priorityBands[${first}])`);
    }
    seen.set(b.priority, i);
    return { priority: b.priority, ...bandLimits(b) };
  });
  const template = (b: (BandDocument & { priority?: number | null | undefined }) | null | undefined): PriorityBandTemplateSpec | null =>
    b == null ? null : { priority: b.priority ?? null, ...bandLimits(b) };
  return {
    maxBytes: fc.maxBytes ?? null,
    maxRequests: fc.maxRequests ?? null,
    defaultRequestTTLMs: fc.defaultRequestTTL ?? null,
    noEndpointRequestTTLMs: fc.noEndpointRequestTTL ?? null,
    defaultPriorityBand: template(fc.defaultPriorityBand),
    defaultNegativePriorityBand: template(fc.defaultNegativePriorityBand),
    priorityBands,
    usageLimitPolicyPluginRef: fc.usageLimitPolicyPluginRef || null,
    enableEviction: fc.enableEviction === true,
  };
}
