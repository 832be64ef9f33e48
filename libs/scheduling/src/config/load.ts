// Phase 2 of loading an EndpointPickerConfig: build every plugin through the registry, add what
// upstream adds by default, check every reference, and assemble the scheduler.
import { FeatureGateError } from '@llmd/feature-gates';
import type { FeatureGates } from '@llmd/feature-gates';
import { ZodError } from 'zod';
import { isFairnessPolicy, isOrderingPolicy, isSaturationDetector, isUsageLimitPolicy } from '../framework/flow-control.js';
import type { FairnessPolicy, OrderingPolicy, SaturationDetector, UsageLimitPolicy } from '../framework/flow-control.js';
import {
  isAdmitter,
  isDataProducer,
  isFilter,
  isPicker,
  isPreRequestHook,
  isProfileHandler,
  isResponseHooks,
  isScorer,
} from '../framework/plugins.js';
import type {
  Admitter,
  DataProducer,
  Filter,
  Picker,
  Plugin,
  PreRequestHook,
  ProfileHandler,
  ResponseHooks,
  SchedulerProfile,
  WeightedScorer,
} from '../framework/plugins.js';
import type { PluginFactory, PluginHandle } from '../framework/registry.js';
import type { PluginRegistry } from '../registry.js';
import { Scheduler } from '../scheduler.js';
import type { SchedulerObserver } from '../scheduler.js';
import {
  CORE_METRICS_EXTRACTOR_TYPE,
  DEFAULT_FAIRNESS_POLICY_TYPE,
  DEFAULT_ORDERING_POLICY_TYPE,
  DEFAULT_PARSER_TYPES,
  DEFAULT_PRIORITY_BAND_MAX_BYTES,
  DEFAULT_REQUEST_TTL_MS,
  DEFAULT_USAGE_LIMIT_POLICY_TYPE,
  FLOW_CONTROL_GATE,
  DEFAULT_PROFILE_NAME,
  DEFAULT_SATURATION_DETECTOR_TYPE,
  DEFAULT_SCORER_WEIGHT,
  MAX_SCORE_PICKER_TYPE,
  METRICS_DATA_SOURCE_TYPE,
  SINGLE_PROFILE_HANDLER_TYPE,
} from './defaults.js';
import { ConfigError, configErrorFromZod } from './errors.js';
import { parseEndpointPickerConfig } from './parse.js';
import type {
  EndpointPickerConfigSpec,
  FlowControlSpec,
  PluginRefSpec,
  PluginSpec,
  PriorityBandSpec,
  PriorityBandTemplateSpec,
  ProfilePluginSpec,
} from './parse.js';
import type { EndpointPickerApiVersion } from './schema.js';

/** What phase 2 needs besides the parsed config. */
export interface LoadOptions {
  /** The plugin types this app knows. */
  readonly registry: PluginRegistry;
  /** Logger, endpoints, clock and random source for factories; the loader adds plugin lookups. */
  readonly handle: Omit<PluginHandle, 'plugin' | 'pluginsOfType'>;
  /** The app's gates: the config's `featureGates` are applied to it, and gated plugins check it. */
  readonly featureGates: FeatureGates;
  /** Where the config came from, prefixed to error messages. */
  readonly source?: string;
  /** Receives the built scheduler's measurements. */
  readonly observer?: SchedulerObserver;
}

/** A plugin the loader added on its own, and why. */
export interface AutoAddedPlugin {
  readonly name: string;
  readonly type: string;
  readonly reason: string;
}

/** A data-layer source with its extractors. */
export interface LoadedDataSource {
  readonly plugin: Plugin;
  readonly extractors: readonly Plugin[];
}

/** The data layer's plugins. */
export interface LoadedDataLayer {
  readonly sources: readonly LoadedDataSource[];
  /** The endpoint-discovery plugin (e.g. `file-discovery`); null = Kubernetes discovery. */
  readonly discovery: Plugin | null;
  readonly peerDiscovery: Plugin | null;
  readonly crossReplicaSyncer: Plugin | null;
  readonly crossReplicaSyncIntervalMs: number | null;
}

