// Scale from zero: a fast loop that watches the router's flow-control queue for models whose every
// variant has zero replicas, and sets the cheapest variant's /scale to 1 as soon as a request waits.
import { parsePrometheusText } from '@llmd/model-server';
import type { Logger } from 'pino';
import type { Cluster, ListedVariant } from '../cluster.js';
import { groupKey, type Variant } from '../model.js';
import { FLOW_CONTROL_QUEUE_METRICS } from '../prometheus/queries.js';
import type { ActuationMetrics } from './metrics.js';

/** Reads how many requests the router holds for a model. */
export interface FlowQueueReader {
  /** Queued requests for `modelID`, or undefined when no router reports the metric. */
  queued(modelID: string): Promise<number | undefined>;
}

/** Reads the flow-control queue straight from the routers' /metrics (upstream's EPP metrics source). */
export class EppMetricsReader implements FlowQueueReader {
  readonly #urls: readonly string[];
  readonly #token: string | undefined;
  readonly #names: ReadonlySet<string>;

  /** `urls` are the routers' metrics endpoints (`http://host:port/metrics`). */
  constructor(urls: readonly string[], options: { bearerToken?: string | undefined; metricNames?: readonly string[] } = {}) {
    this.#urls = urls;
    this.#token = options.bearerToken;
    this.#names = new Set(options.metricNames ?? FLOW_CONTROL_QUEUE_METRICS);
  }

  async queued(modelID: string): Promise<number | undefined> {
    const texts = await Promise.all(
      this.#urls.map(async (url) => {
        try {
          const res = await fetch(url, { headers: this.#token ? { authorization: `Bearer ${this.#token}` } : {}, signal: AbortSignal.timeout(2000) });
          return res.ok ? await res.text() : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    let seen = false;
    let total = 0;
    for (const text of texts) {
      if (text === undefined) continue;
      for (const samples of parsePrometheusText(text, this.#names).values()) {
        seen = true;
        for (const s of samples) {
          const target = s.labels.target_model_name ?? '';
          if (target === modelID || (target === '' && s.labels.model_name === modelID)) total += s.value;
        }
      }
    }
    return seen ? total : undefined;
  }
}

/** A model whose every variant was at zero replicas at the last look. */
interface ZeroGroup {
  readonly namespace: string;
  readonly modelID: string;
  readonly variants: readonly ListedVariant[];
}

/** Options of the engine. */
export interface ScaleFromZeroOptions {
  readonly cluster: Cluster;
  readonly reader: FlowQueueReader;
  readonly metrics: ActuationMetrics;
  readonly logger: Logger;
  /** Most groups handled at once (upstream's SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY, default 10). */
  readonly maxConcurrency?: number;
  /** Called after a scale-up, so the controller reconciles soon. */
  readonly onScaled?: (v: Variant) => void;
  /**
   * Runs an action so that it never overlaps a reconcile cycle (default: runs it at once). A cycle
   * that listed the VariantAutoscalings before this engine recorded a decision would otherwise hold
   * the variant at the decision it read, undoing the scale-up.
   */
  readonly exclusive?: <T>(action: () => Promise<T>) => Promise<T>;
}

/** The scale-from-zero engine. The controller tells it which groups sit at zero after each cycle. */
export class ScaleFromZeroEngine {
  readonly #o: ScaleFromZeroOptions;
  #groups = new Map<string, ZeroGroup>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: ScaleFromZeroOptions) {
    this.#o = options;
  }

  /** Records which groups are at zero, from the variants and their current replicas after a cycle. */
  observe(variants: ReadonlyArray<{ listed: ListedVariant; current: number }>): void {
    const byGroup = new Map<string, Array<{ listed: ListedVariant; current: number }>>();
    for (const x of variants) {
      const key = groupKey(x.listed.variant);
      byGroup.set(key, [...(byGroup.get(key) ?? []), x]);
    }
    const zero = new Map<string, ZeroGroup>();
    for (const [key, members] of byGroup) {
      if (members.every((m) => m.current === 0)) {
        const v = (members[0] as { listed: ListedVariant }).listed.variant;
        zero.set(key, { namespace: v.namespace, modelID: v.modelID, variants: members.map((m) => m.listed) });
      }
    }
    this.#groups = zero;
  }

  /** Groups currently watched. */
  get watching(): number {
    return this.#groups.size;
  }

  /** One pass: for each watched group with queued requests, scales its cheapest variant to 1. Returns the variants scaled. */
  async tick(): Promise<Variant[]> {
    const scaled: Variant[] = [];
    const groups = [...this.#groups.entries()];
    const limit = Math.max(1, this.#o.maxConcurrency ?? 10);
    for (let i = 0; i < groups.length; i += limit) {
      await Promise.all(
        groups.slice(i, i + limit).map(async ([key, g]) => {
          const v = await this.#check(g);
          if (v) {
            this.#groups.delete(key);
            scaled.push(v);
          }
        }),
      );
    }
    return scaled;
  }

  async #check(g: ZeroGroup): Promise<Variant | undefined> {
    const { reader, logger } = this.#o;
    let queued: number | undefined;
    try {
      queued = await reader.queued(g.modelID);
    } catch (err) {
      logger.debug({ model: g.modelID, err: (err as Error).message }, 'flow-control queue unreadable');
      return undefined;
    }
    if (!(queued !== undefined && queued > 0)) return undefined;
    const exclusive = this.#o.exclusive ?? (<T>(action: () => Promise<T>) => action());
    return exclusive(() => this.#scaleUp(g, queued as number));
  }

  async #scaleUp(g: ZeroGroup, queued: number): Promise<Variant | undefined> {
    const { cluster, metrics, logger } = this.#o;
    const eligible = g.variants.filter((l) => l.variant.maxReplicas >= 1).sort((a, b) => a.variant.cost - b.variant.cost || a.variant.name.localeCompare(b.variant.name));
    const pick = eligible[0]?.variant;
    if (!pick) return undefined;
    // Look again: an HPA or a person may have scaled it meanwhile.
    const scales = await Promise.all(g.variants.map((l) => cluster.getScale(l.variant.namespace, l.variant.target).catch(() => null)));
    if (scales.some((s) => s === null || s.specReplicas > 0)) return undefined;
    try {
      await cluster.setScale(pick.namespace, pick.target, 1);
    } catch (err) {
      logger.error({ variant: `${pick.namespace}/${pick.name}`, err: (err as Error).message }, 'scale from zero failed');
      return undefined;
    }
    const labels = { variantName: pick.name, namespace: pick.namespace, acceleratorType: pick.accelerator };
    metrics.publish(labels, 1, 1);
    metrics.countChange(labels, 0, 1, 'scale_from_zero');
    const stamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await cluster
      .writeStatus(pick.namespace, pick.name, {
        desiredOptimizedAlloc: { lastRunTime: stamp, numReplicas: 1, lastUpdate: { updateTime: stamp, numReplicasChanged: 1, reason: `scale from zero: ${queued} request(s) queued in the router` } },
        actuation: { applied: true },
      })
      .catch((err: Error) => logger.warn({ err: err.message }, 'status write failed'));
    logger.info({ variant: `${pick.namespace}/${pick.name}`, model: g.modelID, queued }, 'scaled from zero: the router holds requests for a model with no replicas');
    this.#o.onScaled?.(pick);
    return pick;
  }

  /** Runs {@link tick} every `intervalMs` (upstream: 100 ms), one pass at a time. */
  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = true;
      this.tick()
        .catch((err: Error) => this.#o.logger.error({ err: err.message }, 'scale-from-zero pass failed'))
        .finally(() => (this.#running = false));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the loop. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
