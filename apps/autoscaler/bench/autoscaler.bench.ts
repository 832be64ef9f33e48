// Autoscaling benchmark: one load ramp replayed in virtual time against the simulator's engine model
// under five policies, comparing the share of requests that meet a TTFT SLO with the replica-seconds
// spent. See docs/benchmarks/autoscaler.md for the method and the results.
//
//   pnpm nx run autoscaler:bench                      (builds first)
//   node apps/autoscaler/bench/autoscaler.bench.ts [--json FILE] [--quick]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@llmd/observability';
import { ActuationMetrics } from '../dist/actuation/metrics.js';
import { ScaleFromZeroEngine } from '../dist/actuation/scale-from-zero.js';
import type { Cluster, VariantList } from '../dist/cluster.js';
import { Controller } from '../dist/controller.js';
import { DirectScrapeSource } from '../dist/local/direct-source.js';
import type { TargetState, Variant } from '../dist/model.js';
import { loadEngineModule, makeTrace, rateAt, SimCluster, type EngineModule, type RateProfile, type TraceRequest } from './ramp-sim.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const jsonOut = flag('json') ?? fileURLToPath(new URL('../dist/bench/autoscaler.json', import.meta.url));

// --- The scenario. ---

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const PRESET = 'llama-3.1-8b/h100';
/** Time to first token the SLO asks for, ms. */
const TTFT_SLO_MS = 500;
/** Model load time of a new replica, ms. */
const COLD_START_MS = 60_000;
const SCRAPE_MS = 5_000;
const TICK_MS = 100;
const SEED = 20260101;
const PEAK = 28;
/** Requests per second over time (s): quiet, ramp up, plateau, ramp down, idle, a trickle again. */
const PROFILE: RateProfile = [
  [0, 2],
  [120, 2],
  [600, PEAK],
  [780, PEAK],
  [1080, 2],
  [1140, 0],
  [1500, 0],
  [1501, 1],
  [1800, 1],
];
const DURATION_S = quick ? 900 : 1800;
/** Phases of the profile reported apart: name, from, to (s). */
const PHASES: ReadonlyArray<readonly [string, number, number]> = [
  ['quiet', 0, 120],
  ['ramp-up', 120, 600],
  ['peak', 600, 780],
  ['ramp-down', 780, 1140],
  ['after-idle', 1500, 1800],
];
const PROMPT: [number, number] = [512, 1536];
const OUTPUT: [number, number] = [128, 384];
const MAX_REPLICAS = 10;

function engineOptions(mod: EngineModule): Record<string, unknown> {
  // The simulator's defaults: vLLM on an H100 serving Llama-3.1-8B (1024 sequences, 8192 batched
  // tokens, KV capacity from 90% of GPU memory, roofline step times).
  return mod.defaultEngineOptions(PRESET);
}

// --- Running one policy. ---

interface TimelinePoint {
  t: number;
  rate: number;
  live: number;
  ready: number;
  held: number;
}

interface PolicyResult {
  policy: string;
  requests: number;
  metSlo: number;
  sloAttainment: number;
  rejected: number;
  replicaSeconds: number;
  /** Replica-seconds relative to the fixed deployment sized for the peak. */
  relativeCost?: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  ttftP99Ms: number;
  maxReplicas: number;
  /** Share of the requests of each phase of the ramp that met the SLO. */
  phases: Record<string, { requests: number; sloAttainment: number }>;
  /** Mean requests running per ready replica, sampled every 10 s while any replica was ready. */
  meanRunningPerReplica: number;
  /** KV-cache usage of the ready replicas, sampled every 10 s: mean and highest. */
  kvMean: number;
  kvMax: number;
  /** The autoscaler's decisions when they changed: time (s), desired replicas, reason. */
  decisions?: Array<{ t: number; desired: number; reason: string }>;
  timeline: TimelinePoint[];
  wallSeconds: number;
}

