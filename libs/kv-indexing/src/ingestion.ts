import type { Logger } from 'pino';
import { KvEventApplier } from './events/index.js';
import type { KvBlockIndex } from './index/types.js';
import { KvEventSubscriber, ShardedEventPool, type KvEventTask, type ReplayOptions } from './ingest/index.js';

/** How KV events reach an index. */
export interface KvEventIngestionOptions {
  readonly index: KvBlockIndex;
  /** The indexer's tokens per request-key block (default 16). */
  readonly blockSize?: number;
  /** Seed of the request-key chain (default ""). */
  readonly hashSeed?: string;
  /** Parallel appliers; events of one publisher stay in order (default 4). */
  readonly concurrency?: number;
  /** ZMQ subscription prefix (default `kv@`). */
  readonly topicFilter?: string;
  /** Publishers' replay ROUTER port, for recovery after a gap or a restart; none when null. */
  readonly replayPort?: number | null;
  readonly replay?: Partial<ReplayOptions>;
  readonly logger: Logger;
  /** Called after each applied batch with its ingestion lag in seconds. */
  readonly onApplied?: (task: KvEventTask, lagSeconds: number) => void;
}

/**
 * The replay ROUTER endpoint of a publisher named `host:port` (from its topic, or the serving endpoint
 * in per-endpoint mode): the same host at `replayPort`; null when the name has no port.
 */
export function replayEndpointOf(publisher: string, replayPort: number): string | null {
  const colon = publisher.lastIndexOf(':');
  if (colon <= 0 || !/^\d+$/.test(publisher.slice(colon + 1))) return null;
  const host = publisher.slice(0, colon);
  return `tcp://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${replayPort}`;
}

/**
 * Everything between model servers' KV-event sockets and an index: the ZMQ subscriber (centralized
 * `bind`, or per-endpoint `connect`), the sharded pool that keeps each publisher's events in order,
 * and the applier that turns events into index operations. Used by the kv-indexer app and by the
 * router's embedded precise prefix-cache producer.
 */
export class KvEventIngestion {
  readonly applier: KvEventApplier;
  readonly pool: ShardedEventPool;
  readonly subscriber: KvEventSubscriber;
  #closed = false;

  constructor(options: KvEventIngestionOptions) {
    const logger = options.logger;
    this.applier = new KvEventApplier({
      index: options.index,
      ...(options.blockSize !== undefined ? { blockSize: options.blockSize } : {}),
      ...(options.hashSeed !== undefined ? { hashSeed: options.hashSeed } : {}),
      logger: logger.child({ component: 'kv-event-applier' }),
    });
    this.pool = new ShardedEventPool({
      applier: this.applier,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      logger: logger.child({ component: 'kv-event-pool' }),
      ...(options.onApplied ? { onApplied: options.onApplied } : {}),
    });
    const replayPort = options.replayPort ?? null;
    this.subscriber = new KvEventSubscriber({
      sink: this.pool,
      logger: logger.child({ component: 'kv-event-subscriber' }),
      ...(options.topicFilter !== undefined ? { topicFilter: options.topicFilter } : {}),
      ...(replayPort !== null ? { replayEndpointFor: (publisher: string) => replayEndpointOf(publisher, replayPort) } : {}),
      ...(options.replay ? { replay: options.replay } : {}),
    });
  }

  /** Centralized mode: binds the SUB socket (publishers connect to it); resolves with the bound endpoint. */
  bind(endpoint: string): Promise<string> {
    return this.subscriber.bind(endpoint);
  }

  /** Per-endpoint mode: subscribes to one publisher, whose events count for `pod` (its serving `ip:port`). */
  connect(endpoint: string, pod: string): void {
    this.subscriber.connect(endpoint, pod);
  }

  /** Stops following a publisher and drops what its pod held. */
  disconnect(endpoint: string): Promise<void> {
    return this.subscriber.disconnect(endpoint, { clear: true });
  }

  /** Resolves when every received batch has been applied. */
  idle(): Promise<void> {
    return this.pool.idle();
  }

  /** Closes the sockets and stops the workers (the index stays open: its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.subscriber.close();
    await this.pool.close();
  }
}
