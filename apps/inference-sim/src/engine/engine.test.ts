import { describe, expect, it } from 'vitest';
import { attentionPairs, stepDurationMs } from './latency.js';
import { jsonHasher, must, request } from './test-support/fakes.js';
import { Harness } from './test-support/harness.js';

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

describe('Engine: steps and continuous batching', () => {
  it('prefills, then decodes one token per step, releasing tokens at each step end', () => {
    const h = new Harness();
    const a = h.add(request('a', 10, 3));
    expect(h.engine.snapshot()).toMatchObject({ running: 0, waiting: 1 });
    h.drain();
    expect(a.tokenTimes).toEqual([11, 13, 15]); // 1 + 10 prefill; then 1 + 1 per decode step
    expect(a.outcome).toEqual({
      reason: 'done',
      promptTokens: 10,
      cachedTokens: 0,
      outputTokens: 3,
      preemptions: 0,
      arrivalMs: 0,
      scheduledMs: 0,
      firstTokenMs: 11,
      finishedMs: 15,
    });
    expect(h.steps.map((s) => [s.prefillTokens, s.decodeTokens, s.decodeContext, s.batchSize])).toEqual([
      [10, 0, 0, 1],
      [0, 1, 11, 1],
      [0, 1, 12, 1],
    ]);
    expect(h.engine.counters).toMatchObject({ promptTokens: 10, generationTokens: 3, requestsFinished: 1, steps: 3 });
  });

  it('runs running requests first and chunks prefills within max-num-batched-tokens', () => {
    const h = new Harness({ maxNumBatchedTokens: 8 });
    const a = h.add(request('a', 4, 5));
    const b = h.add(request('b', 20, 1));
    h.drain();
    expect(h.steps.map((s) => [s.start, s.prefillTokens, s.decodeTokens, s.batchSize])).toEqual([
      [0, 8, 0, 2], // a's whole prompt, b's first chunk of 4
      [9, 7, 1, 2], // a decodes ahead of b, b takes what is left of the budget
      [18, 7, 1, 2],
      [27, 2, 1, 2], // b's last chunk
      [31, 0, 1, 1],
    ]);
    // Causal pairs: a (4 new, 0 cached) + b (4 new, 0 cached); then b's 7 after 4.
    expect(h.steps[0]?.prefillAttentionPairs).toBe(attentionPairs(4, 0) * 2);
    expect(h.steps[1]?.prefillAttentionPairs).toBe(attentionPairs(7, 4));
    expect(a.tokenTimes).toEqual([9, 18, 27, 31, 33]);
    expect(b.tokenTimes).toEqual([31]);
    expect(b.outcome?.firstTokenMs).toBe(31);
  });

  it('admits new arrivals at the next step while a step is in flight', () => {
    const h = new Harness();
    const a = h.add(request('a', 4, 4));
    h.at(2);
    const b = h.add(request('b', 2, 2));
    h.drain();
    // a: 0–5 prefill; b joins the step starting at 5 (a decode + b's 2-token prefill = 1 + 3 ms).
    expect(h.steps[1]).toMatchObject({ start: 5, prefillTokens: 2, decodeTokens: 1 });
    expect(b.outcome).toMatchObject({ arrivalMs: 2, scheduledMs: 5, firstTokenMs: 9 });
    expect(a.tokenTimes).toEqual([5, 9, 12, 14]); // b finished at 12, a decodes alone
  });

  it('reports running and waiting counts as requests move through', () => {
    const h = new Harness({ maxNumSeqs: 2 });
    for (const id of ['a', 'b', 'c', 'd']) h.add(request(id, 4, 3));
    const counts = () => {
      const s = h.engine.snapshot();
      return [s.running, s.waiting];
    };
    expect(counts()).toEqual([0, 4]);
    h.at(0);
    expect(counts()).toEqual([2, 2]);
    h.at(15); // a and b: 0–9 prefill, then two 3 ms decode steps
    expect(h.obs('a').outcome?.finishedMs).toBe(15);
    expect(counts()).toEqual([2, 0]);
    h.drain();
    expect(counts()).toEqual([0, 0]);
  });

  it('stops admitting at max-num-seqs', () => {
    const h = new Harness({ maxNumSeqs: 3 });
    for (let i = 0; i < 5; i++) h.add(request(`r${i}`, 4, 2));
    h.at(0);
    expect(h.steps[0]?.batchSize).toBe(3);
    expect(h.engine.snapshot()).toMatchObject({ running: 3, waiting: 2 });
  });
});