/** A priority band's limits and policies, resolved. */
export interface LoadedBandTemplate {
  /** Byte capacity (upstream default 1 GB when unset or 0). */
  readonly maxBytes: number;
  /** Request capacity; 0 = no limit. */
  readonly maxRequests: number;
  /** The band's own queue-wait budget (ms), else null for the global `defaultRequestTTL`. */
  readonly requestTTLMs: number | null;
  readonly fairnessPolicy: FairnessPolicy;
  readonly orderingPolicy: OrderingPolicy;
}

/** A configured priority band. */
export interface LoadedPriorityBand extends LoadedBandTemplate {
  readonly priority: number;
}

/**
 * `flowControl` with every default applied and every policy reference resolved to its plugin
 * (only built when the `flowControl` feature gate is on).
 */
export interface LoadedFlowControl {
  /** Global limits across bands; 0 = no limit. */
  readonly maxBytes: number;
  readonly maxRequests: number;
  /** Queue-wait budget while the pool has endpoints (ms); 0 = wait until the client goes away. */
  readonly defaultRequestTTLMs: number;
  /** Queue-wait budget while the pool has no endpoints (ms); null = the same as `defaultRequestTTLMs`. */
  readonly noEndpointRequestTTLMs: number | null;
  /** Configured bands, highest priority first; priority 0 is always present. */
  readonly priorityBands: readonly LoadedPriorityBand[];
  /** Template of bands created on demand for priorities not configured. */
  readonly defaultPriorityBand: LoadedBandTemplate;
  /** Template for on-demand bands below priority 0; null = use `defaultPriorityBand`. */
  readonly defaultNegativePriorityBand: LoadedBandTemplate | null;
  /** Per-priority admission ceilings (`usageLimitPolicyPluginRef`); null = every band up to saturation 1. */
  readonly usageLimitPolicy: UsageLimitPolicy | null;
}

/** A fully loaded EndpointPickerConfig: every plugin built, defaults applied, references resolved. */
export interface LoadedConfig {
  readonly apiVersion: EndpointPickerApiVersion;
  readonly profiles: ReadonlyMap<string, SchedulerProfile>;
  readonly profileHandler: ProfileHandler;
  /** Every plugin by instance name: configured ones in config order, then the ones the loader added. */
  readonly plugins: ReadonlyMap<string, Plugin>;
  /** Data producers, in config order with each plugin's required plugins first. */
  readonly producers: readonly DataProducer[];
  /** Admitters, in the same order. */
  readonly admitters: readonly Admitter[];
  /** PreRequest hooks, in the same order. */
  readonly preRequestHooks: readonly PreRequestHook[];
  /** Response hooks, in the same order. */
  readonly responseHooks: readonly ResponseHooks[];
  readonly scheduler: Scheduler;
  /** The gates, with the config's settings applied. */
  readonly featureGates: FeatureGates;
  /** The configured detector, else `utilization-detector` when registered, else null. */
  readonly saturationDetector: SaturationDetector | null;
  readonly dataLayer: LoadedDataLayer;
  /** Flow-control settings as written (null when the section is absent). */
  readonly flowControl: FlowControlSpec | null;
  /** Flow control resolved, when the `flowControl` gate is on (null otherwise). */
  readonly flowControlConfig: LoadedFlowControl | null;
  /** Request parsers in order: the configured ones, else the registered upstream defaults. */
  readonly parsers: readonly Plugin[];
  /** Plugins added by system defaults and `requires`. */
  readonly autoAdded: readonly AutoAddedPlugin[];
  /** Deprecations to log. */
  readonly warnings: readonly string[];
  /** The phase-1 result. */
  readonly spec: EndpointPickerConfigSpec;
  /** The decoded document as written. */
  readonly raw: unknown;
}

/**
 * Loads an EndpointPickerConfig (YAML or JSON): phase 1 ({@link parseEndpointPickerConfig}) then
 * phase 2 ({@link instantiateEndpointPickerConfig}). Throws a {@link ConfigError} naming the key.
 */
export function loadEndpointPickerConfig(text: string, options: LoadOptions): LoadedConfig {
  const spec = parseEndpointPickerConfig(text, {
    featureGates: options.featureGates,
    ...(options.source !== undefined ? { source: options.source } : {}),
  });
  return instantiateEndpointPickerConfig(spec, options);
}

