// Test harness: a real Prometheus scraping simulated servers that the autoscaler's local runner
// starts and stops, and a controller wired to both (direct actuation).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@llmd/observability';
import { startPrometheus, waitUntil, type PrometheusServer } from '@llmd/testing';
import { stringify } from 'yaml';
import { ActuationMetrics } from '../actuation/metrics.js';
import { MetricsCollector } from '../collector/collector.js';
import { Controller, type CycleReport, type VariantOutcome } from '../controller.js';
import { LocalCluster } from '../local/local-cluster.js';
import { ProcessRunner, type LocalReplica } from '../local/runner.js';
import { PrometheusClient } from '../prometheus/client.js';
import type { QueryWindows } from '../prometheus/queries.js';

/** Namespace the test objects live in (also the Prometheus `namespace` label). */
export const NS = 'autoscaling-test';

/** A simulator that queues past 4 running requests and whose KV cache a full batch of the test's requests (400 + 30 tokens) fills to 0.75. */
export const SMALL_SERVER_ARGS = [
  '--max-num-seqs', '4', '--kv-cache-size', '145', '--block-size', '16', '--preset', 'qwen3-0.6b/h100',
  '--latency-calculator', 'constant', '--time-to-first-token', '50', '--inter-token-latency', '40',
  '--time-to-first-token-std-dev', '0', '--inter-token-latency-std-dev', '0',
];

/** One variant of the test: a VariantAutoscaling and the workload it targets. */
export interface TestVariant {
  readonly name: string;
  readonly model: string;
  readonly cost: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly replicas: number;
  readonly args: readonly string[];
}

/** What {@link startScalingHarness} returns. */
export interface ScalingHarness extends AsyncDisposable {
  readonly prometheus: PrometheusServer;
  readonly runner: ProcessRunner;
  readonly cluster: LocalCluster;
  readonly controller: Controller;
  readonly metrics: ActuationMetrics;
  readonly windows: QueryWindows;
  /** Saturation window in ms. */
  readonly windowMs: number;
  /** Rewrites the local file's ConfigMaps (read again on the next cycle). */
  setConfigMaps(configMaps: Record<string, Record<string, string>>): void;
  /** Runs one cycle and returns its outcome per variant name. */
  cycle(): Promise<Map<string, VariantOutcome>>;
  /** Waits until Prometheus has a fresh sample of every running replica of `model`. */
  waitScraped(model: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Prometheus, the variants' initial replicas and a controller. */
export async function startScalingHarness(variants: readonly TestVariant[], options: { windowSeconds?: number; configMaps?: Record<string, Record<string, string>> } = {}): Promise<ScalingHarness> {
  const windowSeconds = options.windowSeconds ?? 6;
  const windows: QueryWindows = { saturation: `${windowSeconds}s`, rate: `${windowSeconds * 3}s`, arrival: `${windowSeconds * 2}s` };
  const prometheus = await startPrometheus({ scrapeInterval: '1s' });
  const dir = mkdtempSync(join(tmpdir(), 'llmd-autoscaler-'));
  const file = join(dir, 'local.yaml');
  let configMaps = options.configMaps ?? {};
  const write = () =>
    writeFileSync(
      file,
      stringify({
        namespace: NS,
        variantAutoscalings: variants.map((v) => ({
          metadata: { name: v.name, namespace: NS },
          spec: { scaleTargetRef: { kind: 'Deployment', name: v.name }, modelID: v.model, variantCost: v.cost.toFixed(1), minReplicas: v.minReplicas, maxReplicas: v.maxReplicas, accelerator: v.name },
        })),
        workloads: variants.map((v) => ({ name: v.name, replicas: v.replicas, args: ['--model', v.model, ...v.args] })),
        configMaps,
      }),
    );
  write();
  const logger = silentLogger();
  const point = (all: readonly LocalReplica[]) => prometheus.setTargets(all.map((r) => ({ url: r.url, labels: { namespace: NS, pod: r.pod } })));
  const runner = new ProcessRunner({ namespace: NS, logger, onChange: point });
  const cluster = new LocalCluster(file, runner, logger);
  await cluster.startWorkloads();
  const metrics = new ActuationMetrics();
  const collector = new MetricsCollector(new PrometheusClient({ baseUrl: prometheus.url }), { windows, stalenessMs: 10_000 });
  const controller = new Controller(
    { cluster, metricsSource: collector, metrics, logger },
    { configNamespace: NS, scaleToZeroDefault: false, limitedMode: false, acceleratorCapacity: new Map(), actuation: 'direct' },
  );
  const waitScraped = async (model: string) => {
    await waitUntil(async () => {
      const running = runner.all().filter((r) => variants.find((v) => r.workload === v.name)?.model === model);
      const seen = await prometheus.query(`timestamp(vllm:kv_cache_usage_perc{namespace="${NS}",model_name="${model}"})`);
      const fresh = new Set(seen.filter((s) => Date.now() / 1000 - s.value < 3).map((s) => s.labels.pod));
      return running.every((r) => fresh.has(r.pod));
    }, `Prometheus to scrape every replica of ${model}`, 12_000);
  };
  const stop = async () => {
    await runner.stopAll();
    await prometheus.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    prometheus,
    runner,
    cluster,
    controller,
    metrics,
    windows,
    windowMs: windowSeconds * 1000,
    setConfigMaps: (c) => {
      configMaps = c;
      write();
    },
    cycle: async () => {
      const report: CycleReport = await controller.reconcile();
      return new Map(report.outcomes.map((o) => [o.variant, o]));
    },
    waitScraped,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Resolves after `ms` (a lower bound on elapsed time, never an assertion). */
export function elapse(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
