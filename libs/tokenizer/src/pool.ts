import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TokenizerError, isTokenizerErrorCode, toTokenizerError } from './errors.js';
import type {
  AsyncTokenizer,
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  TokenizerSource,
} from './types.js';
import type { SerializedError, WorkerInit, WorkerMessage, WorkerRequest } from './worker-protocol.js';

/** Options of `TokenizerPool.create`. */
export interface TokenizerPoolOptions {
  /** The tokenizer every worker loads. */
  source: TokenizerSource;
  /** Number of worker threads; default: one per core but one, at least 1 and at most 4. */
  size?: number;
}

/** Distributes a request body over the union of requests (TypeScript's Omit does not). */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

interface ReadyInfo {
  name: string;
  vocabSize: number;
}

interface ReadySettler {
  resolve(info: ReadyInfo): void;
  reject(error: TokenizerError): void;
}

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: TokenizerError): void;
}

function defaultSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

function deserialize(error: SerializedError): TokenizerError {
  return new TokenizerError(isTokenizerErrorCode(error.code) ? error.code : 'WORKER_FAILED', error.message);
}

/** Where the worker code is: compiled next to this file, or the source bootstrap when running from .ts. */
function workerEntry(source: TokenizerSource): { url: URL; init: WorkerInit } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      url: new URL('./worker-from-source.mjs', here),
      init: { source, entry: new URL('./worker.ts', here).href },
    };
  }
  return { url: new URL('./worker.js', here), init: { source } };
}

/** One worker thread and the requests it has not answered yet. */
class WorkerSlot {
  readonly worker: Worker;
  readonly pending = new Map<number, PendingRequest>();
  readonly ready: Promise<ReadyInfo>;
  #settleReady: ReadySettler | null;
  #lastError: unknown = undefined;

  constructor(index: number, source: TokenizerSource, onExit: (slot: WorkerSlot) => void) {
    const { url, init } = workerEntry(source);
    this.worker = new Worker(url, { workerData: init, name: `tokenizer-${index}` });
    let settle: ReadySettler | null = null;
    this.ready = new Promise<ReadyInfo>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#settleReady = settle;
    // A slot whose start-up fails rejects `ready`; the pool awaits it, but mark it handled so a
    // failure observed only through `exit` is not also reported as an unhandled rejection.
    this.ready.catch(() => undefined);
    this.worker.on('message', (message: WorkerMessage) => this.#onMessage(message));
    this.worker.on('error', (err) => {
      this.#lastError = err;
    });
    this.worker.on('exit', (code) => {
      const error = new TokenizerError('WORKER_FAILED', `tokenizer worker ${index} exited with code ${code}`, {
        cause: this.#lastError,
      });
      this.#settleReady?.reject(error);
      this.#settleReady = null;
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
      onExit(this);
    });
  }

  #onMessage(message: WorkerMessage): void {
    if (message.kind === 'ready') {
      this.#settleReady?.resolve({ name: message.name, vocabSize: message.vocabSize });
      this.#settleReady = null;
      return;
    }
    if (message.kind === 'failed') {
      this.#settleReady?.reject(deserialize(message.error));
      this.#settleReady = null;
      return;
    }
    const request = this.pending.get(message.id);
    if (request === undefined) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.ok) request.resolve(message.value);
    else request.reject(deserialize(message.error));
  }
}

/**
 * Worker threads that each hold the same tokenizer, so servers tokenize off the event loop.
 * Idle workers do not keep the process alive; `close()` (or `await using`) waits for requests in flight.
 */
export class TokenizerPool implements AsyncTokenizer, AsyncDisposable {
  /** The tokenizer's name, as reported by the workers (see `Tokenizer.name`). */
  readonly name: string;
  /** The tokenizer's vocabulary size. */
  readonly vocabSize: number;
  readonly #slots: WorkerSlot[];
  readonly #inflight = new Set<Promise<unknown>>();
  #nextId = 0;
  #closing: Promise<void> | null = null;

  private constructor(name: string, vocabSize: number, slots: WorkerSlot[]) {
    this.name = name;
    this.vocabSize = vocabSize;
    this.#slots = slots;
  }

  /** Starts `size` workers, each loading `source`; rejects (and stops them all) if any fails to load. */
  static async create(options: TokenizerPoolOptions): Promise<TokenizerPool> {
    const size = options.size ?? defaultSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new TokenizerError('INVALID_INPUT', `size must be a positive integer, got ${String(size)}`);
    }
    // The pool keeps this same array, so a worker that dies later is dropped from it.
    const slots: WorkerSlot[] = [];
    const onExit = (slot: WorkerSlot): void => {
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
    };
    for (let i = 0; i < size; i++) slots.push(new WorkerSlot(i, options.source, onExit));
    const started = [...slots];
    let infos: ReadyInfo[];
    try {
      infos = await Promise.all(started.map((slot) => slot.ready));
    } catch (err) {
      await Promise.all(started.map((slot) => slot.worker.terminate()));
      throw toTokenizerError(err, 'WORKER_FAILED', 'tokenizer worker failed to start');
    }
    for (const slot of started) slot.worker.unref();
    const first = infos[0];
    if (first === undefined) throw new TokenizerError('WORKER_FAILED', 'no tokenizer worker started');
    return new TokenizerPool(first.name, first.vocabSize, slots);
  }

  /** Number of live workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** Text to token ids, in a worker. */
  encode(text: string, opts?: EncodeOptions): Promise<number[]> {
    return this.#call({ op: 'encode', text, opts }) as Promise<number[]>;
  }

  /** Token ids to text, in a worker. */
  decode(ids: readonly number[], opts?: DecodeOptions): Promise<string> {
    return this.#call({ op: 'decode', ids, opts }) as Promise<string>;
  }

  /** Renders chat messages to prompt text, in a worker. */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): Promise<string> {
    return this.#call({ op: 'applyChatTemplate', messages, opts }) as Promise<string>;
  }

  /** Renders and encodes chat messages (no extra special tokens), in a worker. */
  encodeChat(messages: ChatMessage[], opts?: ChatTemplateOptions): Promise<number[]> {
    return this.#call({ op: 'encodeChat', messages, opts }) as Promise<number[]>;
  }

  /** Stops taking requests, waits for those in flight, then stops the workers. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      await Promise.all([...this.#slots].map((slot) => slot.worker.terminate()));
    })();
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #call(body: RequestBody): Promise<unknown> {
    if (this.#closing !== null) {
      return Promise.reject(new TokenizerError('POOL_CLOSED', `tokenizer pool ${this.name} is closed`));
    }
    // The least busy worker; ties go to the first, which keeps a lightly loaded pool on few threads.
    let slot: WorkerSlot | undefined;
    for (const candidate of this.#slots) {
      if (slot === undefined || candidate.pending.size < slot.pending.size) slot = candidate;
    }
    if (slot === undefined) {
      return Promise.reject(new TokenizerError('WORKER_FAILED', `tokenizer pool ${this.name} has no live workers`));
    }
    const target = slot;
    const id = ++this.#nextId;
    const result = new Promise<unknown>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      if (target.pending.size === 1) target.worker.ref();
      try {
        target.worker.postMessage({ ...body, id });
      } catch (err) {
        target.pending.delete(id);
        if (target.pending.size === 0) target.worker.unref();
        reject(toTokenizerError(err, 'INVALID_INPUT', 'cannot send the request to a tokenizer worker'));
      }
    });
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#inflight.add(settled);
    void settled.then(() => this.#inflight.delete(settled));
    return result;
  }
}