/**
 * Phase 2 on a phase-1 result whose feature gates were already applied to `options.featureGates`.
 * Builds every plugin, adds system defaults, resolves references and assembles the scheduler.
 */
export function instantiateEndpointPickerConfig(spec: EndpointPickerConfigSpec, options: LoadOptions): LoadedConfig {
  try {
    return new Loader(spec, options).load();
  } catch (err) {
    throw err instanceof ConfigError ? err.withSource(options.source) : err;
  }
}

/** Where an error about a plugin points: its config entry, or what made the loader add it. */
interface Origin {
  readonly path: string;
  readonly where: string;
}

interface Entry {
  readonly plugin: Plugin;
  readonly factory: PluginFactory<unknown>;
  readonly origin: Origin;
  /** The plugin types this instance needs (`requiresFor` of its parameters, else `requires`). */
  readonly requires: readonly string[];
}

// Names a reference may use without a `plugins` entry: upstream adds these system defaults by
// name, so a config that refers to them (e.g. `pluginRef: max-score-picker`) loads there too.
const SYSTEM_DEFAULT_TYPES: ReadonlySet<string> = new Set([
  MAX_SCORE_PICKER_TYPE,
  SINGLE_PROFILE_HANDLER_TYPE,
  DEFAULT_SATURATION_DETECTOR_TYPE,
  METRICS_DATA_SOURCE_TYPE,
  CORE_METRICS_EXTRACTOR_TYPE,
  ...DEFAULT_PARSER_TYPES,
]);

class Loader {
  readonly #spec: EndpointPickerConfigSpec;
  readonly #registry: PluginRegistry;
  readonly #gates: FeatureGates;
  readonly #base: Omit<PluginHandle, 'plugin' | 'pluginsOfType'>;
  readonly #observer: SchedulerObserver | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #autoAdded: AutoAddedPlugin[] = [];
  readonly #warnings: string[] = [];
  // Plugin lookups through the handle are only meaningful once every plugin exists.
  #building = true;

  constructor(spec: EndpointPickerConfigSpec, options: LoadOptions) {
    this.#spec = spec;
    this.#registry = options.registry;
    this.#gates = options.featureGates;
    this.#base = options.handle;
    this.#observer = options.observer;
  }

