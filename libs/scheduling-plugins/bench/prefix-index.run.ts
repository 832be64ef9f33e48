// The measurements of prefix-index.bench.ts (which sets up module resolution, then loads this).
import { writeFileSync } from 'node:fs';
import { FeatureGates } from '@llmd/feature-gates';
import { silentLogger } from '@llmd/observability';
import { CycleState, EMPTY_METRICS, EndpointAttributes } from '@llmd/scheduling';
import type { Endpoint, InferenceRequest, PluginHandle } from '@llmd/scheduling';
import { ApproxPrefixCacheProducer, approxPrefixCacheProducer, measureIndexMemory } from '../src/approx-prefix-cache-producer/plugin.js';

/** Runs every measurement, printing one JSON line each; writes the whole report to `outPath` when given. */
export function runPrefixIndexBench(outPath?: string): void {
  const results: Record<string, unknown>[] = [];
  function report(name: string, values: Record<string, unknown>): void {
    const line = { name, ...values };
    results.push(line);
    console.log(JSON.stringify(line));
  }

  // 1. Memory: bytes per (block, endpoint) entry at a few sizes; the largest is 2 M entries.
  for (const [blocks, endpoints, holders] of [
    [200_000, 8, 1],
    [1_000_000, 32, 1],
    [1_000_000, 32, 2],
  ] as const) {
    const r = measureIndexMemory(blocks, endpoints, { holders });
    report('index-memory', {
      blocks,
      endpoints,
      holders,
      entries: r.entries,
      typedArrayBytesPerEntry: +r.typedArrayBytesPerEntry.toFixed(1),
      measuredBytesPerEntry: +r.measuredBytesPerEntry.toFixed(1),
      fillMsPerMillionEntries: +((r.fillMs * 1e6) / r.entries).toFixed(1),
    });
  }

  // 2. Request path: produce (hash + match) and PreRequest (index) of long chat-free prompts.
  function endpoint(i: number): Endpoint {
    const address = `10.0.0.${i + 1}`;
    return {
      metadata: { id: `bench/pod-${i}`, name: `pod-${i}`, namespace: 'bench', address, port: 8000, hostPort: `${address}:8000`, labels: {} },
      metrics: EMPTY_METRICS,
    };
  }
  const pool = Array.from({ length: 16 }, (_, i) => endpoint(i));
  const handle: PluginHandle = {
    logger: silentLogger(),
    plugin: () => undefined,
    pluginsOfType: () => [],
    endpoints: () => pool,
    featureGates: new FeatureGates(),
    random: Math.random,
    now: () => performance.now(),
  };
  const producer = approxPrefixCacheProducer.create('approx', approxPrefixCacheProducer.parameters.parse(undefined), handle);
  if (!(producer instanceof ApproxPrefixCacheProducer)) throw new Error('unexpected producer');
  const headers = { set: () => undefined, remove: () => undefined };

  for (const tokens of [4096, 32_768, 131_072]) {
    const samples: number[] = [];
    const preRequestSamples: number[] = [];
    for (let r = 0; r < 30; r++) {
      // Each session shares its first half with the previous request of the same session.
      const text = `session ${r % 5} `.repeat((tokens * 2) / 10) + `turn ${r} `.repeat((tokens * 2) / 8);
      const req: InferenceRequest = {
        requestId: `r${tokens}-${r}`,
        kind: 'completions',
        incomingModel: 'm',
        targetModel: 'm',
        body: { model: 'm', prompt: text },
        headers: {},
        prompt: { text, tokenIds: null, messages: null },
        priority: 0,
        objective: null,
        fairnessId: 'default-flow',
        maxTokens: null,
        estimatedInputTokens: Math.ceil(text.length / 4),
        bodyBytes: text.length,
        receivedAt: 0,
      };
      const ctx = { cycle: new CycleState(), attributes: new EndpointAttributes(), random: Math.random, now: () => performance.now() };
      const t0 = performance.now();
      producer.produce(ctx, req, pool);
      const t1 = performance.now();
      const target = pool[r % pool.length] as Endpoint;
      producer.preRequest(ctx, req, { profileResults: new Map([['default', { targets: [target] }]]), primaryProfileName: 'default' }, headers);
      const t2 = performance.now();
      if (r >= 5) {
        samples.push(t1 - t0);
        preRequestSamples.push(t2 - t1);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    report('request-path', {
      promptTokens: tokens,
      produceMedianMs: +median(samples).toFixed(3),
      preRequestMedianMs: +median(preRequestSamples).toFixed(3),
      indexEntries: producer.stats().entries,
    });
  }

  if (outPath) writeFileSync(outPath, `${JSON.stringify({ benchmark: 'prefix-index', results }, null, 2)}\n`);
}
