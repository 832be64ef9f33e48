import { describe, expect, it, vi } from 'vitest';
import { WorkQueue, type QueueClock } from './queue.js';

/** A handler whose runs finish when the test says so. */
function controlledHandler() {
  const runs: { key: string; finish: (err?: Error) => void }[] = [];
  let active = 0;
  let maxActivePerKey = 0;
  const activeKeys = new Map<string, number>();
  const handler = (key: string) =>
    new Promise<void>((resolve, reject) => {
      active++;
      activeKeys.set(key, (activeKeys.get(key) ?? 0) + 1);
      maxActivePerKey = Math.max(maxActivePerKey, activeKeys.get(key) ?? 0);
      runs.push({
        key,
        finish: (err) => {
          active--;
          activeKeys.set(key, (activeKeys.get(key) ?? 1) - 1);
          if (err) reject(err);
          else resolve();
        },
      });
    });
  return { handler, runs, active: () => active, maxActivePerKey: () => maxActivePerKey };
}

const flush = () => new Promise((r) => setImmediate(r));

/** A clock whose timers fire only when the test advances it. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: QueueClock = {
    setTimeout: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  return {
    clock,
    pending: () => [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...timers]) if (t.at <= now) {
        timers.delete(id);
        t.fn();
      }
    },
  };
}

describe('WorkQueue', () => {
  it('never runs one key twice at once, and runs it once more when added during a run', async () => {
    const h = controlledHandler();
    const q = new WorkQueue({ handler: h.handler, concurrency: 4 });
    q.add('a');
    await flush();
    expect(h.runs.map((r) => r.key)).toEqual(['a']);
    q.add('a');
    q.add('a');
    await flush();
    expect(h.runs).toHaveLength(1); // still one run: the adds wait for it
    h.runs[0]?.finish();
    await flush();
    expect(h.runs.map((r) => r.key)).toEqual(['a', 'a']); // the two adds coalesced into one more run
    h.runs[1]?.finish();
    await q.whenIdle();
    expect(h.maxActivePerKey()).toBe(1);
  });

  it('coalesces adds of a queued key and keeps order across keys', async () => {
    const h = controlledHandler();
    const q = new WorkQueue({ handler: h.handler, concurrency: 1 });
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    await flush();
    expect(q.depth).toBe(2); // a runs (and is added again meanwhile); b and c wait, each once
    for (let i = 0; i < 4; i++) {
      h.runs[i]?.finish();
      await flush();
    }
    await q.whenIdle();
    expect(h.runs.map((r) => r.key)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('runs different keys concurrently up to the limit', async () => {
    const h = controlledHandler();
    const q = new WorkQueue({ handler: h.handler, concurrency: 2 });
    for (const k of ['a', 'b', 'c']) q.add(k);
    await flush();
    expect(h.active()).toBe(2);
    expect(q.depth).toBe(1);
    h.runs.forEach((r) => r.finish());
    await flush();
    h.runs.slice(2).forEach((r) => r.finish());
    await q.whenIdle();
    expect(h.runs.map((r) => r.key).sort()).toEqual(['a', 'b', 'c']);
  });

  it('retries a failing key with doubling backoff up to the cap, and resets after a success', async () => {
    const clock = manualClock();
    const outcomes: string[] = [];
    let failing = true;
    const handler = vi.fn(async () => {
      if (failing) throw new Error('boom');
    });
    const q = new WorkQueue({ handler, baseBackoffMs: 100, maxBackoffMs: 350, clock: clock.clock, onResult: (_k, o) => outcomes.push(o) });
    q.add('a');
    await q.whenIdle();
    expect(clock.pending()).toEqual([100]);
    clock.advance(100);
    await q.whenIdle();
    expect(clock.pending()).toEqual([200]);
    clock.advance(200);
    await q.whenIdle();
    expect(clock.pending()).toEqual([350]);
    expect(q.failures('a')).toBe(3);
    failing = false;
    clock.advance(350);
    await q.whenIdle();
    expect(clock.pending()).toEqual([]);
    expect(q.failures('a')).toBe(0);
    expect(outcomes).toEqual(['error', 'error', 'error', 'success']);
    expect(q.counts.retries).toBe(3);
  });

  it('requeues after the delay a handler asks for, and an add in between runs at once', async () => {
    const clock = manualClock();
    const handler = vi.fn(async () => ({ requeueAfterMs: 1000 }));
    const q = new WorkQueue({ handler, clock: clock.clock });
    q.add('a');
    await q.whenIdle();
    expect(clock.pending()).toEqual([1000]);
    q.add('a'); // cancels the delayed add
    await q.whenIdle();
    expect(handler).toHaveBeenCalledTimes(2);
    expect(clock.pending()).toEqual([1000]);
    await q.stop();
    expect(clock.pending()).toEqual([]);
  });

  it('after stop() takes no more keys and waits for the run in progress', async () => {
    const h = controlledHandler();
    const q = new WorkQueue({ handler: h.handler });
    q.add('a');
    q.add('b');
    await flush();
    const stopped = q.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    h.runs[0]?.finish();
    await stopped;
    q.add('c');
    await flush();
    expect(h.runs.map((r) => r.key)).toEqual(['a']);
  });
});