  load(): LoadedConfig {
    const spec = this.#spec;
    for (const p of spec.plugins) this.#createConfigured(p);
    for (const entry of [...this.#entries.values()]) this.#satisfyRequires(entry);

    const { profiles, profileHandler } = this.#buildScheduling();
    const saturationDetector = this.#saturationDetector();
    const flowControlConfig = this.#flowControl();
    const parsers = this.#parsers();
    const dataLayer = this.#dataLayer();
    this.#building = false;

    const ordered = this.#dependencyOrder();
    const plugins = new Map<string, Plugin>();
    for (const [name, e] of this.#entries) plugins.set(name, e.plugin);
    return {
      apiVersion: spec.apiVersion,
      profiles,
      profileHandler,
      plugins,
      producers: ordered.filter(isDataProducer),
      admitters: ordered.filter(isAdmitter),
      preRequestHooks: ordered.filter(isPreRequestHook),
      responseHooks: ordered.filter(isResponseHooks),
      scheduler: new Scheduler({ profileHandler, profiles }, this.#observer),
      featureGates: this.#gates,
      saturationDetector,
      dataLayer,
      flowControl: spec.flowControl,
      flowControlConfig,
      parsers,
      autoAdded: this.#autoAdded,
      warnings: [...spec.warnings, ...this.#warnings],
      spec,
      raw: spec.raw,
    };
  }

  // ---- building plugins ----

  #createConfigured(p: PluginSpec): void {
    const origin = { path: p.path, where: `${p.path} (${p.name})` };
    const factory = this.#factory(p.type, { path: `${p.path}.type`, where: `${origin.where}.type` }, (t) => `unknown plugin type "${t}"`);
    const parsed = factory.parameters.safeParse(p.parameters === undefined ? {} : p.parameters);
    if (!parsed.success) {
      throw configErrorFromZod(parsed.error, p.parameters ?? {}, { path: `${p.path}.parameters`, where: `${origin.where}.parameters` });
    }
    this.#create(p.name, factory, parsed.data, origin);
  }

  /** The factory of a type, refusing unknown types and types whose feature gate is off. */
  #factory(type: string, at: Origin, unknown: (type: string) => string): PluginFactory<unknown> {
    const factory = this.#registry.get(type);
    if (factory === undefined) {
      throw new ConfigError(at.path, `${unknown(type)} (registered: ${this.#registry.types().join(', ') || 'none'})`, { where: at.where });
    }
    const gate = factory.featureGate;
    if (gate !== undefined) {
      let enabled: boolean;
      try {
        enabled = this.#gates.enabled(gate);
      } catch (err) {
        if (!(err instanceof FeatureGateError)) throw err;
        throw new ConfigError(at.path, `plugin type "${factory.type}" names feature gate "${gate}", which is not declared`, { where: at.where, cause: err });
      }
      if (!enabled) {
        throw new ConfigError(at.path, `plugin type "${factory.type}" is behind the feature gate "${gate}", which is off (enable it in featureGates)`, {
          where: at.where,
        });
      }
    }
    return factory;
  }

  #create(name: string, factory: PluginFactory<unknown>, params: unknown, origin: Origin): Entry {
    let plugin: Plugin;
    try {
      plugin = factory.create(name, params, this.#handleFor(name, factory.type));
    } catch (err) {
      if (err instanceof ZodError) throw configErrorFromZod(err, params, { path: `${origin.path}.parameters`, where: `${origin.where}.parameters` });
      const message = err instanceof Error ? err.message : String(err);
      throw new ConfigError(origin.path, `could not create plugin "${name}" (type ${factory.type}): ${message}`, { where: origin.where, cause: err });
    }
    if (plugin.type !== factory.type || plugin.name !== name) {
      throw new ConfigError(
        origin.path,
        `the factory of "${factory.type}" returned a plugin with type "${plugin.type}" and name "${plugin.name}" (expected "${factory.type}" and "${name}")`,
        { where: origin.where },
      );
    }
    const entry = { plugin, factory, origin, requires: factory.requiresFor?.(params) ?? factory.requires ?? [] };
    this.#entries.set(name, entry);
    return entry;
  }

  #handleFor(name: string, type: string): PluginHandle {
    const base = this.#base;
    const guard = (what: string): void => {
      if (this.#building) {
        throw new Error(`${what} was called while plugins are still being created; look other plugins up when they are first used`);
      }
    };
    const entries = this.#entries;
    const registry = this.#registry;
    return {
      logger: base.logger.child({ plugin: name, pluginType: type }),
      featureGates: this.#gates,
      random: base.random,
      now: base.now,
      endpoints: () => base.endpoints(),
      plugin<T extends Plugin = Plugin>(other: string): T | undefined {
        guard(`handle.plugin("${other}")`);
        return entries.get(other)?.plugin as T | undefined;
      },
      pluginsOfType<T extends Plugin = Plugin>(wanted: string): T[] {
        guard(`handle.pluginsOfType("${wanted}")`);
        const canonical = registry.get(wanted)?.type ?? wanted;
        const out: T[] = [];
        for (const e of entries.values()) if (e.factory.type === canonical) out.push(e.plugin as T);
        return out;
      },
    };
  }

  /**
   * Adds plugin `type` named after its type with default parameters, unless a plugin of that name
   * already exists (upstream adds defaults by name), which must then be of that type.
   */
  #ensureDefault(type: string, reason: string, blame: Origin): Entry {
    const existing = this.#entries.get(type);
    const factory = this.#factory(type, blame, (t) => `${reason}, but plugin type "${t}" is not registered`);
    if (existing !== undefined) {
      if (existing.factory.type === factory.type) return existing;
      throw new ConfigError(existing.origin.path, `${reason}: the name "${type}" is taken by a plugin of type "${existing.factory.type}"`, {
        where: existing.origin.where,
      });
    }
    const parsed = factory.parameters.safeParse({});
    if (!parsed.success) {
      const inner = configErrorFromZod(parsed.error, {}, { path: 'parameters' });
      throw new ConfigError(blame.path, `${reason}: "${type}" cannot be created with default parameters (${inner.message})`, { where: blame.where });
    }
    const added = `(added ${type}: ${reason})`;
    const origin = { path: blame.path, where: blame.where === '' ? added : `${blame.where} ${added}` };
    const entry = this.#create(type, factory, parsed.data, origin);
    this.#autoAdded.push({ name: type, type: factory.type, reason });
    this.#satisfyRequires(entry);
    return entry;
  }

  /** Adds every plugin type `entry` requires that no plugin has yet, recursively. */
  #satisfyRequires(entry: Entry): void {
    for (const required of entry.requires) {
      const factory = this.#factory(required, entry.origin, (t) => `plugin "${entry.plugin.name}" requires plugin type "${t}", which is not registered`);
      if (this.#hasType(factory.type)) continue;
      this.#ensureDefault(factory.type, `required by "${entry.plugin.name}"`, entry.origin);
    }
  }

  #hasType(type: string): boolean {
    for (const e of this.#entries.values()) if (e.factory.type === type) return true;
    return false;
  }

  /** The plugin a reference names; names of system defaults are added on demand. */
  #resolve(ref: PluginRefSpec, where: string = ref.path): Entry {
    const entry = this.#entries.get(ref.pluginRef);
    if (entry !== undefined) return entry;
    if (SYSTEM_DEFAULT_TYPES.has(ref.pluginRef) && this.#registry.has(ref.pluginRef)) {
      return this.#ensureDefault(ref.pluginRef, `referenced at ${ref.path}`, { path: ref.path, where });
    }
    throw new ConfigError(ref.path, `unknown plugin "${ref.pluginRef}" (configured: ${[...this.#entries.keys()].join(', ') || 'none'})`, { where });
  }

