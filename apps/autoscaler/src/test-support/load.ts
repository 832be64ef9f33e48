// A closed-loop load generator for tests: `concurrency` clients, each sending one completion at a
// time to the replica (of the given model) with the fewest requests in flight from this generator.

/** A server the generator may send to. */
export interface LoadTarget {
  readonly pod: string;
  readonly url: string;
}

/** Options of {@link ClosedLoopLoad}. */
export interface LoadOptions {
  readonly model: string;
  /** The replicas to spread over; read before every request, so new replicas get load at once. */
  readonly targets: () => readonly LoadTarget[];
  /** Prompt length in tokens (token ids, so the length is exact); the first tokens are unique per request. */
  readonly promptTokens: number;
  readonly maxTokens: number;
}

/** The generator. */
export class ClosedLoopLoad {
  readonly #o: LoadOptions;
  readonly #inFlight = new Map<string, number>();
  #wanted = 0;
  #clients = 0;
  #serial = 0;
  #stopped = false;
  readonly #done: Promise<void>[] = [];
  /** Requests answered with 200, and with anything else. */
  ok = 0;
  failed = 0;

  constructor(options: LoadOptions) {
    this.#o = options;
  }

  /** Sets the number of clients; extra clients stop after their current request. */
  setConcurrency(n: number): void {
    this.#wanted = n;
    while (this.#clients < n) {
      this.#clients++;
      this.#done.push(this.#client());
    }
  }

  async #client(): Promise<void> {
    while (!this.#stopped && this.#clients <= this.#wanted) {
      const targets = this.#o.targets();
      if (targets.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const pick = [...targets].sort((a, b) => (this.#inFlight.get(a.pod) ?? 0) - (this.#inFlight.get(b.pod) ?? 0) || a.pod.localeCompare(b.pod))[0] as LoadTarget;
      this.#inFlight.set(pick.pod, (this.#inFlight.get(pick.pod) ?? 0) + 1);
      const id = ++this.#serial;
      // Unique leading tokens: no two requests share a prefix-cache block.
      const prompt = Array.from({ length: this.#o.promptTokens }, (_, i) => (i < 16 ? 1000 + ((id * 16 + i) % 50_000) : 500 + (i % 100)));
      try {
        const res = await fetch(`${pick.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: this.#o.model, prompt, max_tokens: this.#o.maxTokens, ignore_eos: true }),
        });
        await res.text();
        if (res.ok) this.ok++;
        else this.failed++;
      } catch {
        this.failed++;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        this.#inFlight.set(pick.pod, (this.#inFlight.get(pick.pod) ?? 1) - 1);
      }
    }
    this.#clients--;
  }

  /** Stops every client and waits for their last requests. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#done);
  }
}