/** A policy: called every tick with the cluster; may keep its own schedule. */
interface Policy {
  readonly name: string;
  /** Filled by the autoscaler policies. */
  readonly decisions?: Array<{ t: number; desired: number; reason: string }>;
  init(c: SimCluster): void;
  tick(c: SimCluster, nowMs: number): Promise<void> | void;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function runPolicy(mod: EngineModule, policy: Policy, trace: readonly TraceRequest[], durationS: number, profile: RateProfile): Promise<PolicyResult> {
  const wall = performance.now();
  const c = new SimCluster(mod, { model: MODEL, engineOptions: engineOptions(mod), coldStartMs: COLD_START_MS });
  policy.init(c);
  const timeline: TimelinePoint[] = [];
  let next = 0;
  const endMs = durationS * 1000;
  let maxLive = 0;
  let runningSum = 0;
  let runningSamples = 0;
  let kvSum = 0;
  let kvMax = 0;
  for (let t = 0; t < endMs; t += TICK_MS) {
    while (next < trace.length && (trace[next] as TraceRequest).atMs < t + TICK_MS) {
      const r = trace[next++] as TraceRequest;
      c.clock.setTimer(() => c.arrive(r), r.atMs - c.clock.now());
    }
    c.clock.advance(TICK_MS);
    c.drainHeld();
    const now = t + TICK_MS;
    await policy.tick(c, now);
    c.drainHeld();
    maxLive = Math.max(maxLive, c.live().length);
    if (now % 30_000 === 0) timeline.push({ t: now / 1000, rate: rateAt(profile, now / 1000), live: c.live().length, ready: c.ready().length, held: c.held.length });
    if (now % 10_000 === 0) {
      const ready = c.ready();
      if (ready.length > 0) {
        const snaps = ready.map((r) => r.engine.snapshot());
        runningSum += snaps.reduce((sum, x) => sum + x.running, 0) / ready.length;
        kvSum += snaps.reduce((sum, x) => sum + x.kvUsage, 0) / ready.length;
        kvMax = Math.max(kvMax, ...snaps.map((x) => x.kvUsage));
        runningSamples++;
      }
    }
  }
  // Let the requests in flight finish (no new arrivals; replicas are not counted past the end).
  for (let extra = 0; extra < 600_000 && c.replicas.some((r) => r.inFlight > 0); extra += TICK_MS) {
    c.clock.advance(TICK_MS);
    c.drainHeld();
  }
  const ttfts = c.results.filter((r) => r.ttftMs !== null).map((r) => r.ttftMs as number).sort((a, b) => a - b);
  const metSlo = c.results.filter((r) => r.ttftMs !== null && r.ttftMs <= TTFT_SLO_MS).length;
  const phases: PolicyResult['phases'] = {};
  for (const [name, from, to] of PHASES) {
    const inPhase = c.results.filter((r) => r.arrivalMs >= from * 1000 && r.arrivalMs < to * 1000);
    if (inPhase.length === 0) continue;
    phases[name] = { requests: inPhase.length, sloAttainment: inPhase.filter((r) => r.ttftMs !== null && r.ttftMs <= TTFT_SLO_MS).length / inPhase.length };
  }
  return {
    policy: policy.name,
    requests: trace.length,
    metSlo,
    sloAttainment: metSlo / trace.length,
    rejected: c.results.filter((r) => r.ttftMs === null).length + (trace.length - c.results.length),
    replicaSeconds: c.replicaSeconds(endMs),
    ttftP50Ms: percentile(ttfts, 50),
    ttftP95Ms: percentile(ttfts, 95),
    ttftP99Ms: percentile(ttfts, 99),
    maxReplicas: maxLive,
    meanRunningPerReplica: runningSamples > 0 ? runningSum / runningSamples : 0,
    kvMean: runningSamples > 0 ? kvSum / runningSamples : 0,
    kvMax,
    ...(policy.decisions ? { decisions: policy.decisions } : {}),
    phases,
    timeline,
    wallSeconds: (performance.now() - wall) / 1000,
  };
}

// --- The policies. ---

/** A deployment of `n` replicas, all warm from the start. */
function fixed(n: number): Policy {
  return { name: `fixed-${n}`, init: (c) => c.scaleTo(n, true), tick: () => undefined };
}

/** HPA defaults the replay follows: 15 s sync period, 10% tolerance, scale-up by at most max(+4 pods, +100%) per period. */
const HPA_SYNC_MS = 15_000;
/** Scale-down stabilization of both HPAs (upstream WVA recommends at least 120 s). */
const HPA_STABILIZATION_MS = 120_000;

/**
 * A HorizontalPodAutoscaler: every sync period, `recommend` gives the replicas the metric asks for;
 * within the tolerance nothing changes; scale-up is limited to max(+4, ×2) per period; scale-down
 * goes to the highest recommendation of the stabilization window.
 */
class Hpa {
  readonly #recommendations: Array<{ t: number; n: number }> = [];
  readonly minReplicas: number;
  readonly maxReplicas: number;
  constructor(minReplicas: number, maxReplicas: number) {
    this.minReplicas = minReplicas;
    this.maxReplicas = maxReplicas;
  }