describe('Engine: submission limits', () => {
  it('refuses with queue_full once the waiting queue holds max-waiting-queue-length requests', () => {
    const h = new Harness({ maxNumSeqs: 1, maxWaitingQueueLength: 2 });
    expect(h.submit(request('a', 4, 50)).result).toEqual({ ok: true });
    expect(h.submit(request('b', 4, 50)).result).toEqual({ ok: true });
    expect(h.submit(request('c', 4, 50)).result).toEqual({ ok: false, reason: 'queue_full' });
    h.at(0); // a is admitted, b waits
    expect(h.submit(request('d', 4, 50)).result).toEqual({ ok: true });
    expect(h.submit(request('e', 4, 50)).result).toEqual({ ok: false, reason: 'queue_full' });
    expect(h.engine.snapshot()).toMatchObject({ running: 1, waiting: 2 });
  });

  it.each([
    ['prompt + output over max-model-len', 60, 41, 100, null, false],
    ['prompt + output at max-model-len', 60, 40, 100, null, true],
    ['more blocks than the pool can ever give', 30, 12, 11, null, false], // ceil(41/4) = 11 > 10 usable
    ['exactly the pool', 30, 11, 11, null, true], // ceil(40/4) = 10
    ['a prefill leg counts one output token', 30, 500, 11, 'prefill', true],
  ] as const)('%s', (_label, prompt, output, numGpuBlocks, pd, ok) => {
    const h = new Harness({ maxModelLen: 100, numGpuBlocks });
    const { result } = h.submit(request('r', prompt, output, { pd }));
    expect(result).toEqual(ok ? { ok: true } : { ok: false, reason: 'too_long' });
  });

  it('refuses after close and throws on programming errors', () => {
    const h = new Harness();
    h.add(request('a', 4, 2));
    expect(() => h.engine.submit(request('a', 4, 2), h.obs('a'))).toThrow(/already in the engine/);
    expect(() => h.engine.submit(request('e', [], 2), h.obs('a'))).toThrow(RangeError);
    expect(() => h.engine.submit(request('f', 3, []), h.obs('a'))).toThrow(RangeError);
    h.engine.close();
    expect(h.submit(request('b', 4, 2)).result).toEqual({ ok: false, reason: 'closed' });
  });
});

