import { requestBlockKeys } from '@llmd/kv-cache';
import type { BlockStored, KvEventWireFormat } from '@llmd/kv-cache';
import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { KvEventApplier } from '../events/applier.js';
import { MapKvBlockIndex } from '../events/test-support/map-index.js';
import { RECORDED_MODEL, batchOf, recordedBase, recordedLora } from '../events/test-support/vectors.js';
import type { RecordedStore } from '../events/test-support/vectors.js';
import { encodeSeq } from './frames.js';
import { ShardedEventPool } from './pool.js';
import { KvEventSubscriber } from './subscriber.js';
import type { KvEventSubscriberOptions } from './subscriber.js';
import { FakeKvPublisher } from './test-support/fake-publisher.js';
import type { ReplayLayout } from './test-support/fake-publisher.js';
import { RecordingSink } from './test-support/recording-sink.js';

const logger = silentLogger();
const POD = '10.0.0.7:8000';
const TOPIC = `kv@${POD}@${RECORDED_MODEL}`;
const base = recordedBase();

/** Subscriber → recording sink → real pool → applier → Map index; disposed with `await using`. */
function ingest(options: Partial<KvEventSubscriberOptions> = {}) {
  const index = new MapKvBlockIndex();
  const applier = new KvEventApplier({ index, logger });
  const pool = new ShardedEventPool({ applier, logger });
  const sink = new RecordingSink(pool);
  const subscriber = new KvEventSubscriber({ sink, logger, ...options });
  return {
    index,
    pool,
    sink,
    subscriber,
    /** Consecutive blocks of `tokens` that `pod` holds under `model`, once everything handed over is applied. */
    async prefix(tokens: number[], pod = POD, model = RECORDED_MODEL): Promise<number> {
      await subscriber.replaysSettled();
      await pool.idle();
      const keys = requestBlockKeys(tokens, { blockSize: 16, hashSeed: '', modelName: model });
      return (await index.lookup(keys, new Set([pod]))).length;
    },
    async [Symbol.asyncDispose]() {
      await subscriber.close();
      await pool.close();
    },
  };
}

/** The recorded store cut into three chained events: blocks 0–9, 10–19, 20–24. */
function thirds(store: RecordedStore): BlockStored[] {
  const cut = (from: number, to: number): BlockStored => ({
    ...store.event,
    blockHashes: store.hashes.slice(from, to),
    parentBlockHash: from === 0 ? null : (store.hashes[from - 1] as bigint),
    tokenIds: store.tokens.slice(from * 16, to * 16),
  });
  return [cut(0, 10), cut(10, 20), cut(20, 25)];
}

describe('KvEventSubscriber, centralized (the SUB binds)', () => {
  it.each<KvEventWireFormat>(['array', 'map'])('indexes the recorded event published in the %s format', async (format) => {
    await using h = ingest();
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, format });
    await pub.waitForSubscription();

    await pub.publish(batchOf(base.event));
    await h.sink.batches(1);
    expect(await h.prefix(base.tokens)).toBe(25);

    await pub.publish(batchOf({ type: 'BlockRemoved', blockHashes: [base.hashes[10] as bigint], medium: 'GPU' }));
    await h.sink.batches(2);
    expect(await h.prefix(base.tokens)).toBe(10);
    expect(h.sink.tasks.map((t) => [t.publisher, t.model, t.seq])).toEqual([
      [POD, RECORDED_MODEL, 0n],
      [POD, RECORDED_MODEL, 1n],
    ]);
  });

  it('names each publisher by its topic and keeps a model name containing "@"', async () => {
    await using h = ingest();
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    const model = 'org/model@v2';
    await using a = await FakeKvPublisher.start({ topic: `kv@${POD}@${model}`, connectTo: endpoint });
    await using b = await FakeKvPublisher.start({ topic: `kv@10.0.0.8:8000@${RECORDED_MODEL}`, connectTo: endpoint });
    await Promise.all([a.waitForSubscription(), b.waitForSubscription()]);

    await a.publish(batchOf(base.event));
    await b.publish(batchOf(thirds(base)[0] as BlockStored));
    await h.sink.batches(2);
    expect(h.sink.tasks.map((t) => `${t.publisher} ${t.model}`).sort()).toEqual([`${POD} ${model}`, `10.0.0.8:8000 ${RECORDED_MODEL}`]);
    expect(await h.prefix(base.tokens, POD, model)).toBe(25);
    expect(await h.prefix(base.tokens, POD, RECORDED_MODEL)).toBe(0);
    expect(await h.prefix(base.tokens, '10.0.0.8:8000')).toBe(10);
  });

  it('forgets a publisher that went away and takes it back afresh', async () => {
    await using h = ingest();
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint });
    await pub.waitForSubscription();
    const [first, second] = thirds(base) as [BlockStored, BlockStored];
    await pub.publish(batchOf(first));
    await h.sink.batches(1);
    expect(await h.prefix(base.tokens)).toBe(10);

    h.subscriber.forgetPublisher(POD);
    expect(h.subscriber.publishers).toBe(0);
    expect(await h.prefix(base.tokens)).toBe(0);
    await pub.publish(batchOf(second));
    await h.sink.batches(2);
    expect(h.sink.trace).toEqual(['0', 'reset', '1']);
    expect(h.subscriber.counters.gaps).toBe(0);
  });

  it('counts and skips malformed messages without stopping', async () => {
    await using h = ingest();
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint });
    await pub.waitForSubscription();

    await pub.sendRaw([TOPIC, 'abcd', 'x']); // 4-byte sequence frame
    await pub.sendRaw([TOPIC]); // one frame
    await pub.sendRaw([TOPIC, encodeSeq(7n), 'x', 'y']); // four frames
    await pub.publishPayload(Buffer.from([0xc1])); // seq 0: not msgpack
    await pub.publish(batchOf(base.event)); // seq 1
    await h.sink.batches(1);
    expect(h.subscriber.counters.malformed).toBe(4);
    expect(h.sink.trace).toEqual(['1']);
    expect(h.subscriber.counters.gaps).toBe(0);
    expect(await h.prefix(base.tokens)).toBe(25);
  });
});

