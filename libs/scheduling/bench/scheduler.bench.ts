// Benchmark: one scheduling cycle of the default profile shape (three weighted scorers and a
// max-score picker, no filters) over N endpoints. Prints p50/p99/max and writes a JSON report.
// Run: pnpm nx run scheduling:bench   (or: node libs/scheduling/bench/scheduler.bench.ts [--endpoints 64] [--iterations 20000] [--json out.json])
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CycleState, EMPTY_METRICS, EndpointAttributes, RouterError, Scheduler } from '../dist/index.js';
import type { Endpoint, InferenceRequest, Picker, ProfileHandler, SchedulerProfile, SchedulingContext, Scorer } from '../dist/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const endpointCount = Number(args.get('endpoints') ?? 64);
const iterations = Number(args.get('iterations') ?? 20_000);
const warmup = Math.min(2_000, iterations);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/scheduler.json', import.meta.url));

const endpoints: Endpoint[] = Array.from({ length: endpointCount }, (_, i) => ({
  metadata: { id: `default/pod-${i}`, name: `pod-${i}`, namespace: 'default', address: `10.0.0.${i}`, port: 8000, hostPort: `10.0.0.${i}:8000`, labels: {} },
  metrics: { ...EMPTY_METRICS, waitingQueueSize: i % 7, kvCacheUsagePercent: (i % 10) / 10 },
}));

// Scorers shaped like the built-in ones: min-max over the queue, 1 − KV usage, an attribute read.
const queue: Scorer = {
  type: 'queue-scorer', name: 'queue-scorer', category: 'distribution',
  score(_c, _r, eps) {
    let min = Infinity, max = -Infinity;
    for (const e of eps) { min = Math.min(min, e.metrics.waitingQueueSize); max = Math.max(max, e.metrics.waitingQueueSize); }
    const out = new Float64Array(eps.length);
    for (let i = 0; i < eps.length; i++) out[i] = max === min ? 1 : (max - (eps[i] as Endpoint).metrics.waitingQueueSize) / (max - min);
    return out;
  },
};
const kv: Scorer = {
  type: 'kv-cache-utilization-scorer', name: 'kv-cache-utilization-scorer', category: 'distribution',
  score(_c, _r, eps) {
    const out = new Float64Array(eps.length);
    for (let i = 0; i < eps.length; i++) out[i] = 1 - (eps[i] as Endpoint).metrics.kvCacheUsagePercent;
    return out;
  },
};
const prefix: Scorer = {
  type: 'prefix-cache-scorer', name: 'prefix-cache-scorer', category: 'affinity',
  score(ctx, _r, eps) {
    const out = new Float64Array(eps.length);
    for (let i = 0; i < eps.length; i++) out[i] = ctx.attributes.get<number>((eps[i] as Endpoint).metadata.id, 'prefix') ?? 0;
    return out;
  },
};
const picker: Picker = {
  type: 'max-score-picker', name: 'max-score-picker',
  pick(ctx, scored) {
    // Reservoir-style random tie-break instead of a shuffle.
    let best = -Infinity, chosen: Endpoint | undefined, ties = 0;
    for (const s of scored) {
      if (s.score > best) { best = s.score; chosen = s.endpoint; ties = 1; }
      else if (s.score === best && ctx.random() * ++ties < 1) chosen = s.endpoint;
    }
    return { targets: chosen ? [chosen] : [] };
  },
};
const profile: SchedulerProfile = { name: 'default', filters: [], scorers: [{ scorer: queue, weight: 2 }, { scorer: kv, weight: 2 }, { scorer: prefix, weight: 3 }], picker };
const handler: ProfileHandler = {
  type: 'single-profile-handler', name: 'single-profile-handler',
  pickProfiles: (_c, _r, profiles, results) => (results.size === 0 ? [...profiles.values()] : []),
  processResults(_c, _r, results) {
    if (!results.get('default')) throw new RouterError('ServiceUnavailable', 'no endpoint');
    return { profileResults: results, primaryProfileName: 'default' };
  },
};

const observed = { calls: 0 };
const scheduler = new Scheduler(
  { profileHandler: handler, profiles: new Map([['default', profile]]) },
  { pluginDuration: () => void observed.calls++, attempt: () => undefined },
);
const req = { requestId: 'r' } as InferenceRequest;
const samples = new Float64Array(iterations);
for (let i = 0; i < iterations + warmup; i++) {
  const attributes = new EndpointAttributes();
  attributes.set(`default/pod-${i % endpointCount}`, 'prefix', 0.8);
  const ctx: SchedulingContext = { cycle: new CycleState(), attributes, random: Math.random, now: () => performance.now() };
  const t0 = performance.now();
  scheduler.schedule(ctx, req, endpoints);
  if (i >= warmup) samples[i - warmup] = performance.now() - t0;
}
samples.sort();
const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] as number;
const report = { endpoints: endpointCount, iterations, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1), observerCalls: observed.calls };
console.log(`scheduler: ${endpointCount} endpoints, ${iterations} cycles: p50 ${report.p50Ms.toFixed(4)} ms, p99 ${report.p99Ms.toFixed(4)} ms, max ${report.maxMs.toFixed(3)} ms`);
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