describe('Engine: prefix cache', () => {
  const shared = range(19);

  it.each([
    // prompt length, expected hit: whole blocks, the last token always computed
    [16, 12],
    [17, 16],
    [19, 16],
    [4, 0],
  ])('a repeated %i-token prompt hits %i tokens and its TTFT drops exactly as the model says', (len, hit) => {
    const h = new Harness();
    const prompt = shared.slice(0, len);
    h.add(request('a', prompt, 1));
    h.drain().at(100);
    const b = h.add(request('b', prompt, 1));
    h.drain();
    const latency = h.engine.options.latency;
    expect(b.outcome?.cachedTokens).toBe(hit);
    const prescribed = stepDurationMs(
      { prefillTokens: len - hit, prefillAttentionPairs: attentionPairs(len - hit, hit), decodeTokens: 0, decodeContext: 0, batchSize: 1 },
      latency,
    );
    expect(must(h.done('b').firstTokenMs) - 100).toBe(prescribed);
    expect(h.engine.counters).toMatchObject({ prefixCacheQueries: 2 * len, prefixCacheHits: hit });
  });

  it('gives the roofline model’s TTFT for the uncached part (with the attention over the cached part)', () => {
    const h = new Harness({ latency: { model: 'roofline' }, blockSize: 16, numGpuBlocks: 1000, maxNumBatchedTokens: 8192 });
    const prompt = range(2048);
    h.add(request('a', prompt, 1));
    h.drain();
    const start = h.clock.now();
    const b = h.add(request('b', prompt, 1));
    h.drain();
    const hit = 2032; // floor(2047 / 16) blocks
    expect(b.outcome?.cachedTokens).toBe(hit);
    const prescribed = stepDurationMs(
      { prefillTokens: 16, prefillAttentionPairs: attentionPairs(16, hit), decodeTokens: 0, decodeContext: 0, batchSize: 1 },
      { model: 'roofline' },
    );
    expect(must(h.done('b').firstTokenMs) - start).toBeCloseTo(prescribed, 9);
    expect(must(h.done('a').firstTokenMs)).toBeGreaterThan(5 * (must(h.done('b').firstTokenMs) - start));
  });

  it.each([
    ['same adapter and salt', { loraName: 'x', cacheSalt: 's' }, { loraName: 'x', cacheSalt: 's' }, 12],
    ['another salt', { cacheSalt: 's' }, { cacheSalt: 't' }, 0],
    ['salt vs none', { cacheSalt: 's' }, {}, 0],
    ['another adapter', { loraName: 'x' }, { loraName: 'y' }, 0],
    ['adapter vs base model', { loraName: 'x' }, {}, 0],
  ])('keys blocks by adapter and cache salt: %s', (_label, first, second, hit) => {
    const h = new Harness();
    const prompt = range(16);
    h.add(request('a', prompt, 1, first));
    h.drain();
    const b = h.add(request('b', prompt, 1, second));
    h.drain();
    expect(b.outcome?.cachedTokens).toBe(hit);
  });

  it('lets a request admitted later in the same step reuse blocks cached at schedule time', () => {
    const h = new Harness();
    const prompt = range(12);
    h.add(request('a', prompt, 1));
    const b = h.add(request('b', prompt, 1));
    h.drain();
    expect(b.outcome?.cachedTokens).toBe(8);
    expect(h.steps[0]?.prefillTokens).toBe(12 + 4);
  });

  it('publishes blocks filled by generated tokens too, chained by parent hash, with extra keys', () => {
    const h = new Harness();
    const prompt = range(6, 100);
    const output = range(7, 200);
    h.add(request('a', prompt, output, { loraName: 'x', cacheSalt: 's' }));
    h.drain();
    const stored = h.sink.ofType('stored');
    // 6 prompt + 6 computed outputs = 12 tokens = 3 full blocks; the 13th token is never computed.
    expect(stored.map((e) => e.blockHashes.length)).toEqual([1, 1, 1]);
    expect(stored.flatMap((e) => e.tokenIds)).toEqual([...prompt, ...output].slice(0, 12));
    expect(stored[0]?.parentBlockHash).toBeNull();
    expect(stored[1]?.parentBlockHash).toBe(stored[0]?.blockHashes[0]);
    expect(stored[2]?.parentBlockHash).toBe(stored[1]?.blockHashes[0]);
    expect(stored.flatMap((e) => e.extraKeys)).toEqual([['x', 's'], ['x'], ['x']]);
    expect(stored.every((e) => e.loraName === 'x' && e.blockSize === 4)).toBe(true);
    // The event hash is the hasher's, over the chained digests.
    const d0 = jsonHasher.hashBlock(null, prompt.slice(0, 4), ['x', 's']);
    expect(stored[0]?.blockHashes[0]).toBe(jsonHasher.eventHash(d0));
    const d1 = jsonHasher.hashBlock(d0, [...prompt.slice(4), ...output.slice(0, 2)], ['x']);
    expect(stored[1]?.blockHashes[0]).toBe(jsonHasher.eventHash(d1));
  });

  it('evicts least recently freed blocks first, a request’s tail before its head, and says so', () => {
    const h = new Harness({ numGpuBlocks: 5 }); // 4 usable blocks
    const promptA = range(8, 10);
    h.add(request('a', promptA, 1));
    h.drain();
    const [hA0, hA1] = must(h.sink.ofType('stored')[0]).blockHashes;
    h.add(request('b', 12, 1)); // needs 3 blocks: the 2 never used, then a's tail block
    h.drain();
    const storedB = must(h.sink.ofType('stored')[1]).blockHashes;
    expect(h.sink.ofType('removed').map((e) => e.blockHashes)).toEqual([[hA1]]);
    const c = h.add(request('c', promptA, 1)); // a's head block survived
    h.drain();
    expect(c.outcome?.cachedTokens).toBe(4);
    expect(h.sink.ofType('removed').map((e) => e.blockHashes)).toEqual([[hA1], [storedB[2]]]);
    expect(h.sink.indexed).toEqual(new Set([hA0, hA1, storedB[0], storedB[1]]));
    expect(h.engine.snapshot().cachedBlocks).toBe(4);
  });

  it('resetPrefixCache drops every entry and the next identical prompt misses', () => {
    const h = new Harness();
    const prompt = range(16);
    h.add(request('a', prompt, 1));
    h.drain();
    h.engine.resetPrefixCache();
    expect(h.sink.events.at(-1)).toEqual({ type: 'cleared' });
    expect(h.engine.snapshot().cachedBlocks).toBe(0);
    const b = h.add(request('b', prompt, 1));
    h.drain();
    expect(b.outcome?.cachedTokens).toBe(0);
  });
});

