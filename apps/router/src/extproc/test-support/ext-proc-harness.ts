// Test doubles and a raw ext_proc client: a fake Director that records what it was asked and
// answers as told, a recording ResponseTracker, and a grpc-js client built from the same protos.
import * as grpc from '@grpc/grpc-js';
import { EMPTY_METRICS, type Endpoint, type ResponseUsage } from '@llmd/scheduling';
import type { Director, IncomingRequest, ResponseTracker, RoutedRequest } from '../../director/types.js';
import type { ProcessingRequest } from '../messages.js';
import { externalProcessorClient } from '../protos.js';

/** An endpoint `ip:port` with empty metrics. */
export function endpoint(hostPort: string): Endpoint {
  const [address = '', port = '0'] = hostPort.split(':');
  return {
    metadata: { id: `default/${address}`, name: address, namespace: 'default', address, port: Number(port), hostPort, labels: {} },
    metrics: EMPTY_METRICS,
  };
}

/** A ResponseTracker that records every call and lets a test await `complete`. */
export class RecordingTracker implements ResponseTracker {
  readonly headerCalls: { status: number; headers: Record<string, string>; servedBy: string | null }[] = [];
  firstChunks = 0;
  readonly completions: { usage: ResponseUsage | null; failed: boolean }[] = [];
  readonly completed: Promise<void>;
  readonly #added: Record<string, string>;
  #resolve!: () => void;
  /** `added`: the headers `headers()` returns (what plugins would add to the response). */
  constructor(added: Record<string, string> = {}) {
    this.#added = added;
    this.completed = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  headers(status: number, headers: Readonly<Record<string, string>>, servedBy: string | null): Record<string, string> {
    this.headerCalls.push({ status, headers: { ...headers }, servedBy });
    return { ...this.#added };
  }
  firstChunk(): void {
    this.firstChunks++;
  }
  complete(usage: ResponseUsage | null, failed: boolean): void {
    this.completions.push({ usage, failed });
    this.#resolve();
  }
}

/** What the fake director answers: a routed request (its body defaults to the incoming one) or an error to throw. */
export type FakeAnswer = { error: unknown } | Partial<Omit<RoutedRequest, 'response'>>;

/** A Director that records calls and answers from a queue of canned answers (the last one repeats). */
export class FakeDirector implements Director {
  readonly calls: IncomingRequest[] = [];
  readonly tracker: RecordingTracker;
  /** When set, `route` waits for it before answering (to cancel mid-routing). */
  gate: Promise<void> | null = null;
  readonly #answer: FakeAnswer;
  #routeCalled!: () => void;
  /** Resolves when `route` was first called. */
  readonly routeCalled = new Promise<void>((resolve) => {
    this.#routeCalled = resolve;
  });

  constructor(answer: FakeAnswer = {}, tracker = new RecordingTracker()) {
    this.#answer = answer;
    this.tracker = tracker;
  }

  async route(incoming: IncomingRequest): Promise<RoutedRequest> {
    this.calls.push(incoming);
    this.#routeCalled();
    if (this.gate) await this.gate;
    const a = this.#answer;
    if ('error' in a) throw a.error;
    const targets = a.targets ?? [endpoint('192.168.1.2:8000')];
    return {
      request: a.request ?? null,
      targets,
      destination: a.destination ?? targets.map((t) => t.metadata.hostPort).join(','),
      headers: a.headers ?? { 'x-request-id': 'test-request-id' },
      removedHeaders: a.removedHeaders ?? [],
      body: a.body ?? incoming.body ?? Buffer.alloc(0),
      response: this.tracker,
    };
  }
}

/** `request_headers` (or `response_headers`) with raw_value headers. */
export function headersMsg(
  phase: 'request_headers' | 'response_headers',
  headers: Record<string, string>,
  endOfStream = false,
  filterMetadata?: Record<string, unknown>,
): ProcessingRequest {
  const msg = {
    [phase]: { headers: { headers: Object.entries(headers).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: endOfStream },
  } as ProcessingRequest;
  if (filterMetadata) (msg as { metadata_context?: unknown }).metadata_context = { filter_metadata: filterMetadata };
  return msg;
}

/** `request_body` (or `response_body`) with a chunk. */
export function bodyMsg(phase: 'request_body' | 'response_body', body: string | Buffer, endOfStream = false): ProcessingRequest {
  return { [phase]: { body: Buffer.isBuffer(body) ? body : Buffer.from(body), end_of_stream: endOfStream } } as ProcessingRequest;
}

/** Replaces Buffers by their utf8 text so expected messages read as plain objects. */
export function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** A decoded ProcessingResponse; `response` names the phase member that is set. */
export type Reply = Record<string, unknown> & { response: string };

/** One raw `Process` stream from the test client. */
export class ExtProcCall {
  readonly replies: Reply[] = [];
  /** Resolves with the final gRPC status once the server ends the stream. */
  readonly finished: Promise<grpc.StatusObject>;
  readonly #call: grpc.ClientDuplexStream<ProcessingRequest, Reply>;
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(client: grpc.Client) {
    const c = client as unknown as { Process(): grpc.ClientDuplexStream<ProcessingRequest, Reply> };
    this.#call = c.Process();
    this.#call.on('data', (r: Reply) => {
      this.replies.push(r);
      this.#waiters = this.#waiters.filter((w) => (this.replies.length >= w.count ? (w.resolve(), false) : true));
    });
    this.finished = new Promise((resolve) => {
      this.#call.on('status', resolve);
      // A cancelled or failed call also emits 'error'; the status event carries the outcome.
      this.#call.on('error', () => undefined);
    });
  }

  /** Sends messages in order. */
  send(...msgs: ProcessingRequest[]): this {
    for (const m of msgs) this.#call.write(m);
    return this;
  }

  /** Half-closes, as Envoy does when the HTTP stream is over. */
  end(): this {
    this.#call.end();
    return this;
  }

  /** Cancels, as Envoy does when the client goes away. */
  cancel(): void {
    this.#call.cancel();
  }

  /** Resolves once at least `count` replies have arrived (or rejects when the stream ends first). */
  async waitForReplies(count: number): Promise<Reply[]> {
    if (this.replies.length < count) {
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        this.finished.then((s) => {
          if (this.replies.length < count) throw new Error(`stream ended (${s.code} ${s.details}) after ${this.replies.length} of ${count} replies`);
        }),
      ]);
    }
    return this.replies;
  }

  /** Sends all messages, half-closes and returns every reply plus the final status. */
  async exchange(...msgs: ProcessingRequest[]): Promise<{ replies: Reply[]; status: grpc.StatusObject }> {
    this.send(...msgs).end();
    const status = await this.finished;
    return { replies: this.replies, status };
  }
}

/** A raw ext_proc client on `127.0.0.1:port`. */
export function extProcClient(port: number, credentials = grpc.credentials.createInsecure()): grpc.Client & Disposable {
  const Ctor = externalProcessorClient();
  const client = new Ctor(`127.0.0.1:${port}`, credentials);
  return Object.assign(client, { [Symbol.dispose]: () => client.close() });
}