describe('KvEventSubscriber, per endpoint (the SUB connects)', () => {
  it('attributes batches to the configured serving endpoint, not the topic, and resets it on disconnect', async () => {
    await using h = ingest();
    await using pub = await FakeKvPublisher.start({ topic: `kv@10.9.9.9:5557@${RECORDED_MODEL}` });
    const serving = '10.0.0.9:8000';
    h.subscriber.connect(pub.endpoint as string, serving);
    await pub.waitForSubscription();

    await pub.publish(batchOf(base.event));
    await h.sink.batches(1);
    expect(h.sink.tasks[0]?.publisher).toBe(serving);
    expect(await h.prefix(base.tokens, serving)).toBe(25);
    expect(await h.prefix(base.tokens, '10.9.9.9:5557')).toBe(0);

    await h.subscriber.disconnect(pub.endpoint as string);
    expect(h.sink.trace).toEqual(['0', 'reset']);
    expect(h.subscriber.endpoints).toEqual([]);
    expect(await h.prefix(base.tokens, serving)).toBe(0);
  });

  it('replays from 0 when it joins a publisher mid-stream', async () => {
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, replay: '3-frame' });
    const [first, second, third] = thirds(base) as [BlockStored, BlockStored, BlockStored];
    // No subscriber yet: a PUB drops these, as vLLM's does before the indexer connects.
    await pub.publish(batchOf(first));
    await pub.publish(batchOf(second));

    await using h = ingest({ replayEndpointFor: () => pub.replayEndpoint });
    h.subscriber.connect(pub.endpoint as string, POD);
    await pub.waitForSubscription();
    await pub.publish(batchOf(third));
    await h.sink.batches(3);
    expect(pub.replayRequests).toEqual([0n]);
    expect(h.sink.trace).toEqual(['0r', '1r', '2r']);
    expect(await h.prefix(base.tokens)).toBe(25);
  });
});

