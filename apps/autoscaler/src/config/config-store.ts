// Reads the autoscaler's ConfigMaps on every cycle (so edits apply within one interval) and keeps
// the problems of bad entries, so the controller can show them on the variants they concern.
import type { Logger } from 'pino';
import type { Cluster } from '../cluster.js';
import { problemAffects, type EntryConfig, type EntryProblem, type ParsedEntries } from './entries.js';
import { parseQueueingEntries, QUEUEING_CONFIGMAP, resolveQueueingConfig, type Fields as QueueingFields, type QueueingConfig } from './queueing-config.js';
import { parseSaturationEntries, resolveSaturationChecked, SATURATION_CONFIGMAP, SATURATION_CONFIGMAP_OLD, type SaturationConfig } from './saturation-config.js';
import { parseScaleToZeroEntries, resolveScaleToZeroConfig, SCALE_TO_ZERO_CONFIGMAP, type Fields as ScaleToZeroFields, type ScaleToZeroConfig } from './scale-to-zero-config.js';

/** One ConfigMap as last read. */
interface Loaded<T> {
  /** Whether the ConfigMap exists. */
  readonly present: boolean;
  readonly parsed: ParsedEntries<T>;
  /** Set when the last read failed; the previous content is kept meanwhile. */
  readonly readError?: string;
}

const absent = <T>(): Loaded<T> => ({ present: false, parsed: { config: { defaults: {}, overrides: [] }, problems: [] } });

/** The three ConfigMaps of one namespace. */
interface NamespaceConfig {
  saturation: Loaded<SaturationConfig>;
  scaleToZero: Loaded<ScaleToZeroFields>;
  queueing: Loaded<QueueingFields>;
}

/** Everything that applies to one model in one namespace. */
export interface ModelConfig {
  readonly saturation: SaturationConfig;
  readonly scaleToZero: ScaleToZeroConfig;
  /** Set when a `wva-queueing-model-config` exists (globally or in the namespace): the SLO analyzer runs. */
  readonly queueing: QueueingConfig | null;
  /** Bad entries that concern this model, as `<configmap>/<entry>.<key>: message`. */
  readonly problems: readonly string[];
}

/** The ConfigMaps, global (in the controller's namespace) and namespace-local. */
export class ConfigStore {
  readonly #cluster: Cluster;
  readonly #globalNamespace: string;
  readonly #scaleToZeroDefault: boolean;
  readonly #logger: Logger;
  readonly #byNamespace = new Map<string, NamespaceConfig>();
  readonly #fingerprints = new Map<string, string>();

  /** `scaleToZeroDefault` is `WVA_SCALE_TO_ZERO`, the fallback below the ConfigMap's entries. */
  constructor(cluster: Cluster, globalNamespace: string, scaleToZeroDefault: boolean, logger: Logger) {
    this.#cluster = cluster;
    this.#globalNamespace = globalNamespace;
    this.#scaleToZeroDefault = scaleToZeroDefault;
    this.#logger = logger;
  }

  /** Re-reads the global ConfigMaps and those of `namespaces` (where VariantAutoscalings live). */
  async refresh(namespaces: Iterable<string>): Promise<void> {
    const all = new Set([this.#globalNamespace, ...namespaces]);
    await Promise.all([...all].map((ns) => this.#refreshNamespace(ns)));
    for (const ns of [...this.#byNamespace.keys()]) if (!all.has(ns)) this.#byNamespace.delete(ns);
  }

  async #refreshNamespace(ns: string): Promise<void> {
    const before = this.#byNamespace.get(ns) ?? { saturation: absent(), scaleToZero: absent(), queueing: absent() };
    const [saturation, scaleToZero, queueing] = await Promise.all([
      this.#load(ns, [SATURATION_CONFIGMAP, SATURATION_CONFIGMAP_OLD], before.saturation, (data, name) => parseSaturationEntries(data, name)),
      this.#load(ns, [SCALE_TO_ZERO_CONFIGMAP], before.scaleToZero, (data) => parseScaleToZeroEntries(data)),
      this.#load(ns, [QUEUEING_CONFIGMAP], before.queueing, (data) => parseQueueingEntries(data)),
    ]);
    this.#byNamespace.set(ns, { saturation, scaleToZero, queueing });
  }

  async #load<T>(ns: string, names: readonly string[], before: Loaded<T>, parse: (data: Record<string, string>, name: string) => ParsedEntries<T>): Promise<Loaded<T>> {
    try {
      for (const name of names) {
        const data = await this.#cluster.readConfigMap(ns, name);
        if (data === null) continue;
        const parsed = parse(data, name);
        this.#logChange(`${ns}/${name}`, data, parsed.problems);
        return { present: true, parsed };
      }
      if (this.#fingerprints.delete(`${ns}/${names[0]}`)) this.#logger.info({ configMap: `${ns}/${names[0]}` }, 'ConfigMap removed; defaults apply');
      return absent();
    } catch (err) {
      const readError = `cannot read ConfigMap ${names[0]} in ${ns}: ${(err as Error).message}`;
      this.#logger.warn({ namespace: ns, configMap: names[0], err: (err as Error).message }, 'ConfigMap read failed; keeping what was read before');
      return { ...before, readError };
    }
  }

  #logChange(key: string, data: Record<string, string>, problems: readonly EntryProblem[]): void {
    const fingerprint = JSON.stringify(Object.entries(data).sort());
    if (this.#fingerprints.get(key) === fingerprint) return;
    this.#fingerprints.set(key, fingerprint);
    if (problems.length === 0) this.#logger.info({ configMap: key, entries: Object.keys(data).length }, 'ConfigMap loaded');
    for (const p of problems) this.#logger.error({ configMap: key, entry: p.key, key: p.error.key }, `invalid ConfigMap entry: ${p.error.message}`);
  }

  /** What applies to `modelID` in `namespace`, with the problems of entries that concern it. */
  resolve(modelID: string, namespace: string): ModelConfig {
    const global = this.#byNamespace.get(this.#globalNamespace) ?? { saturation: absent(), scaleToZero: absent(), queueing: absent() };
    const local = namespace !== this.#globalNamespace ? this.#byNamespace.get(namespace) : undefined;
    const problems: string[] = [];
    const collect = (l: Loaded<unknown> | undefined) => {
      if (!l) return;
      for (const p of l.parsed.problems) if (problemAffects(p, modelID, namespace)) problems.push(p.error.message);
    };
    for (const l of [global.saturation, global.scaleToZero, global.queueing, local?.saturation, local?.scaleToZero, local?.queueing]) collect(l as Loaded<unknown> | undefined);
    const localConfig = <T>(l: Loaded<T> | undefined): EntryConfig<T> | undefined => (l?.present ? l.parsed.config : undefined);
    const queueingPresent = global.queueing.present || local?.queueing.present === true;
    const saturation = resolveSaturationChecked(modelID, namespace, global.saturation.parsed.config, localConfig(local?.saturation));
    if (saturation.problem) problems.push(saturation.problem);
    return {
      saturation: saturation.config,
      scaleToZero: resolveScaleToZeroConfig(modelID, namespace, this.#scaleToZeroDefault, global.scaleToZero.parsed.config, localConfig(local?.scaleToZero)),
      queueing: queueingPresent ? resolveQueueingConfig(modelID, namespace, global.queueing.parsed.config, localConfig(local?.queueing)) : null,
      problems,
    };
  }
}
