// A stand-in for vLLM's ZmqEventPublisher on real sockets: an XPUB (so a test can wait for the
// subscription before publishing, see the reference's slow-joiner notes) and an optional ROUTER that
// answers replay requests in either reply layout, or never.
import { encodeKvEventBatch } from '@llmd/kv-cache';
import type { KvEventBatch, KvEventWireFormat } from '@llmd/kv-cache';
import { Router, XPublisher } from 'zeromq';
import { END_SEQ, decodeSeq, encodeSeq } from '../frames.js';

/** How the fake ROUTER answers: vLLM's `[seq, payload]`, llm-d's `[topic, seq, payload]`, or not at all. */
export type ReplayLayout = '2-frame' | '3-frame' | 'silent';

/** Options of {@link FakeKvPublisher.start}. */
export interface FakeKvPublisherOptions {
  readonly topic: string;
  /** Bind the XPUB to 127.0.0.1:* (per-endpoint mode), or connect it to this endpoint (centralized mode). */
  readonly connectTo?: string;
  /** Start a ROUTER replay socket answering in this layout. */
  readonly replay?: ReplayLayout;
  readonly format?: KvEventWireFormat;
}

const EMPTY = Buffer.alloc(0);

/** A fake vLLM KV-event publisher; dispose with close(). */
export class FakeKvPublisher {
  readonly #pub = new XPublisher({ linger: 0 });
  #router: Router | null = null;
  #routerLoop: Promise<void> = Promise.resolve();
  readonly #buffer: { seq: bigint; payload: Buffer }[] = [];
  #seq = 0n;
  #topic: Buffer;
  readonly #format: KvEventWireFormat;
  /** Where the XPUB is bound (per-endpoint mode), else null. */
  endpoint: string | null = null;
  /** The ROUTER's bound endpoint, or null. */
  replayEndpoint: string | null = null;
  /** Replay requests received, by start sequence. */
  readonly replayRequests: bigint[] = [];
  #requestWaiters: { n: number; resolve: () => void }[] = [];

  private constructor(options: FakeKvPublisherOptions) {
    this.#topic = Buffer.from(options.topic);
    this.#format = options.format ?? 'array';
  }

  /** Creates the sockets; binds or connects the XPUB and binds the ROUTER. */
  static async start(options: FakeKvPublisherOptions): Promise<FakeKvPublisher> {
    const fake = new FakeKvPublisher(options);
    if (options.connectTo !== undefined) fake.#pub.connect(options.connectTo);
    else {
      await fake.#pub.bind('tcp://127.0.0.1:*');
      fake.endpoint = fake.#pub.lastEndpoint;
    }
    if (options.replay !== undefined) {
      const router = new Router({ linger: 0 });
      await router.bind('tcp://127.0.0.1:*');
      fake.#router = router;
      fake.replayEndpoint = router.lastEndpoint;
      fake.#routerLoop = fake.#serve(router, options.replay);
    }
    return fake;
  }

  /** Resolves once `n` replay requests have arrived. */
  replayRequested(n = 1): Promise<void> {
    if (this.replayRequests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#requestWaiters.push({ n, resolve }));
  }

  /** Resolves when a subscriber's subscription reaches the XPUB: from then on nothing published is lost. */
  async waitForSubscription(): Promise<Buffer> {
    for (;;) {
      const [frame] = await this.#pub.receive();
      if (frame !== undefined && frame[0] === 1) return frame.subarray(1);
    }
  }

  /**
   * Gives the batch the next sequence number, keeps it for replay, and sends it unless `live` is false
   * (a message lost on the way). Returns the sequence number.
   */
  async publish(batch: KvEventBatch, options: { live?: boolean; format?: KvEventWireFormat } = {}): Promise<bigint> {
    const payload = Buffer.from(encodeKvEventBatch(batch, { format: options.format ?? this.#format }));
    return this.publishPayload(payload, options);
  }

  /** As {@link publish}, with the payload given as bytes (malformed-payload tests). */
  async publishPayload(payload: Buffer, options: { live?: boolean } = {}): Promise<bigint> {
    const seq = this.#seq++;
    this.#buffer.push({ seq, payload });
    if (options.live ?? true) await this.#pub.send([this.#topic, encodeSeq(seq), payload]);
    return seq;
  }

  /** Sends arbitrary frames on the XPUB (malformed-message tests). */
  async sendRaw(frames: (Buffer | string)[]): Promise<void> {
    await this.#pub.send(frames);
  }

  /** Simulates an engine restart: the sequence starts again at 0 and the replay buffer is emptied. */
  restart(topic?: string): void {
    this.#seq = 0n;
    this.#buffer.length = 0;
    if (topic !== undefined) this.#topic = Buffer.from(topic);
  }

  async close(): Promise<void> {
    this.#pub.close();
    this.#router?.close();
    await this.#routerLoop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #serve(router: Router, layout: ReplayLayout): Promise<void> {
    try {
      for await (const frames of router) {
        const [identity, , seqFrame] = frames;
        const start = seqFrame === undefined ? null : decodeSeq(seqFrame);
        if (identity === undefined || start === null) continue;
        this.replayRequests.push(start);
        const ready = this.#requestWaiters.filter((w) => w.n <= this.replayRequests.length);
        this.#requestWaiters = this.#requestWaiters.filter((w) => w.n > this.replayRequests.length);
        for (const w of ready) w.resolve();
        if (layout === 'silent') continue;
        for (const { seq, payload } of this.#buffer) {
          if (seq < start) continue;
          const reply = layout === '2-frame' ? [encodeSeq(seq), payload] : [this.#topic, encodeSeq(seq), payload];
          await router.send([identity, EMPTY, ...reply]);
        }
        const end = layout === '2-frame' ? [encodeSeq(END_SEQ), EMPTY] : [EMPTY, encodeSeq(END_SEQ), EMPTY];
        await router.send([identity, EMPTY, ...end]);
      }
    } catch (err) {
      if (!router.closed) throw err;
    }
  }
}
