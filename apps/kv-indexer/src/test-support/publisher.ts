import { encodeKvEventBatch, type BlockStored, type KvEvent, type KvEventWireFormat } from '@llmd/kv-cache';
import { readVector } from '@llmd/testing';
import { XPublisher } from 'zeromq';

/** The recorded vLLM event files (KVCM testdata): Qwen/Qwen3-0.6B, block size 16, 400 tokens, 25 blocks. */
export interface RecordedEvent {
  prompt: string;
  model_name: string;
  lora_name: string | null;
  block_hashes: Array<number | bigint>;
  token_ids: number[];
  block_size: number;
  medium: string;
}

/** A recorded file's BlockStored event and prompt. */
export function recordedBlockStored(file: string): { event: BlockStored; prompt: string; hashes: bigint[] } {
  const v = readVector<RecordedEvent>(file);
  const hashes = v.block_hashes.map((h) => BigInt(h));
  return {
    prompt: v.prompt,
    hashes,
    event: { type: 'BlockStored', blockHashes: hashes, parentBlockHash: null, tokenIds: v.token_ids, blockSize: v.block_size, loraId: null, medium: v.medium, loraName: v.lora_name },
  };
}

/**
 * A vLLM-like KV-event publisher on a real ZMQ socket: `[topic, seq (8 bytes BE), msgpack batch]`,
 * seq from 0. It is an XPUB so it can tell when the indexer's subscription has arrived: anything
 * published before that would be dropped by ZMQ (the slow joiner).
 */
export class TestKvPublisher implements AsyncDisposable {
  readonly topic: string;
  readonly format: KvEventWireFormat;
  readonly #socket = new XPublisher({ linger: 0 });
  #seq = 0n;

  constructor(topic: string, format: KvEventWireFormat) {
    this.topic = topic;
    this.format = format;
  }

  /** Centralized mode: connects to the indexer's bound SUB socket and waits for its subscription. */
  async connect(endpoint: string): Promise<void> {
    this.#socket.connect(endpoint);
    await this.subscribed();
  }

  /** Per-endpoint mode: binds `tcp://127.0.0.1:*` and returns the port the indexer should connect to. */
  async bind(): Promise<number> {
    await this.#socket.bind('tcp://127.0.0.1:*');
    return Number(/:(\d+)$/.exec(this.#socket.lastEndpoint ?? '')?.[1]);
  }

  /** Resolves when a subscriber's subscription message (0x01 + prefix) arrives. */
  async subscribed(): Promise<void> {
    for (;;) {
      const [frame] = await this.#socket.receive();
      if (frame !== undefined && frame[0] === 1) return;
    }
  }

  /** Sends one batch of events with the next sequence number (or `seq`); returns the number used. */
  async publish(events: KvEvent[], options: { seq?: bigint; ts?: number } = {}): Promise<bigint> {
    const seq = options.seq ?? this.#seq;
    this.#seq = seq + 1n;
    const frame = Buffer.alloc(8);
    frame.writeBigUInt64BE(seq);
    const payload = encodeKvEventBatch({ ts: options.ts ?? Date.now() / 1000, events, dataParallelRank: null }, { format: this.format });
    await this.#socket.send([this.topic, frame, payload]);
    return seq;
  }

  /** Closes the socket. */
  close(): void {
    this.#socket.close();
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