  // ---- scheduling ----

  #buildScheduling(): { profiles: Map<string, SchedulerProfile>; profileHandler: ProfileHandler } {
    const specs = this.#spec.schedulingProfiles;
    let profileSpecs: { name: string; where: string; path: string; refs: readonly ProfilePluginSpec[] }[];
    if (specs.length === 0) {
      // Upstream's implicit profile: every filter, scorer and picker (here in config order).
      const where = `schedulingProfiles (implicit "${DEFAULT_PROFILE_NAME}" profile)`;
      const refs: ProfilePluginSpec[] = [];
      for (const [name, e] of this.#entries) {
        if (isFilter(e.plugin) || isScorer(e.plugin) || isPicker(e.plugin)) refs.push({ pluginRef: name, weight: undefined, path: 'schedulingProfiles' });
      }
      profileSpecs = [{ name: DEFAULT_PROFILE_NAME, where, path: 'schedulingProfiles', refs }];
    } else {
      profileSpecs = specs.map((s) => ({ name: s.name, where: `${s.path} (${s.name})`, path: s.path, refs: s.plugins }));
    }

    // Profile handler first, as upstream: one profile and no handler → single-profile-handler.
    let handlers = [...this.#entries.values()].filter((e) => isProfileHandler(e.plugin));
    if (handlers.length === 0 && profileSpecs.length === 1) {
      this.#ensureDefault(SINGLE_PROFILE_HANDLER_TYPE, 'one profile and no profile handler', { path: 'schedulingProfiles', where: 'schedulingProfiles' });
      handlers = [...this.#entries.values()].filter((e) => isProfileHandler(e.plugin));
    }

    const built: { name: string; where: string; path: string; filters: Filter[]; scorers: WeightedScorer[]; picker: Picker | null }[] = [];
    for (const p of profileSpecs) {
      const profile = { name: p.name, where: p.where, path: p.path, filters: [] as Filter[], scorers: [] as WeightedScorer[], picker: null as Picker | null };
      for (const ref of p.refs) {
        const where = ref.path.startsWith(p.path) ? p.where + ref.path.slice(p.path.length) : p.where;
        const entry = this.#resolve(ref, where);
        const plugin = entry.plugin;
        if (!isFilter(plugin) && !isScorer(plugin) && !isPicker(plugin)) {
          throw new ConfigError(ref.path, `plugin "${plugin.name}" (type ${plugin.type}) is not a filter, scorer or picker`, { where });
        }
        if (isFilter(plugin)) profile.filters.push(plugin);
        if (isScorer(plugin)) profile.scorers.push({ scorer: plugin, weight: ref.weight ?? DEFAULT_SCORER_WEIGHT });
        if (isPicker(plugin)) {
          if (profile.picker !== null) {
            throw new ConfigError(ref.path, `profile "${p.name}" already has picker "${profile.picker.name}"; a profile has one picker`, { where });
          }
          profile.picker = plugin;
        }
      }
      built.push(profile);
    }

    // A profile without a picker gets the first configured picker (upstream reuses whichever
    // picker exists), else a max-score-picker with default parameters.
    let fallbackPicker: Picker | null = null;
    for (const profile of built) {
      if (profile.picker !== null) continue;
      if (fallbackPicker === null) {
        const configured = [...this.#entries.values()].find((e) => isPicker(e.plugin));
        const entry =
          configured ?? this.#ensureDefault(MAX_SCORE_PICKER_TYPE, `profile "${profile.name}" has no picker`, { path: profile.path, where: profile.where });
        if (!isPicker(entry.plugin)) {
          throw new ConfigError(entry.origin.path, `plugin "${entry.plugin.name}" (type ${entry.plugin.type}) is not a picker`, { where: entry.origin.where });
        }
        fallbackPicker = entry.plugin;
      }
      profile.picker = fallbackPicker;
    }

    if (handlers.length > 1) {
      const [first, second] = handlers as [Entry, Entry];
      throw new ConfigError(
        second.origin.path,
        `a second profile handler ("${second.plugin.name}"); only one is allowed (first: "${first.plugin.name}" at ${first.origin.path})`,
        { where: second.origin.where },
      );
    }
    const handlerEntry = handlers[0];
    if (handlerEntry === undefined) {
      throw new ConfigError('schedulingProfiles', `${built.length} profiles need a profile handler, and none is configured`);
    }
    if (handlerEntry.factory.type === SINGLE_PROFILE_HANDLER_TYPE && built.length > 1) {
      throw new ConfigError(handlerEntry.origin.path, `${SINGLE_PROFILE_HANDLER_TYPE} supports one profile, but ${built.length} are configured`, {
        where: handlerEntry.origin.where,
      });
    }

    const profiles = new Map<string, SchedulerProfile>();
    for (const p of built) {
      profiles.set(
        p.name,
        Object.freeze({ name: p.name, filters: Object.freeze(p.filters), scorers: Object.freeze(p.scorers), picker: p.picker as Picker }),
      );
    }
    return { profiles, profileHandler: handlerEntry.plugin as ProfileHandler };
  }

  // ---- other layers ----

  #saturationDetector(): SaturationDetector | null {
    const ref = this.#spec.saturationDetector;
    let entry: Entry;
    if (ref !== null) {
      entry = this.#resolve(ref);
      if (!isSaturationDetector(entry.plugin)) {
        throw new ConfigError(ref.path, `plugin "${entry.plugin.name}" (type ${entry.plugin.type}) is not a saturation detector`);
      }
      return entry.plugin;
    }
    if (!this.#registry.has(DEFAULT_SATURATION_DETECTOR_TYPE)) return null;
    entry = this.#ensureDefault(DEFAULT_SATURATION_DETECTOR_TYPE, 'no saturation detector is configured', { path: '', where: '' });
    return isSaturationDetector(entry.plugin) ? entry.plugin : null;
  }

  #gateOn(gate: string): boolean {
    try {
      return this.#gates.enabled(gate);
    } catch (err) {
      if (err instanceof FeatureGateError) return false;
      throw err;
    }
  }

  /**
   * Resolves `flowControl` when its gate is on: limits with upstream's defaults, every band's
   * fairness and ordering policy (by plugin name, else a registered policy type of that name,
   * else the defaults), and a priority-0 band when none is configured.
   */
  #flowControl(): LoadedFlowControl | null {
    const fc = this.#spec.flowControl;
    if (!this.#gateOn(FLOW_CONTROL_GATE)) {
      if (fc !== null) {
        this.#warnings.push(`flowControl is configured but the "${FLOW_CONTROL_GATE}" feature gate is off: only its saturationDetector is used`);
      }
      return null;
    }
    if (!this.#registry.has(DEFAULT_FAIRNESS_POLICY_TYPE) || !this.#registry.has(DEFAULT_ORDERING_POLICY_TYPE)) {
      throw new ConfigError(
        'featureGates',
        `the "${FLOW_CONTROL_GATE}" gate is on, but the default policies ${DEFAULT_FAIRNESS_POLICY_TYPE} and ${DEFAULT_ORDERING_POLICY_TYPE} are not registered`,
      );
    }
    const usageLimitPolicy = this.#usageLimitPolicy(fc?.usageLimitPolicyPluginRef ?? null);
    if (fc?.enableEviction) this.#warnings.push('flowControl.enableEviction is accepted, but dispatched requests are never evicted');

    const template = (b: PriorityBandTemplateSpec | PriorityBandSpec | null, path: string): LoadedBandTemplate => ({
      maxBytes: b?.maxBytes ? b.maxBytes : DEFAULT_PRIORITY_BAND_MAX_BYTES,
      maxRequests: b?.maxRequests ?? 0,
      requestTTLMs: b?.requestTTLMs ?? null,
      fairnessPolicy: this.#policy(b?.fairnessPolicyRef ?? null, `${path}.fairnessPolicyRef`, 'fairness'),
      orderingPolicy: this.#policy(b?.orderingPolicyRef ?? null, `${path}.orderingPolicyRef`, 'ordering'),
    });
    const defaultPriorityBand = template(fc?.defaultPriorityBand ?? null, 'flowControl.defaultPriorityBand');
    const defaultNegativePriorityBand = fc?.defaultNegativePriorityBand
      ? template(fc.defaultNegativePriorityBand, 'flowControl.defaultNegativePriorityBand')
      : null;
    const bands: LoadedPriorityBand[] = (fc?.priorityBands ?? []).map((b, i) => ({
      priority: b.priority,
      ...template(b, `flowControl.priorityBands[${i}]`),
    }));
    // Priority 0 always exists: it is where requests without an objective go.
    if (!bands.some((b) => b.priority === 0)) bands.push({ priority: 0, ...defaultPriorityBand });
    bands.sort((a, b) => b.priority - a.priority);
    return {
      maxBytes: fc?.maxBytes ?? 0,
      maxRequests: fc?.maxRequests ?? 0,
      defaultRequestTTLMs: fc?.defaultRequestTTLMs ?? DEFAULT_REQUEST_TTL_MS,
      noEndpointRequestTTLMs: fc?.noEndpointRequestTTLMs ?? null,
      priorityBands: bands,
      defaultPriorityBand,
      defaultNegativePriorityBand,
      usageLimitPolicy,
    };
  }

