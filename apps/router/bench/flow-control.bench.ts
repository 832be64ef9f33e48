// Benchmark: what flow control costs a request in the router, and what it buys a high-priority band
// under overload. Run after a build (pnpm nx run-many -t build -p router,inference-sim):
//   node apps/router/bench/flow-control.bench.ts [--iterations 5000] [--probes 40] [--json out.json]
//
// Part A, in process: director.route() (parse, producers, default profile, PreRequest) for 8
// endpoints with the flowControl gate off, and on while the pool has room (every request passes
// through the flow controller's fast path), with either detector.
// Part B, three processes (simulators, router, this load generator): time to first token of a
// high-priority request, unloaded and while a low-priority flood keeps the pool over capacity:
// without flow control, with strict priority, and with priority-holdback keeping room.
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowController } from '@llmd/flow-control';
import { silentLogger } from '@llmd/observability';
import { EMPTY_METRICS } from '@llmd/scheduling';
import { loadRouterConfig } from '../dist/app.js';
import { createEndpointMetadata, InMemoryDatastore } from '../dist/datastore/index.js';
import { RouterDirector } from '../dist/director/index.js';
import { flowControlObserver, RouterMetrics } from '../dist/metrics/router-metrics.js';
import { benchArgs, percentile, startProcess, stopProcesses, writeReport } from './common.ts';

const args = benchArgs();
const iterations = Number(args.get('iterations') ?? 5000);
const probes = Number(args.get('probes') ?? 30);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/flow-control.json', import.meta.url));
const simMain = fileURLToPath(new URL('../../inference-sim/dist/main.js', import.meta.url));
const routerMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));

// ---- Part A ----

const PROFILE = `
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer, weight: 2}, {pluginRef: prefix-cache-scorer, weight: 3}]
`;
const SCORERS = '- type: queue-scorer\n- type: kv-cache-utilization-scorer\n- type: prefix-cache-scorer\n';
const VARIANTS: Record<string, string | null> = {
  'flow control off (default config)': null,
  'flow control on, utilization-detector': `featureGates: [flowControl]\nplugins:\n${SCORERS}- type: utilization-detector\n  parameters: {metricsStalenessThreshold: 1h}\n${PROFILE}flowControl: {saturationDetector: {pluginRef: utilization-detector}}\n`,
  'flow control on, concurrency-detector': `featureGates: [flowControl]\nplugins:\n${SCORERS}- type: concurrency-detector\n  parameters: {maxConcurrency: 1000}\n${PROFILE}flowControl: {saturationDetector: {pluginRef: concurrency-detector}}\n`,
};