describe('Engine: KV usage', () => {
  it.each([
    [1, 1],
    [4, 1],
    [5, 2],
    [17, 5],
  ])('a %i-token prompt in flight holds %i of 10 blocks; idle cached blocks count as free', (prompt, blocks) => {
    const h = new Harness({ numGpuBlocks: 11 });
    h.add(request('a', prompt, 20));
    h.at(0);
    expect(h.engine.snapshot().kvUsage).toBeCloseTo(blocks / 10, 12);
    h.engine.abort('a');
    expect(h.engine.snapshot().kvUsage).toBe(0);
  });
});

describe('Engine: preemption', () => {
  it('preempts the last running request when blocks run out, recomputes it, and finishes everything', () => {
    const h = new Harness({ numGpuBlocks: 6 }); // 5 usable blocks; each request grows to 4
    const a = h.add(request('a', 8, 8));
    const b = h.add(request('b', 8, 8));
    h.drain();
    expect(a.outcome).toMatchObject({ reason: 'done', outputTokens: 8, preemptions: 0 });
    expect(b.outcome).toMatchObject({ reason: 'done', outputTokens: 8, preemptions: 1, firstTokenMs: 17 });
    expect(a.tokenTimes).toHaveLength(8);
    expect(b.tokenTimes).toHaveLength(8);
    // Step 2: a's decode got the last free block; b had none and was preempted (no admission that step).
    expect(h.steps[1]).toMatchObject({ start: 17, decodeTokens: 1, prefillTokens: 0, batchSize: 1 });
    // b came back with its prompt and first output token, its first block still cached: 5 recomputed.
    expect(h.steps.some((s) => s.prefillTokens === 5 && s.decodeTokens === 0)).toBe(true);
    expect(h.engine.counters).toMatchObject({
      preemptions: 1,
      prefixCacheQueries: 16,
      prefixCacheHits: 0,
      preemptedPrefixCacheQueries: 9,
      preemptedPrefixCacheHits: 4,
      generationTokens: 16,
      requestsFinished: 2,
    });
    expect(h.engine.snapshot()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
  });

  it.each([
    ['fcfs', 'c'],
    ['priority', 'b'],
  ] as const)('under %s the victim is %s', (policy, victim) => {
    // a (priority 0) runs first, b (priority 5) joins next, c (priority 1) last; the pool runs dry.
    const h = new Harness({ numGpuBlocks: 8, schedulingPolicy: policy });
    h.add(request('a', 4, 10, { priority: 0 }));
    h.at(1);
    h.add(request('b', 4, 10, { priority: 5 }));
    h.at(6);
    h.add(request('c', 4, 10, { priority: 1 }));
    h.drain();
    for (const id of ['a', 'b', 'c']) {
      expect(h.obs(id).outcome).toMatchObject({ reason: 'done', outputTokens: 10 });
      expect(h.done(id).preemptions > 0).toBe(id === victim);
    }
  });
});

describe('Engine: scheduling policy and LoRA slots', () => {
  it.each([
    ['fcfs', ['p5', 'p1', 'p3']],
    ['priority', ['p1', 'p3', 'p5']],
  ] as const)('%s admits in %j order', (policy, order) => {
    const h = new Harness({ maxNumSeqs: 1, schedulingPolicy: policy });
    h.add(request('first', 4, 3, { priority: 9 }));
    h.at(1);
    for (const [id, priority] of [
      ['p5', 5],
      ['p1', 1],
      ['p3', 3],
    ] as const) {
      h.add(request(id, 4, 3, { priority }));
    }
    h.drain();
    const admitted = ['p5', 'p1', 'p3'].sort((x, y) => must(h.done(x).scheduledMs) - must(h.done(y).scheduledMs));
    expect(admitted).toEqual(order);
  });

  it('skips requests whose adapter has no free slot, keeps their place, and admits those behind them', () => {
    const h = new Harness({ maxLoras: 1, maxNumSeqs: 8 });
    h.add(request('a', 4, 3, { loraName: 'x' }));
    h.add(request('b', 4, 3, { loraName: 'y' }));
    h.add(request('c', 4, 3, { loraName: 'x' }));
    h.add(request('d', 4, 3));
    h.add(request('e', 4, 3, { loraName: 'z' }));
    h.at(0);
    expect(h.steps[0]?.batchSize).toBe(3); // a, c, d
    const snap = h.engine.snapshot();
    expect(snap).toMatchObject({ running: 3, waiting: 2, runningLoras: ['x'], waitingLoras: ['y', 'z'], maxLoras: 1 });
    h.drain();
    // b kept its place ahead of e: it got the slot first, e only after b finished.
    const t = (id: string) => h.done(id);
    expect(t('b').scheduledMs).toBe(t('a').finishedMs);
    expect(t('e').scheduledMs).toBe(t('b').finishedMs);
  });
});

describe('Engine: abort and close', () => {
  it('aborts a running request: frees its blocks, reports once, releases nothing more', () => {
    const h = new Harness();
    const a = h.add(request('a', 10, 100));
    h.at(20);
    expect(h.engine.snapshot().kvUsage).toBeGreaterThan(0);
    expect(h.engine.abort('a')).toBe(true);
    expect(h.engine.abort('a')).toBe(false);
    h.drain();
    expect(a.outcome).toMatchObject({ reason: 'aborted', finishedMs: 20, outputTokens: a.tokenTimes.length });
    expect(a.finishCalls).toBe(1);
    expect(h.engine.snapshot()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    expect(h.engine.counters.requestsAborted).toBe(1);
  });

  it('aborts a waiting request without disturbing the queue', () => {
    const h = new Harness({ maxNumSeqs: 1 });
    h.add(request('a', 4, 3));
    const b = h.add(request('b', 4, 3));
    const c = h.add(request('c', 4, 3));
    h.at(0);
    h.engine.abort('b');
    expect(h.engine.snapshot().waiting).toBe(1);
    h.drain();
    expect(b.outcome).toMatchObject({ reason: 'aborted', scheduledMs: null, firstTokenMs: null });
    expect(c.outcome).toMatchObject({ reason: 'done', scheduledMs: h.done('a').finishedMs });
  });

  it('lets observers abort and submit from inside their callbacks', () => {
    const h = new Harness();
    const a = h.add(request('a', 4, 10));
    const b = h.add(request('b', 4, 10));
    a.onTokensHook = () => {
      if (a.tokenTimes.length === 2) {
        h.engine.abort('a');
        h.engine.abort('b');
        h.add(request('c', 4, 2));
      }
    };
    h.drain();
    expect(a.outcome).toMatchObject({ reason: 'aborted', outputTokens: 2 });
    expect(b.outcome?.reason).toBe('aborted');
    expect(h.obs('c').outcome).toMatchObject({ reason: 'done', outputTokens: 2 });
  });

  it('close aborts everything still held and leaves no timer behind', () => {
    const h = new Harness({ maxNumSeqs: 1 });
    const a = h.add(request('a', 4, 10));
    const b = h.add(request('b', 4, 10));
    const pd = h.add(request('p', 8, 3, { pd: 'decode' }));
    h.at(3);
    h.engine.close();
    expect([a, b, pd].map((o) => o.outcome?.reason)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(h.clock.pendingTimers).toBe(0);
    h.engine.close();
    expect(a.finishCalls + b.finishCalls + pd.finishCalls).toBe(3);
  });
});
