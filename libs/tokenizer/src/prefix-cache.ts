// A cache of prompt-prefix tokens, so a long prompt prefix shared by many requests (a system prompt, a
// document, the earlier turns of a chat) is tokenized once. BPE is not compositional at arbitrary cuts
// ("hel" + "lo" does not tokenize like "hello"), so prompts are cut only where the pre-tokenizer itself
// always splits: see `isSafeCut`. The property test in prefix-cache.test.ts checks the claim against
// full tokenization for both bundled tokenizers.
import { createHash } from 'node:crypto';

/** Turns text into token ids WITHOUT adding special tokens (a BOS token would repeat per segment). */
export type SegmentEncoder = (text: string) => Promise<readonly number[]> | readonly number[];

/** Options of {@link PrefixTokenCache}. */
export interface PrefixTokenCacheOptions {
  /** Most tokens held over all entries; the least recently used segments are dropped first. 0 disables caching. */
  readonly maxTokens: number;
  /** Shortest segment in UTF-16 code units: a cut is made at the first safe cut at or after this length (default 256). */
  readonly minSegmentChars?: number;
}

/** Counters of a {@link PrefixTokenCache}. */
export interface PrefixTokenCacheStats {
  /** Segments whose tokens came from the cache (or from a concurrent request already tokenizing them). */
  readonly hits: number;
  /** Segments that had to be tokenized. */
  readonly misses: number;
  /** Tokens taken from the cache instead of being tokenized again. */
  readonly reusedTokens: number;
  /** Segments held. */
  readonly entries: number;
  /** Tokens held over all segments. */
  readonly tokens: number;
}

const LETTER = /^\p{L}$/u;

/**
 * Whether text may be cut just before position `at` without changing its tokenization: `text[at]` is a
 * space between two letters. The pre-tokenizer regex of Qwen2/Qwen3 and Llama 3 (GPT-4 style:
 * `…|[^\r\n\p{L}\p{N}]?\p{L}+|…`) ends a letter run at the space and starts the next pre-token with
 * " <letter>", both in the full text and in each side alone, and BPE merges never cross pre-tokens;
 * NFC normalization cannot compose across a space. A surrogate half counts as a non-letter (no cut).
 */
export function isSafeCut(text: string, at: number): boolean {
  return (
    at > 0 &&
    at + 1 < text.length &&
    text.charCodeAt(at) === 0x20 &&
    LETTER.test(text.charAt(at - 1)) &&
    LETTER.test(text.charAt(at + 1))
  );
}

/**
 * Where {@link PrefixTokenCache} cuts `text`: the first safe cut at or after `minSegmentChars` from the
 * previous one, and so on. Cuts depend only on the text up to one character past them, so two prompts
 * sharing a prefix are cut alike within it.
 */
export function segmentCuts(text: string, minSegmentChars: number): number[] {
  const cuts: number[] = [];
  let from = minSegmentChars;
  while (from < text.length) {
    let at = text.indexOf(' ', from);
    while (at >= 0 && !isSafeCut(text, at)) at = text.indexOf(' ', at + 1);
    if (at < 0) break;
    cuts.push(at);
    from = at + minSegmentChars;
  }
  return cuts;
}

function append(out: number[], tokens: ArrayLike<number>): void {
  for (let i = 0; i < tokens.length; i++) out.push(tokens[i] as number);
}

/**
 * Tokenizes prompts through an LRU of segment tokens. A prompt is cut at {@link segmentCuts}; each
 * segment is keyed by a SHA-256 chain over the text before it and its own text, so a key names the
 * whole prefix. Leading segments found in the cache are reused, the others are tokenized (concurrently,
 * each once even when requests race) and stored; the text after the last cut is tokenized every time.
 */
export class PrefixTokenCache {
  readonly #encode: SegmentEncoder;
  readonly #maxTokens: number;
  readonly #minSegmentChars: number;
  readonly #entries = new Map<string, Uint32Array>();
  readonly #pending = new Map<string, Promise<Uint32Array>>();
  #tokens = 0;
  #hits = 0;
  #misses = 0;
  #reusedTokens = 0;

  constructor(encode: SegmentEncoder, options: PrefixTokenCacheOptions) {
    const minSegmentChars = options.minSegmentChars ?? 256;
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 0) {
      throw new RangeError(`maxTokens: expected an integer ≥ 0, got ${String(options.maxTokens)}`);
    }
    if (!Number.isInteger(minSegmentChars) || minSegmentChars < 1) {
      throw new RangeError(`minSegmentChars: expected an integer ≥ 1, got ${String(minSegmentChars)}`);
    }
    this.#encode = encode;
    this.#maxTokens = options.maxTokens;
    this.#minSegmentChars = minSegmentChars;
  }

  /** The token ids of `text`, equal to what the encoder gives for the whole text. */
  async encode(text: string): Promise<number[]> {
    if (this.#maxTokens === 0) return [...(await this.#encode(text))];
    const cuts = segmentCuts(text, this.#minSegmentChars);
    const parts: Array<Uint32Array | Promise<Uint32Array>> = [];
    let key = '';
    let start = 0;
    for (const end of cuts) {
      key = createHash('sha256').update(key).update(text.slice(start, end)).digest('base64');
      parts.push(this.#segment(key, text, start, end));
      start = end;
    }
    const tail = start < text.length ? this.#call(text.slice(start)) : [];
    const [segments, tailTokens] = await Promise.all([Promise.all(parts), tail]);
    const out: number[] = [];
    for (const tokens of segments) append(out, tokens);
    append(out, tailTokens);
    return out;
  }

  /** Counters and sizes. */
  stats(): PrefixTokenCacheStats {
    return { hits: this.#hits, misses: this.#misses, reusedTokens: this.#reusedTokens, entries: this.#entries.size, tokens: this.#tokens };
  }

  /** Drops every entry (counters are kept). */
  clear(): void {
    this.#entries.clear();
    this.#tokens = 0;
  }

  #segment(key: string, text: string, start: number, end: number): Uint32Array | Promise<Uint32Array> {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      // Map order is the LRU order: re-insert to mark as most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      this.#hits++;
      this.#reusedTokens += cached.length;
      return cached;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      this.#hits++;
      return pending.then((tokens) => {
        this.#reusedTokens += tokens.length;
        return tokens;
      });
    }
    this.#misses++;
    const promise = this.#call(text.slice(start, end)).then(
      (tokens) => {
        this.#pending.delete(key);
        const stored = Uint32Array.from(tokens);
        this.#store(key, stored);
        return stored;
      },
      (err: unknown) => {
        this.#pending.delete(key);
        throw err;
      },
    );
    this.#pending.set(key, promise);
    return promise;
  }

  /** The encoder's answer as a promise, a synchronous throw included (so no sibling rejection goes unhandled). */
  #call(text: string): Promise<readonly number[]> {
    try {
      return Promise.resolve(this.#encode(text));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  #store(key: string, tokens: Uint32Array): void {
    if (tokens.length > this.#maxTokens || this.#entries.has(key)) return;
    this.#entries.set(key, tokens);
    this.#tokens += tokens.length;
    for (const [oldest, old] of this.#entries) {
      if (this.#tokens <= this.#maxTokens) break;
      this.#entries.delete(oldest);
      this.#tokens -= old.length;
    }
  }
}
