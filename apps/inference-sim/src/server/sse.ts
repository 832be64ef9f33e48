import type { ServerResponse } from 'node:http';

/**
 * Writes Server-Sent Events the way vLLM's OpenAI server does: `data: <json>\n\n` per chunk and
 * `data: [DONE]\n\n` at the end. Writes are not awaited one by one: Node buffers them and the
 * engine's next step produces the next chunk anyway.
 */
export class SseWriter {
  readonly #res: ServerResponse;
  #open = true;

  constructor(res: ServerResponse, headers: Record<string, string>) {
    this.#res = res;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.on('close', () => (this.#open = false));
  }

  /** Whether the client is still there. */
  get open(): boolean {
    return this.#open && !this.#res.writableEnded;
  }

  /** Sends one JSON chunk. */
  send(chunk: unknown): void {
    if (this.open) this.#res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  /** Sends `[DONE]` and ends the response. */
  done(): void {
    if (this.open) this.#res.end('data: [DONE]\n\n');
  }

  /** Ends the stream with an error event (after headers were sent, the status can no longer change). */
  fail(body: unknown): void {
    if (this.open) this.#res.end(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`);
  }
}
