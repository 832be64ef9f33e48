// A KvEventSink for tests: records what a subscriber hands over, forwards it (e.g. to a real pool),
// and lets a test wait for a condition on the record instead of sleeping.
import type { KvEventSink, KvEventTask } from '../pool.js';

/** One thing the subscriber handed over. */
export type SinkRecord = { readonly kind: 'batch'; readonly task: KvEventTask } | { readonly kind: 'reset'; readonly publisher: string };

/** Records and forwards sink calls; `until` resolves when the record satisfies a predicate. */
export class RecordingSink implements KvEventSink {
  readonly records: SinkRecord[] = [];
  readonly #forward: KvEventSink | null;
  #waiters: { test: (records: readonly SinkRecord[]) => boolean; resolve: () => void }[] = [];

  constructor(forward: KvEventSink | null = null) {
    this.#forward = forward;
  }

  push(task: KvEventTask): void {
    this.records.push({ kind: 'batch', task });
    this.#forward?.push(task);
    this.#check();
  }

  reset(publisher: string): void {
    this.records.push({ kind: 'reset', publisher });
    this.#forward?.reset(publisher);
    this.#check();
  }

  /** The batches handed over, in order. */
  get tasks(): KvEventTask[] {
    return this.records.flatMap((r) => (r.kind === 'batch' ? [r.task] : []));
  }

  /** A compact trace: `0`, `1r` (replayed), `reset`, … */
  get trace(): string[] {
    return this.records.map((r) => (r.kind === 'reset' ? 'reset' : `${r.task.seq}${r.task.replayed ? 'r' : ''}`));
  }

  /** Resolves once `test` holds for the record (checked now and after every call). */
  until(test: (records: readonly SinkRecord[]) => boolean): Promise<void> {
    if (test(this.records)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /** Resolves once `n` batches have been handed over. */
  batches(n: number): Promise<void> {
    return this.until((records) => records.filter((r) => r.kind === 'batch').length >= n);
  }

  #check(): void {
    const ready = this.#waiters.filter((w) => w.test(this.records));
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
