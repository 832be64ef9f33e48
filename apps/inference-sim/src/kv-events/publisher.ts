import { encodeKvEventBatch, type KvEvent } from '@llmd/kv-cache';
import { Publisher, Router } from 'zeromq';
import type { Logger } from 'pino';
import type { KvEventSink } from '../engine/index.js';

/** Where and how one simulated server publishes its KV-cache events. */
export interface KvEventPublisherOptions {
  /** ZMQ endpoint of the PUB socket; binds when it contains `*` or `::` or is ipc/inproc, else connects (as vLLM). */
  endpoint: string;
  /** First frame of every message, e.g. `kv@10.0.0.7:8000@meta-llama/Llama-3.1-8B-Instruct`. */
  topic: string;
  /** ROUTER endpoint answering replay requests, or null for none. */
  replayEndpoint: string | null;
  /** Most events per batch. */
  batchSize: number;
  /** Positional arrays (legacy vLLM) or maps with `type` (newer vLLM). */
  format: 'array' | 'map';
  /** How many recent batches the replay socket can resend. */
  bufferSteps: number;
  /** Written into each batch (`data_parallel_rank`), null when not data-parallel. */
  dataParallelRank: number | null;
  /** Integer id of a LoRA adapter for the deprecated `lora_id` field. */
  loraId: (name: string) => number | null;
  logger: Logger;
}

/** vLLM's PUB socket binds for wildcard, IPv6-any and local transports, and connects otherwise. */
export function publisherBinds(endpoint: string): boolean {
  return endpoint.includes('*') || endpoint.includes('::') || endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://');
}

/** Offsets a tcp endpoint's port by a data-parallel rank (inproc gets a `_dp<rank>` suffix), as vLLM does. */
export function offsetEndpointPort(endpoint: string, rank: number): string {
  if (rank === 0) return endpoint;
  if (endpoint.startsWith('inproc://')) return `${endpoint}_dp${rank}`;
  const m = /^(tcp:\/\/.*):(\d+)$/.exec(endpoint);
  if (!m) return endpoint;
  return `${m[1]}:${Number(m[2]) + rank}`;
}

const END_SEQ = Buffer.alloc(8, 0xff);

function seqFrame(seq: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(seq);
  return b;
}

/**
 * Publishes KV-cache events as vLLM's ZmqEventPublisher does: three-frame messages
 * `[topic, 8-byte big-endian sequence, msgpack EventBatch]`, sequence from 0 upward, and a ROUTER
 * socket that resends buffered batches from a requested sequence, ending with `-1`.
 * Events emitted during one engine step go out together (the batch is flushed on the next turn of
 * the event loop, or as soon as it holds `batchSize` events).
 */
export class KvEventPublisher implements KvEventSink {
  readonly #opts: KvEventPublisherOptions;
  readonly #pub = new Publisher({ sendHighWaterMark: 100_000, linger: 0 });
  #router: Router | null = null;
  readonly #topic: Buffer;
  #pending: KvEvent[] = [];
  #flushScheduled = false;
  #seq = 0n;
  readonly #buffer: Array<{ seq: bigint; payload: Uint8Array }> = [];
  readonly #outbox: Buffer[][] = [];
  #sending = false;
  #closed = false;
  /** Batches published so far (for tests and metrics). */
  published = 0;

  constructor(opts: KvEventPublisherOptions) {
    this.#opts = opts;
    this.#topic = Buffer.from(opts.topic, 'utf8');
  }

  /** Binds or connects the sockets. */
  async start(): Promise<void> {
    const { endpoint, replayEndpoint, logger } = this.#opts;
    if (publisherBinds(endpoint)) await this.#pub.bind(endpoint);
    else this.#pub.connect(endpoint);
    if (replayEndpoint) {
      this.#router = new Router({ linger: 0 });
      await this.#router.bind(replayEndpoint);
      void this.#serveReplay(this.#router);
    }
    logger.info({ endpoint, replayEndpoint, topic: this.#opts.topic, binds: publisherBinds(endpoint) }, 'publishing KV events');
  }

  blockStored(e: Parameters<KvEventSink['blockStored']>[0]): void {
    this.#push({
      type: 'BlockStored',
      blockHashes: e.blockHashes,
      parentBlockHash: e.parentBlockHash,
      tokenIds: e.tokenIds,
      blockSize: e.blockSize,
      loraId: e.loraName === null ? null : this.#opts.loraId(e.loraName),
      medium: 'GPU',
      loraName: e.loraName,
      extraKeys: e.extraKeys.some((k) => k !== null) ? (e.extraKeys as (unknown[] | null)[]) : null,
    });
  }

  blockRemoved(e: Parameters<KvEventSink['blockRemoved']>[0]): void {
    this.#push({ type: 'BlockRemoved', blockHashes: e.blockHashes, medium: 'GPU' });
  }

  allBlocksCleared(): void {
    this.#push({ type: 'AllBlocksCleared' });
  }

  #push(event: KvEvent): void {
    if (this.#closed) return;
    this.#pending.push(event);
    if (this.#pending.length >= this.#opts.batchSize) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    while (this.#pending.length > 0) {
      const events = this.#pending.splice(0, this.#opts.batchSize);
      const payload = encodeKvEventBatch(
        { ts: Date.now() / 1000, events, dataParallelRank: this.#opts.dataParallelRank },
        { format: this.#opts.format },
      );
      const seq = this.#seq++;
      this.#buffer.push({ seq, payload });
      if (this.#buffer.length > this.#opts.bufferSteps) this.#buffer.shift();
      this.#outbox.push([this.#topic, seqFrame(seq), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]);
      this.published++;
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    // zeromq.js allows one send in flight per socket; queue the rest.
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#outbox.length > 0 && !this.#closed) {
        const msg = this.#outbox.shift() as Buffer[];
        await this.#pub.send(msg);
      }
    } catch (err) {
      if (!this.#closed) this.#opts.logger.warn({ err }, 'KV event send failed');
    } finally {
      this.#sending = false;
    }
  }

  async #serveReplay(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        const [identity, , start] = frames;
        if (!identity || !start || start.length !== 8) {
          this.#opts.logger.warn({ frames: frames.length }, 'ignoring malformed replay request');
          continue;
        }
        const from = start.readBigUInt64BE();
        for (const { seq, payload } of this.#buffer) {
          if (seq >= from) await router.send([identity, Buffer.alloc(0), seqFrame(seq), Buffer.from(payload)]);
        }
        await router.send([identity, Buffer.alloc(0), END_SEQ, Buffer.alloc(0)]);
      }
    } catch (err) {
      if (!this.#closed) this.#opts.logger.warn({ err }, 'KV event replay socket failed');
    }
  }

  /** Flushes what is pending and closes the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    while (this.#sending || this.#outbox.length > 0) await new Promise((r) => setImmediate(r));
    this.#closed = true;
    this.#pub.close();
    this.#router?.close();
  }
}
