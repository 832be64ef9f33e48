// Benchmark of the flow controller alone: what one request costs when the pool has room (the fast
// path every request takes with the flowControl gate on), and when it has to queue (enqueue, then
// dispatch by fairness and ordering policy) for 1 to 256 flows and 50,000 queued requests.
// Run after a build: node --expose-gc libs/flow-control/bench/flow-control.bench.ts [--json out.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_METRICS, type Endpoint, type FairnessPolicy, type LoadedFlowControl, type OrderingPolicy, type SaturationDetector, type UsageLimitPolicy } from '@llmd/scheduling';
import {
  edfOrderingPolicy,
  fcfsOrderingPolicy,
  FlowController,
  globalStrictFairnessPolicy,
  roundRobinFairnessPolicy,
  staticUsageLimitPolicy,
  type FlowControlRequest,
} from '../dist/index.js';

const out = process.argv.indexOf('--json');
const jsonOut = out >= 0 ? (process.argv[out + 1] as string) : fileURLToPath(new URL('../dist/bench/flow-control.json', import.meta.url));

const noHandle = {} as never;
const fairness: Record<string, FairnessPolicy> = {
  'global-strict': globalStrictFairnessPolicy.create('gs', {}, noHandle) as FairnessPolicy,
  'round-robin': roundRobinFairnessPolicy.create('rr', {}, noHandle) as FairnessPolicy,
};
// What the router loads when no usage-limit policy is named: one ceiling of 1.0.
const usageLimitPolicy = staticUsageLimitPolicy.create('static-usage-limit-policy', { threshold: 1 }, noHandle) as UsageLimitPolicy;
const ordering: Record<string, OrderingPolicy> = {
  fcfs: fcfsOrderingPolicy.create('fcfs', {}, noHandle) as OrderingPolicy,
  edf: edfOrderingPolicy.create('edf', {}, noHandle) as OrderingPolicy,
};

function config(f: FairnessPolicy, o: OrderingPolicy): LoadedFlowControl {
  const band = { maxBytes: 1_000_000_000, maxRequests: 0, requestTTLMs: null, fairnessPolicy: f, orderingPolicy: o };
  return { maxBytes: 0, maxRequests: 0, defaultRequestTTLMs: 60_000, noEndpointRequestTTLMs: null, priorityBands: [{ priority: 0, ...band }], defaultPriorityBand: band, defaultNegativePriorityBand: null, usageLimitPolicy };
}

/** Open or closed, switched by the benchmark. */
class Gate implements SaturationDetector {
  readonly type = 'gate';
  readonly name = 'gate';
  open = true;
  saturation(): number {
    return this.open ? 0 : 1;
  }
}

const pool: Endpoint[] = [{ metadata: { id: 'default/a', name: 'a', namespace: 'default', address: '10.0.0.1', port: 8000, hostPort: '10.0.0.1:8000', labels: {} }, metrics: EMPTY_METRICS }];
const candidates = () => pool;
const request = (i: number, flows: number): FlowControlRequest => ({
  requestId: `r${i}`,
  fairnessId: `tenant-${i % flows}`,
  priority: 0,
  byteSize: 2048,
  modelName: 'm',
  targetModelName: 'm',
  candidates,
});

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** Fast path: queue empty, pool has room; `await` + release, as the director does. */
async function fastPath(n: number) {
  const fc = new FlowController(config(fairness['global-strict'] as FairnessPolicy, ordering.fcfs as OrderingPolicy), { detector: new Gate() });
  const reqs = Array.from({ length: 1000 }, (_, i) => request(i, 1));
  for (let i = 0; i < 20_000; i++) {
    const r = await fc.enqueueAndWait(reqs[i % 1000] as FlowControlRequest);
    if (r.outcome === 'Dispatched') r.release();
  }
  gc();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await fc.enqueueAndWait(reqs[i % 1000] as FlowControlRequest);
    if (r.outcome === 'Dispatched') r.release();
  }
  const perRequestUs = ((performance.now() - t0) * 1000) / n;
  // The same loop awaiting an already-resolved promise: what any async step costs.
  const t1 = performance.now();
  for (let i = 0; i < n; i++) await Promise.resolve(reqs[i % 1000]);
  const baselineUs = ((performance.now() - t1) * 1000) / n;
  return { requests: n, perRequestUs, awaitBaselineUs: baselineUs, addedUs: perRequestUs - baselineUs };
}

/** Queued path: `n` requests over `flows` flows enqueue while saturated, then all dispatch in one pass. */
async function queued(n: number, flows: number, f: string, o: string) {
  const gate = new Gate();
  gate.open = false;
  const fc = new FlowController(config(fairness[f] as FairnessPolicy, ordering[o] as OrderingPolicy), { detector: gate, pollIntervalMs: 1_000_000 });
  const reqs = Array.from({ length: n }, (_, i) => request(i, flows));
  gc();
  const t0 = performance.now();
  const waits = reqs.map((r) => fc.enqueueAndWait(r));
  const t1 = performance.now();
  gate.open = true;
  fc.notify();
  const t2 = performance.now();
  const results = await Promise.all(waits);
  const t3 = performance.now();
  let dispatched = 0;
  for (const r of results) {
    if (r.outcome === 'Dispatched') {
      dispatched++;
      r.release();
    }
  }
  if (dispatched !== n) throw new Error(`only ${dispatched} of ${n} dispatched`);
  return {
    fairness: f,
    ordering: o,
    flows,
    queued: n,
    enqueueUs: ((t1 - t0) * 1000) / n,
    dispatchUs: ((t2 - t1) * 1000) / n,
    resumeUs: ((t3 - t2) * 1000) / n,
    totalUs: ((t3 - t0) * 1000) / n,
  };
}

const fast = await fastPath(500_000);
const queuedResults = [];
for (const [f, o] of [['global-strict', 'fcfs'], ['round-robin', 'fcfs'], ['round-robin', 'edf']] as const) {
  for (const flows of [1, 16, 256]) {
    await queued(5000, flows, f, o); // warm-up
    queuedResults.push(await queued(50_000, flows, f, o));
  }
}
const report = {
  benchmark: 'flow controller cost per request (fast path and queued path)',
  command: `node --expose-gc libs/flow-control/bench/flow-control.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  results: { fastPath: fast, queued: queuedResults },
  machine: { node: process.version },
};
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
