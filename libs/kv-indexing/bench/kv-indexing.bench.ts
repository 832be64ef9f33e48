// Benchmarks of the KV-cache index: event ingestion (decode + apply msgpack batches), scoring a
// pre-tokenized 8,000-token prompt across 64 endpoints, tokenization throughput, and index memory.
// Run after a build: node --expose-gc libs/kv-indexing/bench/kv-indexing.bench.ts [--json out.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeKvEventBatch, encodeKvEventBatch, requestBlockKeyWords, type KvEvent } from '@llmd/kv-cache';
import { silentLogger } from '@llmd/observability';
import { loadTokenizerSync } from '@llmd/tokenizer';
import { InMemoryKvBlockIndex, KvEventApplier, KvIndexer } from '../dist/index.js';

const out = process.argv.indexOf('--json');
const jsonOut = out >= 0 ? (process.argv[out + 1] as string) : fileURLToPath(new URL('../dist/bench/kv-indexing.json', import.meta.url));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;
const model = 'Qwen/Qwen3-0.6B';
const BLOCK = 16;

/** Batches as a vLLM engine publishes them: 64-block prefill stores chained from the previous batch. */
function makeBatches(endpoints: number, perEndpoint: number): Array<{ pod: string; payload: Uint8Array; blocks: number }> {
  const batches = [];
  let token = 1;
  for (let e = 0; e < endpoints; e++) {
    let parent: bigint | null = null;
    for (let b = 0; b < perEndpoint; b++) {
      const blocks = 64;
      const hashes = Array.from({ length: blocks }, (_, i) => BigInt(e * 1_000_000 + b * 1000 + i + 1) * 2654435761n);
      const tokenIds = Array.from({ length: blocks * BLOCK }, () => (token = (token * 48271) % 150_000));
      const event: KvEvent = { type: 'BlockStored', blockHashes: hashes, parentBlockHash: parent, tokenIds, blockSize: BLOCK, loraId: null, medium: 'GPU', loraName: null };
      parent = hashes.at(-1) as bigint;
      batches.push({ pod: `10.0.${e >> 8}.${e & 255}:8000`, payload: encodeKvEventBatch({ ts: 1, events: [event], dataParallelRank: null }, { format: 'array' }), blocks });
    }
  }
  return batches;
}

async function ingestion() {
  const index = new InMemoryKvBlockIndex();
  const applier = new KvEventApplier({ index, blockSize: BLOCK, logger: silentLogger() });
  const batches = makeBatches(8, 250);
  for (const b of batches.slice(0, 50)) await applier.apply(b.pod, model, decodeKvEventBatch(b.payload));
  const t0 = performance.now();
  let blocks = 0;
  for (const b of batches.slice(50)) {
    await applier.apply(b.pod, model, decodeKvEventBatch(b.payload));
    blocks += b.blocks;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { batches: batches.length - 50, blockEntries: blocks, blockEntriesPerSecond: Math.round(blocks / seconds), note: 'decode msgpack + request keys (cbor-fnv) + engine→request mapping + index add, one thread' };
}

async function scoring() {
  // Every endpoint holds block 0: the per-block endpoint limit (upstream podCacheSize, 10) is raised to 64.
  const index = new InMemoryKvBlockIndex({ maxPodsPerBlock: 64 });
  const indexer = new KvIndexer({ index, blockSize: BLOCK });
  const prompt = Array.from({ length: 8000 }, (_, i) => (i * 7919) % 150_000);
  const keys = indexer.blockKeys(prompt, model);
  // 64 endpoints, each holding a different-length prefix of the prompt.
  for (let e = 0; e < 64; e++) {
    const upTo = Math.floor((keys.length * (e + 1)) / 64);
    await index.add(null, keys.slice(0, upTo), [{ pod: `10.0.0.${e}:8000`, tier: e % 4 === 0 ? 'cpu' : 'gpu' }]);
  }
  const samples: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now();
    const scores = await indexer.scoreTokens(prompt, model);
    const t1 = performance.now();
    if (scores.size !== 64) throw new Error(`expected 64 scored endpoints, got ${scores.size}`);
    if (i >= 300) samples.push(t1 - t0);
  }
  // The two parts of a call, timed apart: request keys, then lookup + scoring over the keys.
  const keyTimes: number[] = [];
  const scoreTimes: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now();
    const k = requestBlockKeyWords(prompt, { blockSize: BLOCK, hashSeed: indexer.hashSeed, modelName: model });
    const t1 = performance.now();
    await index.scorePrefixWords(k, indexer.tierWeights);
    keyTimes.push(t1 - t0);
    scoreTimes.push(performance.now() - t1);
  }
  return {
    promptTokens: prompt.length,
    blocks: keys.length,
    endpoints: 64,
    p50Ms: pct(samples, 50),
    p99Ms: pct(samples, 99),
    keysMedianMs: pct(keyTimes, 50),
    lookupAndScoreMedianMs: pct(scoreTimes, 50),
  };
}

function tokenization() {
  const tok = loadTokenizerSync({ model });
  const text = Array.from({ length: 400 }, (_, i) => `Sentence ${i} about routing, caches and the cost of prefill on accelerators.`).join(' ');
  tok.encode(text);
  let tokens = 0;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) tokens += tok.encode(`${i} ${text}`, { addSpecialTokens: false }).length;
  const seconds = (performance.now() - t0) / 1000;
  return { tokenizer: tok.name, characters: text.length * 20, tokens, tokensPerSecond: Math.round(tokens / seconds), note: 'one thread; the app runs a pool of worker threads' };
}

async function memory() {
  const results = [];
  for (const [blocks, pods] of [[1_000_000, 1], [500_000, 2]] as const) {
    const index = new InMemoryKvBlockIndex({ maxBlocks: blocks });
    for (let b = 0; b < blocks; b += 1000) {
      const keys = Array.from({ length: 1000 }, (_, i) => BigInt(b + i + 1) * 11400714819323198485n % (2n ** 64n - 1n) + 1n);
      const engine = keys.map((k) => k ^ 0x5bd1e995n);
      await index.add(engine, keys, Array.from({ length: pods }, (_, p) => ({ pod: `10.0.0.${(b / 1000 + p) % 64}:8000`, tier: 'gpu' })));
    }
    const m = index.memoryStats();
    results.push({ blocks: m.blocks, entries: m.entries, engineKeys: m.engineKeys, bytes: m.bytes, bytesPerEntry: Number((m.bytes / m.entries).toFixed(1)) });
  }
  return results;
}

const report = {
  benchmark: 'kv-indexing',
  command: `node --expose-gc libs/kv-indexing/bench/kv-indexing.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  targets: { blockEntriesPerSecond: 1_000_000, scoringP99Ms: 0.5, bytesPerEntry: 64 },
  ingestion: await ingestion(),
  scoring: await scoring(),
  tokenization: tokenization(),
  memory: await memory(),
  machine: { node: process.version },
};
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