describe('KvEventSubscriber replay', () => {
  it.each<ReplayLayout>(['3-frame', '2-frame'])('fills a dropped message from a %s replay, in order', async (layout) => {
    await using h = ingest({ replayEndpointFor: (publisher) => (publisher === POD ? pub.replayEndpoint : null) });
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, replay: layout });
    await pub.waitForSubscription();

    const [first, second, third] = thirds(base) as [BlockStored, BlockStored, BlockStored];
    await pub.publish(batchOf(first));
    await pub.publish(batchOf(second), { live: false });
    await pub.publish(batchOf(third));
    await h.sink.batches(3);

    expect(pub.replayRequests).toEqual([1n]);
    // The replay resends 1 and 2; the live 2, held meanwhile, is then a duplicate.
    await h.subscriber.replaysSettled();
    expect(h.sink.trace).toEqual(['0', '1r', '2r']);
    expect(h.sink.tasks.every((t) => t.model === RECORDED_MODEL)).toBe(true);
    expect(h.subscriber.counters).toMatchObject({ gaps: 1, duplicates: 1, replays: { started: 1, succeeded: 1, failed: 0 } });
    // Without block 10–19 the last event's parent would be unknown and the prefix would stop at 10.
    expect(await h.prefix(base.tokens)).toBe(25);
  });

  it('resets the pod and replays from 0 when the publisher restarts', async () => {
    await using h = ingest({ replayEndpointFor: () => pub.replayEndpoint });
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, replay: '3-frame' });
    await pub.waitForSubscription();
    for (const event of thirds(base)) await pub.publish(batchOf(event));
    await h.sink.batches(3);
    expect(await h.prefix(base.tokens)).toBe(25);

    // The engine restarts: its sequence begins at 0 again and its first batch is lost on the way.
    pub.restart();
    const lora = recordedLora();
    const [first, second] = thirds(lora) as [BlockStored, BlockStored];
    await pub.publish(batchOf(first), { live: false });
    await pub.publish(batchOf(second));
    await h.sink.batches(5);

    expect(h.sink.trace).toEqual(['0', '1', '2', 'reset', '0r', '1r']);
    expect(pub.replayRequests).toEqual([0n]);
    expect(h.subscriber.counters.restarts).toBe(1);
    expect(await h.prefix(base.tokens)).toBe(0);
    expect(await h.prefix(lora.tokens, POD, 'Alice')).toBe(20);
  });

  it('gives up on a publisher that does not answer, resets the pod, and goes on with the live stream', async () => {
    await using h = ingest({
      replayEndpointFor: () => pub.replayEndpoint,
      replay: { attemptIdleTimeoutMs: 50, maxAttemptsWithoutProgress: 2, retryBackoffMs: 0 },
    });
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, replay: 'silent' });
    await pub.waitForSubscription();

    const [first, second, third] = thirds(base) as [BlockStored, BlockStored, BlockStored];
    await pub.publish(batchOf(first));
    await pub.publish(batchOf(second), { live: false });
    await pub.publish(batchOf(third));
    await h.sink.until((records) => records.length >= 3);
    await pub.publish(batchOf({ type: 'AllBlocksCleared' }));
    await h.sink.batches(3);

    expect(pub.replayRequests.length).toBeGreaterThan(0);
    expect(pub.replayRequests.every((start) => start === 1n)).toBe(true);
    expect(h.sink.trace).toEqual(['0', 'reset', '2', '3']);
    expect(h.subscriber.counters.replays).toEqual({ started: 1, succeeded: 0, failed: 1 });
  });

  // A replay attempt here would wait a minute for an answer: these pass only if the attempt is cut short.
  const patient = { attemptIdleTimeoutMs: 60_000 };

  it('abandons a replay in flight when the publisher restarts', async () => {
    await using h = ingest({ replayEndpointFor: () => pub.replayEndpoint, replay: patient });
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, replay: 'silent' });
    await pub.waitForSubscription();
    const [first, second, third] = thirds(base) as [BlockStored, BlockStored, BlockStored];
    await pub.publish(batchOf(first));
    await pub.publish(batchOf(second), { live: false });
    await pub.publish(batchOf(third));
    await pub.replayRequested(1);

    pub.restart();
    await pub.publish(batchOf(first));
    await h.sink.batches(2);
    await h.subscriber.replaysSettled();
    expect(h.sink.trace).toEqual(['0', 'reset', '0']);
    expect(h.subscriber.counters.replays).toEqual({ started: 1, succeeded: 0, failed: 0 });
    expect(await h.prefix(base.tokens)).toBe(10);
  });

  it('ends a replay in flight on close', async () => {
    const h = ingest({ replayEndpointFor: () => pub.replayEndpoint, replay: patient });
    const endpoint = await h.subscriber.bind('tcp://127.0.0.1:*');
    await using pub = await FakeKvPublisher.start({ topic: TOPIC, connectTo: endpoint, replay: 'silent' });
    await pub.waitForSubscription();
    await pub.publish(batchOf(base.event), { live: false });
    await pub.publish(batchOf(base.event));
    await pub.replayRequested(1);

    await h[Symbol.asyncDispose]();
    expect(h.sink.trace).toEqual([]);
    expect(() => h.subscriber.connect('tcp://127.0.0.1:1', POD)).toThrow(/closed/);
  });
});