  /** The usage-limit policy: the plugin named, else a registered type of that name, else the default when registered. */
  #usageLimitPolicy(ref: string | null): UsageLimitPolicy | null {
    const path = 'flowControl.usageLimitPolicyPluginRef';
    let entry = ref === null ? undefined : this.#entries.get(ref);
    if (entry === undefined) {
      const type = ref ?? DEFAULT_USAGE_LIMIT_POLICY_TYPE;
      const factory = this.#registry.get(type);
      if (factory === undefined) {
        if (ref === null) return null;
        throw new ConfigError(path, `unknown usage limit policy "${ref}" (configured plugins: ${[...this.#entries.keys()].join(', ') || 'none'}; registered types: ${this.#registry.types().join(', ')})`);
      }
      entry = this.#ensureDefault(factory.type, ref === null ? 'default usage limit policy' : `referenced at ${path}`, { path, where: path });
    }
    if (!isUsageLimitPolicy(entry.plugin)) throw new ConfigError(path, `plugin "${entry.plugin.name}" (type ${entry.plugin.type}) is not a usage limit policy`);
    return entry.plugin;
  }

  /** A band's policy: the plugin of that name, else the registered type of that name, else the default type. */
  #policy(ref: string | null, path: string, kind: 'fairness'): FairnessPolicy;
  #policy(ref: string | null, path: string, kind: 'ordering'): OrderingPolicy;
  #policy(ref: string | null, path: string, kind: 'fairness' | 'ordering'): FairnessPolicy | OrderingPolicy {
    const fallback = kind === 'fairness' ? DEFAULT_FAIRNESS_POLICY_TYPE : DEFAULT_ORDERING_POLICY_TYPE;
    const wanted = ref ?? fallback;
    let entry = this.#entries.get(wanted);
    if (entry === undefined) {
      const factory = this.#registry.get(wanted);
      if (factory === undefined) {
        throw new ConfigError(
          path,
          `unknown ${kind} policy "${wanted}" (configured plugins: ${[...this.#entries.keys()].join(', ') || 'none'}; registered types: ${this.#registry.types().join(', ')})`,
        );
      }
      entry = this.#ensureDefault(factory.type, ref === null ? `default ${kind} policy` : `referenced at ${path}`, { path, where: path });
    }
    const ok = kind === 'fairness' ? isFairnessPolicy(entry.plugin) : isOrderingPolicy(entry.plugin);
    if (!ok) throw new ConfigError(path, `plugin "${entry.plugin.name}" (type ${entry.plugin.type}) is not ${kind === 'ordering' ? 'an' : 'a'} ${kind} policy`);
    return entry.plugin as FairnessPolicy | OrderingPolicy;
  }

  #parsers(): Plugin[] {
    const refs = this.#spec.parsers;
    if (refs.length > 0) return refs.map((r) => this.#resolve(r).plugin);
    return DEFAULT_PARSER_TYPES.filter((t) => this.#registry.has(t)).map(
      (t) => this.#ensureDefault(t, 'no parsers are configured', { path: '', where: '' }).plugin,
    );
  }

  #dataLayer(): LoadedDataLayer {
    const dl = this.#spec.dataLayer;
    const sources: LoadedDataSource[] = (dl?.sources ?? []).map((s) => ({
      plugin: this.#resolve(s.source).plugin,
      extractors: s.extractors.map((e) => this.#resolve(e).plugin),
    }));
    const hasMetricsSource = sources.some((s) => s.plugin.type === METRICS_DATA_SOURCE_TYPE);
    // Upstream injects the metrics source and extractor unless told not to; here only when this
    // app registers them (an app without metrics scraping has neither).
    if (
      dl?.injectDefaults !== false &&
      !hasMetricsSource &&
      this.#registry.has(METRICS_DATA_SOURCE_TYPE) &&
      this.#registry.has(CORE_METRICS_EXTRACTOR_TYPE)
    ) {
      const blame = { path: 'dataLayer', where: 'dataLayer' };
      const source = this.#ensureDefault(METRICS_DATA_SOURCE_TYPE, 'default metrics source', blame).plugin;
      const extractor = this.#ensureDefault(CORE_METRICS_EXTRACTOR_TYPE, 'default metrics extractor', blame).plugin;
      sources.push({ plugin: source, extractors: [extractor] });
    }
    const optional = (ref: PluginRefSpec | null | undefined): Plugin | null => (ref ? this.#resolve(ref).plugin : null);
    return {
      sources,
      discovery: optional(dl?.discovery),
      peerDiscovery: optional(dl?.peerDiscovery),
      crossReplicaSyncer: optional(dl?.crossReplicaSyncer),
      crossReplicaSyncIntervalMs: dl?.crossReplicaSyncIntervalMs ?? null,
    };
  }

  /** Every plugin in config order, except that plugins a plugin requires come before it. */
  #dependencyOrder(): Plugin[] {
    const out: Plugin[] = [];
    const visited = new Set<Entry>();
    const visit = (e: Entry): void => {
      if (visited.has(e)) return;
      visited.add(e);
      for (const required of e.requires) {
        const type = this.#registry.get(required)?.type ?? required;
        for (const dep of this.#entries.values()) if (dep.factory.type === type) visit(dep);
      }
      out.push(e.plugin);
    };
    for (const e of this.#entries.values()) visit(e);
    return out;
  }
}