async function routeLatency(label: string, configText: string | null) {
  const logger = silentLogger();
  const datastore = new InMemoryDatastore({ logger });
  for (let i = 0; i < 8; i++) {
    const md = createEndpointMetadata({ name: `pod-${i}`, address: `10.0.0.${i + 1}`, port: 8000 });
    datastore.upsert(md);
    datastore.updateMetrics(md.id, { ...EMPTY_METRICS, waitingQueueSize: i % 3, kvCacheUsagePercent: (i % 5) / 10, cacheBlockSize: 16, cacheNumBlocks: 30_000, updateTime: performance.now() });
  }
  datastore.markSynced();
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const now = () => performance.now();
  const config = loadRouterConfig({ configText, configSource: label }, { logger, endpoints: () => datastore.endpoints(), random, now });
  const metrics = new RouterMetrics(() => datastore.endpoints().length);
  const detector = config.saturationDetector;
  const flowControl = config.flowControlConfig && detector ? new FlowController(config.flowControlConfig, { detector, now, observer: flowControlObserver(metrics) }) : null;
  const director = new RouterDirector({
    datastore, scheduler: config.scheduler, producers: config.producers, admitters: config.admitters, preRequestHooks: config.preRequestHooks,
    responseHooks: config.responseHooks, metrics, logger, random, now, flowControl, saturationDetector: detector,
  });
  const bodies = Array.from({ length: 256 }, (_, i) => Buffer.from(JSON.stringify({ model: 'm', prompt: `session ${i % 32}: ${'lorem ipsum '.repeat(160)} question ${i}`, max_tokens: 64 })));
  const samples: number[] = [];
  for (let i = 0; i < iterations + 500; i++) {
    const t0 = performance.now();
    const routed = await director.route({ method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json', 'x-llm-d-inference-fairness-id': `tenant-${i % 4}` }, body: bodies[i % 256] as Buffer, subsetHint: null });
    const t1 = performance.now();
    routed.response.complete(null, false);
    if (i >= 500) samples.push(t1 - t0);
  }
  flowControl?.close();
  return { variant: label, iterations, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), meanMs: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const partA = [];
for (const [label, text] of Object.entries(VARIANTS)) await routeLatency(label, text); // warm-up of every variant
for (const [label, text] of Object.entries(VARIANTS)) partA.push(await routeLatency(label, text));
const offMean = partA[0]?.meanMs ?? 0;

// ---- Part B ----

const SERVERS = 2;
const BATCH = 32; // per server: the simulator's running batch (--max-num-seqs)
const SLOTS = 8; // per server: the router's cap (concurrency-detector maxConcurrency)
const FLOOD = 96; // closed-loop low-priority streams: above the router's cap and the servers' batches
const sim = await startProcess(
  simMain,
  [
    '--model', 'Qwen/Qwen3-0.6B', '--preset', 'qwen3-0.6b/h100', '--host', '127.0.0.1', '--port', '0', '--seed', '1', '--data-parallel-size', String(SERVERS),
    '--max-num-seqs', String(BATCH), '--latency-calculator', 'constant', '--time-to-first-token', '100ms', '--inter-token-latency', '10ms',
    // Jitter, as real servers have: without it a closed-loop flood finishes in lockstep waves.
    '--time-to-first-token-std-dev', '20ms', '--inter-token-latency-std-dev', '2ms', '--log-level', 'info',
  ],
  'simulator listening',
);
const dir = mkdtempSync(join(tmpdir(), 'fc-bench-'));
writeFileSync(join(dir, 'endpoints.yaml'), `endpoints:\n${(sim.entry.urls as string[]).map((u, i) => `- name: sim-${i}\n  address: "127.0.0.1"\n  port: ${new URL(u).port}\n`).join('')}`);
writeFileSync(
  join(dir, 'objectives.yaml'),
  'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: critical}\nspec: {priority: 10}\n---\napiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: bulk}\nspec: {priority: 0}\n',
);
type Mode = 'off' | 'strict' | 'holdback';
const configFor = (mode: Mode) => `
${mode === 'off' ? '' : 'featureGates: [flowControl]'}
plugins:
- type: concurrency-detector
  parameters: {maxConcurrency: ${SLOTS}}
- type: queue-scorer
- type: priority-holdback-policy
  name: holdback
  parameters: {minCeiling: 0.5}
schedulingProfiles:
- name: default
  plugins: [${mode === 'off' ? '' : '{pluginRef: concurrency-detector}, '}{pluginRef: queue-scorer}]
flowControl:
  defaultRequestTTL: 5m
  saturationDetector: {pluginRef: concurrency-detector}
  priorityBands: [{priority: 10}, {priority: 0}]
${mode === 'holdback' ? '  usageLimitPolicyPluginRef: holdback' : ''}
`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** A streamed completion; resolves with the time to the first token (ms) and the total time. */
function stream(port: number, objective: string, maxTokens: number): Promise<{ ttftMs: number; totalMs: number; status: number }> {
  const body = JSON.stringify({ model: 'Qwen/Qwen3-0.6B', prompt: 'Explain flow control in one paragraph.', max_tokens: maxTokens, ignore_eos: true, stream: true });
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-llm-d-inference-objective': objective } },
      (res) => {
        let ttft = -1;
        res.on('data', (chunk: Buffer) => {
          if (ttft < 0 && chunk.toString('utf8').includes('"text"')) ttft = performance.now() - t0;
        });
        res.on('end', () => resolve({ ttftMs: ttft, totalMs: performance.now() - t0, status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function scenario(name: string, mode: Mode, flood: boolean) {
  const router = await startProcess(routerMain, ['--config-text', configFor(mode), '--endpoints-file', join(dir, 'endpoints.yaml'), '--objectives-file', join(dir, 'objectives.yaml'), '--host', '127.0.0.1', '--proxy-port', '0', '--grpc-port', '0', '--grpc-health-port', '0', '--metrics-port', '0', '--secure-serving=false', '--log-level', 'info'], 'router listening');
  const port = (router.entry.ports as { proxy: number }).proxy;
  let stop = false;
  let floodDone = 0;
  const floodStatuses = new Map<number, number>();
  const loops = flood
    ? Array.from({ length: FLOOD }, async () => {
        while (!stop) {
          const r = await stream(port, 'bulk', 10 + Math.floor(Math.random() * 21));
          floodDone++;
          floodStatuses.set(r.status, (floodStatuses.get(r.status) ?? 0) + 1);
        }
      })
    : [];
  if (flood) await new Promise((r) => setTimeout(r, 3000)); // let the queues fill
  const floodStart = performance.now();
  const floodBefore = floodDone;
  const ttfts: number[] = [];
  for (let i = 0; i < probes; i++) {
    const r = await stream(port, 'critical', 5);
    if (r.status === 200) ttfts.push(r.ttftMs);
    await new Promise((res) => setTimeout(res, 50));
  }
  const floodPerSecond = ((floodDone - floodBefore) * 1000) / (performance.now() - floodStart);
  stop = true;
  await Promise.all(loops);
  router.child.kill('SIGTERM');
  await new Promise((r) => router.child.once('exit', r));
  return { scenario: name, mode, flood, probes: ttfts.length, ttftP50Ms: percentile(ttfts, 50), ttftP90Ms: percentile(ttfts, 90), ttftMeanMs: ttfts.reduce((a, b) => a + b, 0) / ttfts.length, floodCompleted: floodDone, floodPerSecond, floodStatuses: Object.fromEntries(floodStatuses) };
}

const unloaded = await scenario('unloaded', 'strict', false);
const off = await scenario('flood, flow control off', 'off', true);
const strict = await scenario('flood, flow control on, strict priority', 'strict', true);
const holdback = await scenario('flood, flow control on, priority-holdback (low band ceiling 0.5)', 'holdback', true);
agent.destroy();
const ratio = (r: { ttftP50Ms: number }) => r.ttftP50Ms / unloaded.ttftP50Ms;

writeReport(jsonOut, {
  benchmark: 'flow control: router overhead per request, and high-priority TTFT under overload',
  command: `node apps/router/bench/flow-control.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  partA: {
    what: 'director.route() in process, 8 endpoints, default 2/2/3 profile, 2,500-character prompts',
    results: partA.map((r) => ({ ...r, addedMeanUs: (r.meanMs - offMean) * 1000 })),
  },
  partB: {
    what: `${SERVERS} simulated servers, batch ${BATCH} (constant latency: TTFT 100 ± 20 ms, 10 ± 2 ms/token, the simulator's default load factor 2 at a full batch); router cap ${SLOTS} per server; ${FLOOD} closed-loop priority-0 streams of 10–30 tokens; ${probes} sequential priority-10 probes of 5 tokens`,
    target: { ttftRatio: 1.2 },
    results: [unloaded, off, strict, holdback].map((r) => ({ ...r, ttftRatio: ratio(r) })),
  },
  machine: { node: process.version },
});
stopProcesses();
process.exit(0);