  /** One sync: `wanted` is the metric's recommendation, `ratio` the metric over its target (for the tolerance). */
  sync(c: SimCluster, now: number, wanted: number, ratio: number): void {
    const current = c.live().length;
    let desired = Math.abs(ratio - 1) <= 0.1 ? current : wanted;
    desired = Math.min(this.maxReplicas, Math.max(this.minReplicas, desired));
    this.#recommendations.push({ t: now, n: desired });
    while ((this.#recommendations[0]?.t ?? now) < now - HPA_STABILIZATION_MS) this.#recommendations.shift();
    if (desired > current) desired = Math.min(desired, Math.max(current + 4, current * 2));
    else desired = Math.max(...this.#recommendations.map((r) => r.n));
    if (desired !== current) c.scaleTo(desired);
  }
}

/** HPA on queue depth: target `target` waiting requests per ready replica (a Pods metric, AverageValue). */
function hpaQueueDepth(target: number): Policy {
  const hpa = new Hpa(1, MAX_REPLICAS);
  return {
    name: `hpa-queue-depth (${target} waiting per replica)`,
    init: (c) => c.scaleTo(1, true),
    tick: (c, now) => {
      if (now % HPA_SYNC_MS !== 0) return;
      const ready = c.ready();
      if (ready.length === 0) return;
      const current = c.live().length;
      const metric = ready.reduce((s, r) => s + r.engine.snapshot().waiting, 0) / ready.length;
      hpa.sync(c, now, Math.ceil((current * metric) / target), metric / target);
    },
  };
}

/**
 * HPA on the router's two metrics as llm-d documents it: queue depth (target `queueTarget` waiting
 * per replica) and running requests (target `runningTarget` per replica), whichever asks for more.
 */
function hpaQueueAndRunning(queueTarget: number, runningTarget: number): Policy {
  const hpa = new Hpa(1, MAX_REPLICAS);
  return {
    name: `hpa-queue-depth + running (${queueTarget} waiting, ${runningTarget.toFixed(0)} running per replica)`,
    init: (c) => c.scaleTo(1, true),
    tick: (c, now) => {
      if (now % HPA_SYNC_MS !== 0) return;
      const ready = c.ready();
      if (ready.length === 0) return;
      const current = c.live().length;
      const snaps = ready.map((r) => r.engine.snapshot());
      const waiting = snaps.reduce((s, x) => s + x.waiting, 0) / ready.length;
      const running = snaps.reduce((s, x) => s + x.running, 0) / ready.length;
      const byQueue = Math.ceil((current * waiting) / queueTarget);
      const byRunning = Math.ceil((current * running) / runningTarget);
      const ratio = byQueue >= byRunning ? waiting / queueTarget : running / runningTarget;
      hpa.sync(c, now, Math.max(byQueue, byRunning), ratio);
    },
  };
}

/**
 * The autoscaler's controller (this app, built) as deployed upstream: it publishes
 * wva_desired_replicas, and an HPA scales on it (External metric, AverageValue 1, so its
 * recommendation is the published value). Scale from zero sets /scale directly.
 */
function autoscaler(name: string, variant: Partial<Variant>, configMaps: Record<string, Record<string, string>>, intervalMs: number): Policy {
  const epoch = Date.parse('2026-01-01T00:00:00Z');
  let controller: Controller;
  let source: DirectScrapeSource;
  let fromZero: ScaleFromZeroEngine;
  let published: number | null = null;
  const hpa = new Hpa(variant.minReplicas ?? 1, MAX_REPLICAS);
  const decisions: Array<{ t: number; desired: number; reason: string }> = [];
  return {
    name,
    decisions,
    init: (c) => {
      const v: Variant = { name: 'variant', namespace: 'bench', modelID: MODEL, target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'variant' }, cost: 10, accelerator: 'H100', acceleratorCount: 1, minReplicas: 1, maxReplicas: MAX_REPLICAS, ...variant };
      let status: Record<string, unknown> = {};
      const cluster: Cluster = {
        listVariants: async (): Promise<VariantList> => {
          const d = status.desiredOptimizedAlloc as { numReplicas?: number; lastUpdate?: never } | undefined;
          return { variants: [{ variant: v, previousDesired: d?.numReplicas ?? null, previousUpdate: d?.lastUpdate, conditions: (status.conditions as never) ?? [] }], invalid: [] };
        },
        getScale: async (): Promise<TargetState> => ({ specReplicas: c.live().length, statusReplicas: c.live().length }),
        setScale: async (_ns, _t, n) => c.scaleTo(n),
        writeStatus: async (_ns, _n, s) => {
          status = { ...status, ...s };
        },
        readConfigMap: async (_ns, name) => configMaps[name] ?? null,
      };
      const now = () => epoch + c.clock.now();
      source = new DirectScrapeSource({
        targets: () => [],
        windows: { saturation: '1m', rate: '5m', arrival: '1m' },
        stalenessMs: 3 * SCRAPE_MS,
        scrapeIntervalMs: SCRAPE_MS,
        now,
        flowQueue: { queued: async () => c.held.length },
      });
      const metrics = new ActuationMetrics();
      controller = new Controller(
        { cluster, metricsSource: source, metrics, logger: silentLogger(), now: () => new Date(now()) },
        { configNamespace: 'bench', scaleToZeroDefault: false, limitedMode: false, acceleratorCapacity: new Map(), actuation: 'metrics' },
      );
      fromZero = new ScaleFromZeroEngine({
        cluster,
        reader: { queued: async () => c.held.length },
        metrics,
        logger: silentLogger(),
        onScaled: () => {
          published = 1;
          decisions.push({ t: c.clock.now() / 1000, desired: 1, reason: 'scale from zero: requests wait in the router' });
        },
      });
      c.scaleTo(Math.max(1, v.minReplicas), true);
    },
    tick: async (c, now) => {
      if (now % SCRAPE_MS === 0) c.scrapeInto(source);
      if (now % intervalMs === 0) {
        const report = await controller.reconcile();
        for (const o of report.outcomes) {
          if (o.desiredReplicas !== published) decisions.push({ t: now / 1000, desired: o.desiredReplicas, reason: o.reason });
          published = o.desiredReplicas;
          if (process.env.BENCH_DEBUG) console.log(`  t=${now / 1000}s live=${c.live().length} desired=${o.desiredReplicas} ${o.reason}`);
        }
        fromZero.observe(controller.lastResolved);
      }
      // Upstream polls the router queue every 100 ms; every 500 ms of virtual time is close enough here.
      if (now % 500 === 0) await fromZero.tick();
      if (now % HPA_SYNC_MS === 0 && published !== null) {
        const current = c.live().length;
        hpa.sync(c, now, published, current === 0 ? (published > 0 ? Infinity : 1) : published / current);
      }
    },
  };
}

// --- Main. ---

async function main(): Promise<void> {
  const mod = await loadEngineModule();
  const profile: RateProfile = quick ? PROFILE.filter(([t]) => t <= 900).concat([[900, 2]]) : PROFILE;
  const trace = makeTrace(profile, DURATION_S, SEED, PROMPT, OUTPUT);
  console.log(`trace: ${trace.length} requests over ${DURATION_S} s, peak ${PEAK} req/s, prompts ${PROMPT.join('–')} tokens, outputs ${OUTPUT.join('–')} tokens`);

  // Size the fixed deployment for the peak: the fewest warm replicas that keep 99% of requests
  // within the SLO when the peak rate is held for three minutes.
  const plateau = makeTrace([[0, PEAK], [180, PEAK]], 180, SEED + 1, PROMPT, OUTPUT);
  let peakSize = 1;
  let runningAtPeak = 0;
  for (; peakSize <= MAX_REPLICAS; peakSize++) {
    const r = await runPolicy(mod, fixed(peakSize), plateau, 180, [[0, PEAK], [180, PEAK]]);
    console.log(`  sizing: ${peakSize} replica(s) at ${PEAK} req/s → ${(100 * r.sloAttainment).toFixed(1)}% within ${TTFT_SLO_MS} ms, ${r.meanRunningPerReplica.toFixed(1)} running per replica`);
    runningAtPeak = r.meanRunningPerReplica;
    if (r.sloAttainment >= 0.99) break;
  }

  // One replica alone at steady rates around its capacity.
  const capacity: Array<{ rate: number; sloAttainment: number; kvMean: number; kvMax: number; meanRunning: number }> = [];
  for (const rate of [12, 14, 16, 18]) {
    const steady: RateProfile = [[0, rate], [180, rate]];
    const r = await runPolicy(mod, fixed(1), makeTrace(steady, 180, SEED + 2, PROMPT, OUTPUT), 180, steady);
    capacity.push({ rate, sloAttainment: r.sloAttainment, kvMean: r.kvMean, kvMax: r.kvMax, meanRunning: r.meanRunningPerReplica });
    console.log(`  one replica at ${rate} req/s → ${(100 * r.sloAttainment).toFixed(1)}% within ${TTFT_SLO_MS} ms, KV mean ${r.kvMean.toFixed(2)}, max ${r.kvMax.toFixed(2)}`);
  }

  const policies: Policy[] = [
    fixed(peakSize),
    hpaQueueDepth(3),
    // Tuned from the sizing run: the running requests per replica of the deployment sized for the peak.
    hpaQueueAndRunning(3, Math.max(1, Math.round(runningAtPeak))),
    autoscaler('wva-saturation → HPA', {}, {}, 30_000),
    autoscaler('wva-saturation (token-based) → HPA', {}, { 'wva-saturation-scaling-config': { default: 'analyzerName: saturation\n' } }, 30_000),
    autoscaler('wva-saturation → HPA, scale to zero (2m)', { minReplicas: 0 }, { 'wva-model-scale-to-zero-config': { default: 'enable_scale_to_zero: true\nretention_period: 2m\n' } }, 30_000),
    autoscaler(
      'wva-queueing-model → HPA (TTFT 500 ms, ITL 50 ms, fitted)',
      {},
      { 'wva-queueing-model-config': { default: `targetTTFT: ${TTFT_SLO_MS}\ntargetITL: 50\nmaxBatchSize: 256\ntuningEnabled: true\n` } },
      30_000,
    ),
  ];
  const results: PolicyResult[] = [];
  for (const p of policies) {
    const r = await runPolicy(mod, p, trace, DURATION_S, profile);
    results.push(r);
    console.log(`${r.policy.padEnd(66)} SLO ${(100 * r.sloAttainment).toFixed(1).padStart(5)}%  replica-s ${r.replicaSeconds.toFixed(0).padStart(6)}  p95 TTFT ${r.ttftP95Ms.toFixed(0).padStart(6)} ms  max ${r.maxReplicas}  (${r.wallSeconds.toFixed(1)} s)`);
  }
  const base = results[0]?.replicaSeconds ?? NaN;
  for (const r of results) r.relativeCost = r.replicaSeconds / base;
  const report = {
    benchmark: 'autoscaler-ramp',
    command: `node apps/autoscaler/bench/autoscaler.bench.ts${quick ? ' --quick' : ''}`,
    node: process.version,
    scenario: {
      model: MODEL,
      preset: PRESET,
      engine: { maxNumSeqs: 1024, maxNumBatchedTokens: 8192, latencyModel: 'roofline' },
      ttftSloMs: TTFT_SLO_MS,
      coldStartMs: COLD_START_MS,
      scrapeIntervalMs: SCRAPE_MS,
      profile,
      durationSeconds: DURATION_S,
      promptTokens: PROMPT,
      outputTokens: OUTPUT,
      seed: SEED,
      requests: trace.length,
      fixedSizeForPeak: peakSize,
      runningPerReplicaAtPeak: runningAtPeak,
      oneReplicaAtSteadyRates: capacity,
      hpa: { syncSeconds: HPA_SYNC_MS / 1000, scaleDownStabilizationSeconds: HPA_STABILIZATION_MS / 1000, tolerance: 0.1 },
      autoscalerIntervalSeconds: 30,
    },
    results,
  };
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`JSON report: ${jsonOut}`);
}

await main();
