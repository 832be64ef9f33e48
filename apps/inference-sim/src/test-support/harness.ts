import { decodeKvEventBatch, type KvEvent } from '@llmd/kv-cache';
import { silentLogger } from '@llmd/observability';
import { Subscriber } from 'zeromq';
import { startSimulator, type SimCluster } from '../cluster.js';
import { parseOptions, type SimOptions } from '../options.js';

/** Options for a test simulator: the flags given plus loopback, port 0, a fixed seed, Qwen3-0.6B. */
export function testOptions(flags: readonly string[] = [], env: NodeJS.ProcessEnv = {}): SimOptions {
  const parsed = parseOptions(['--model', 'Qwen/Qwen3-0.6B', '--host', '127.0.0.1', '--port', '0', '--seed', '1', ...flags], env);
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.options;
}

/** Starts a simulator for a test; dispose it with `await using`. */
export async function startTestSim(flags: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<SimCluster & { url: string }> {
  const cluster = await startSimulator(testOptions(flags, env), { logger: silentLogger() });
  return Object.assign(cluster, { url: cluster.urls[0] as string });
}

/** A received KV-event message: topic, sequence number and decoded events. */
export interface ReceivedBatch {
  topic: string;
  seq: bigint;
  events: KvEvent[];
}

/**
 * A SUB socket bound on a free loopback port (the simulator connects to it, as in llm-d's
 * centralized mode) that keeps receiving in the background, so subscriptions reach publishers
 * as soon as they connect, and lets a test wait for the events it expects.
 */
export class EventCollector implements AsyncDisposable {
  readonly batches: ReceivedBatch[] = [];
  readonly #sub = new Subscriber({ linger: 0 });
  #waiters: Array<() => void> = [];
  endpoint = '';

  static async bind(): Promise<EventCollector> {
    const c = new EventCollector();
    c.#sub.subscribe();
    await c.#sub.bind('tcp://127.0.0.1:*');
    c.endpoint = c.#sub.lastEndpoint as string;
    void c.#loop();
    return c;
  }

  async #loop(): Promise<void> {
    try {
      for await (const [topic, seq, payload] of this.#sub) {
        if (!topic || !seq || !payload) continue;
        this.batches.push({ topic: topic.toString('utf8'), seq: seq.readBigUInt64BE(), events: decodeKvEventBatch(payload).events });
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w();
      }
    } catch {
      // Socket closed.
    }
  }

  /** Every event received so far, in order. */
  events(): KvEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  /** Resolves once `predicate` holds for the events received so far. */
  async waitFor(predicate: (events: KvEvent[]) => boolean): Promise<KvEvent[]> {
    for (;;) {
      const events = this.events();
      if (predicate(events)) return events;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#sub.close();
  }
}

export { metricValue, postJson, readVector, waitUntil } from '@llmd/testing';
export { scrapeMetrics as scrape } from '@llmd/testing';
