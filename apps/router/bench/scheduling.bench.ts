// Benchmark: time to route one request (parse, data producers, scheduling, PreRequest hooks) with the
// default profile (queue 2, KV 2, approximate prefix 3) for 8, 64 and 256 endpoints and 8,000-character
// prompts. Run after a build: node apps/router/bench/scheduling.bench.ts [--iterations 5000] [--json out.json]
import { silentLogger } from '@llmd/observability';
import { EMPTY_METRICS } from '@llmd/scheduling';
import { fileURLToPath } from 'node:url';
import { loadRouterConfig } from '../dist/app.js';
import { createEndpointMetadata, InMemoryDatastore } from '../dist/datastore/index.js';
import { RouterDirector } from '../dist/director/index.js';
import { RouterMetrics } from '../dist/metrics/router-metrics.js';
import { benchArgs, percentile, writeReport } from './common.ts';

const args = benchArgs();
const iterations = Number(args.get('iterations') ?? 5000);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/scheduling.json', import.meta.url));
const sessions = 64;
const prefixChars = 7800;

/** One "conversation prefix" per session, 7,800 characters, distinct per session. */
const prefixes = Array.from({ length: sessions }, (_, s) => Array.from({ length: 200 }, (_, i) => `s${s} line ${i}: lorem ipsum dolor sit amet. `).join('').slice(0, prefixChars));

async function measure(endpointCount: number) {
  const logger = silentLogger();
  const datastore = new InMemoryDatastore({ logger });
  for (let i = 0; i < endpointCount; i++) {
    const md = createEndpointMetadata({ name: `pod-${i}`, address: `10.0.${i >> 8}.${i & 255}`, port: 8000 });
    datastore.upsert(md);
    datastore.updateMetrics(md.id, { ...EMPTY_METRICS, waitingQueueSize: i % 5, kvCacheUsagePercent: (i % 10) / 10, cacheBlockSize: 16, cacheNumBlocks: 30_000, updateTime: performance.now() });
  }
  datastore.markSynced();
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const config = loadRouterConfig({ configText: null, configSource: '' }, { logger, endpoints: () => datastore.endpoints(), random, now: () => performance.now() });
  const metrics = new RouterMetrics(() => datastore.endpoints().length);
  const director = new RouterDirector({
    datastore, scheduler: config.scheduler, producers: config.producers, admitters: config.admitters,
    preRequestHooks: config.preRequestHooks, responseHooks: config.responseHooks, metrics, logger, random,
  });
  const bodies = Array.from({ length: 512 }, (_, i) =>
    Buffer.from(JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: `${prefixes[i % sessions]} question ${i}: ${'x'.repeat(200)}`, max_tokens: 64 })),
  );
  const samples: number[] = [];
  for (let i = 0; i < iterations + 500; i++) {
    const body = bodies[i % bodies.length] as Buffer;
    const t0 = performance.now();
    const routed = await director.route({ method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body, subsetHint: null });
    const t1 = performance.now();
    routed.response.complete(null, false);
    if (i >= 500) samples.push(t1 - t0);
  }
  return { endpoints: endpointCount, promptChars: (bodies[0] as Buffer).byteLength, iterations, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples) };
}

const results = [];
for (const n of [8, 64, 256]) results.push(await measure(n));
writeReport(jsonOut, {
  benchmark: 'router scheduling latency (director.route: parse, producers, default profile, PreRequest)',
  command: `node apps/router/bench/scheduling.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  target: { endpoints: 64, p99Ms: 1 },
  results,
  machine: { node: process.version },
});
