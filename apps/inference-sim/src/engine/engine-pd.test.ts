import { describe, expect, it } from 'vitest';
import { stepDurationMs } from './latency.js';
import { request } from './test-support/fakes.js';
import { Harness } from './test-support/harness.js';

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

describe('Engine: P/D prefill leg', () => {
  it('prefills, returns one token, finishes, and keeps its blocks pinned until the transfer is done', () => {
    const h = new Harness(); // transfer: constant 50 ms
    const p = h.add(request('p', 16, [7, 8, 9], { pd: 'prefill' }));
    h.at(17);
    expect(p.tokenTimes).toEqual([17]);
    expect(p.outcome).toMatchObject({ reason: 'done', outputTokens: 1, firstTokenMs: 17, finishedMs: 17 });
    expect(h.engine.abort('p')).toBe(false);
    expect(h.engine.snapshot()).toMatchObject({ running: 0, waiting: 0, pinnedBlocks: 4, kvUsage: 4 / 64 });
    expect(h.sink.ofType('stored').flatMap((e) => e.blockHashes)).toHaveLength(4);
    h.at(66);
    expect(h.engine.snapshot().pinnedBlocks).toBe(4);
    h.at(67);
    // Freed blocks keep their hashes: idle cached, counted free.
    expect(h.engine.snapshot()).toMatchObject({ pinnedBlocks: 0, kvUsage: 0, cachedBlocks: 4 });
    expect(h.clock.pendingTimers).toBe(0);
  });
});

describe('Engine: P/D decode leg', () => {
  it('reserves the prompt’s blocks, waits the transfer outside the batch, then decodes without prefill cost', () => {
    const h = new Harness();
    const prompt = range(16, 300);
    const d = h.add(request('d', prompt, 3, { pd: 'decode' }));
    h.at(10);
    expect(h.engine.snapshot()).toMatchObject({ running: 0, waiting: 1, kvUsage: 4 / 64 });
    expect(h.sink.events).toEqual([]); // vLLM delays caching until the KV has arrived
    expect(h.steps).toEqual([]);
    h.drain();
    const firstStep = stepDurationMs({ prefillTokens: 0, decodeTokens: 1, decodeContext: 16, batchSize: 1 }, h.engine.options.latency);
    expect(d.tokenTimes).toEqual([50 + firstStep, 52 + firstStep, 54 + firstStep]);
    expect(d.outcome).toMatchObject({ reason: 'done', scheduledMs: 50, firstTokenMs: 52, outputTokens: 3 });
    expect(h.steps.every((s) => s.prefillTokens === 0)).toBe(true);
    expect(h.steps[0]).toMatchObject({ start: 50, decodeTokens: 1, decodeContext: 16 });
    // The 3 blocks of the first 15 tokens arrive with the KV; the 4th fills when the last prompt token is recomputed.
    const stored = h.sink.ofType('stored');
    expect(stored.map((e) => e.blockHashes.length)).toEqual([3, 1]);
    expect(stored.flatMap((e) => e.tokenIds)).toEqual(prompt);
    expect(stored[1]?.parentBlockHash).toBe(stored[0]?.blockHashes[2]);
  });

  it('uses a local prefix hit for blocks but still waits for the whole prompt’s transfer', () => {
    const h = new Harness({ kvTransfer: { kvCacheTransferTimePerTokenMs: 2 } });
    const prompt = range(16, 300);
    h.add(request('warm', prompt, 1));
    h.drain().at(100);
    const d = h.add(request('d', prompt, 2, { pd: 'decode' }));
    h.drain();
    expect(d.outcome).toMatchObject({ cachedTokens: 12, scheduledMs: 100 + 32, firstTokenMs: 100 + 32 + 2 });
    expect(h.engine.counters).toMatchObject({ prefixCacheQueries: 32, prefixCacheHits: 12 });
  });

  it('takes no running slot while its KV is in flight, and needs one afterwards', () => {
    const h = new Harness({ maxNumSeqs: 2 });
    h.add(request('d1', 8, 2, { pd: 'decode' }));
    h.add(request('d2', 8, 2, { pd: 'decode' }));
    h.add(request('r', 4, 60));
    h.at(10);
    expect(h.engine.snapshot()).toMatchObject({ running: 1, waiting: 2 });
    h.at(50); // the KV has arrived, but r's step in flight ends at 51
    expect(h.engine.snapshot()).toMatchObject({ running: 1, waiting: 2 });
    h.at(51);
    expect(h.engine.snapshot()).toMatchObject({ running: 2, waiting: 1 }); // d1 took the second slot
    h.drain();
    expect(h.obs('d1').outcome?.scheduledMs).toBe(51);
    expect(h.obs('d2').outcome?.scheduledMs).toBe(h.obs('d1').outcome?.finishedMs);
  });

  it('frees the reserved blocks when aborted mid-transfer and never publishes them', () => {
    const h = new Harness();
    const d = h.add(request('d', 16, 2, { pd: 'decode' }));
    h.at(20);
    expect(h.engine.abort('d')).toBe(true);
    expect(h.engine.snapshot()).toMatchObject({ waiting: 0, kvUsage: 0 });
    h.drain();
    expect(d.outcome).toMatchObject({ reason: 'aborted', outputTokens: 0 });
    expect(h.sink.events).toEqual([]);
  });
});
