import type { ResponseUsage } from '@llmd/scheduling';

/** Reads `usage` from a response as it streams by: the final SSE chunk, or the whole JSON body. */
export class UsageSniffer {
  readonly #sse: boolean;
  #tail = '';
  #json: Buffer[] = [];
  #jsonBytes = 0;
  #usage: ResponseUsage | null = null;
  static readonly MAX_JSON_BYTES = 8 * 1024 * 1024;

  constructor(contentType: string | undefined) {
    this.#sse = (contentType ?? '').includes('text/event-stream');
  }

  /** Whether the response is a server-sent event stream. */
  get streaming(): boolean {
    return this.#sse;
  }

  /** Feeds a body chunk. */
  push(chunk: Uint8Array): void {
    if (this.#sse) {
      // Only complete `data:` lines matter; keep the unfinished end for the next chunk.
      const text = this.#tail + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
      let start = 0;
      for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
        this.#line(text.slice(start, nl));
        start = nl + 1;
      }
      this.#tail = text.slice(start);
      if (this.#tail.length > 1024 * 1024) this.#tail = '';
      return;
    }
    if (this.#jsonBytes + chunk.byteLength <= UsageSniffer.MAX_JSON_BYTES) {
      this.#json.push(Buffer.from(chunk));
      this.#jsonBytes += chunk.byteLength;
    }
  }

  /** The usage found, if any (call after the last chunk). */
  result(): ResponseUsage | null {
    if (this.#sse) {
      if (this.#tail) this.#line(this.#tail);
      return this.#usage;
    }
    if (this.#jsonBytes === 0) return null;
    try {
      return readUsage((JSON.parse(Buffer.concat(this.#json).toString('utf8')) as { usage?: unknown }).usage);
    } catch {
      return null;
    }
  }

  #line(line: string): void {
    if (!line.startsWith('data:') || !line.includes('"usage"')) return;
    const payload = line.slice(5).trim();
    try {
      const usage = readUsage((JSON.parse(payload) as { usage?: unknown }).usage);
      if (usage) this.#usage = usage;
    } catch {
      // Not JSON ([DONE] or a vendor event): nothing to read.
    }
  }
}

/** Reads OpenAI `usage` fields; null unless prompt and completion counts are numbers. */
export function readUsage(u: unknown): ResponseUsage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null };
  if (typeof o.prompt_tokens !== 'number') return null;
  const cached = o.prompt_tokens_details?.cached_tokens;
  return {
    promptTokens: o.prompt_tokens,
    completionTokens: typeof o.completion_tokens === 'number' ? o.completion_tokens : 0,
    cachedTokens: typeof cached === 'number' ? cached : null,
  };
}
