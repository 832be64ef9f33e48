import type { Tokenizer } from '@llmd/tokenizer';

// Sentences of the `random` response mode: plain ASCII so every token decodes to whole characters.
const SENTENCES = [
  'The scheduler picks the replica that already holds the longest prefix of the prompt.',
  'Continuous batching lets new requests join the running batch at every engine step.',
  'A full KV cache forces the engine to preempt the most recent request and recompute it later.',
  'Prefill is limited by compute, while decode is limited by memory bandwidth.',
  'Routing a returning conversation to the same server turns most of its prompt into cache hits.',
  'Queue depth and cache usage together say more about load than either does alone.',
  'Disaggregated serving runs the prompt on one pool of servers and the generation on another.',
  'The autoscaler adds a replica before latency degrades and removes one when the load falls.',
  'Every block of sixteen tokens is hashed together with the hash of the block before it.',
  'A LoRA adapter changes the hashes of every block, so its cache entries never mix with the base model.',
  'Fair queueing keeps one busy tenant from starving the others when the pool is saturated.',
  'Time to first token grows with the uncached part of the prompt.',
  'Inter-token latency grows slowly with the batch size and the context the batch reads.',
  'Speculative entries let the router remember where it just sent a prompt before the events arrive.',
  'The model server publishes an event whenever a block is stored in or removed from its cache.',
  'Sticky routing pays off until the favourite server saturates; then load decides.',
];

/**
 * The output tokens of `random` mode: a long token stream of shuffled sentences, tokenized once per
 * server, from which each request takes a slice. Per-token text is precomputed so streaming costs a
 * string concatenation per step.
 */
export class RandomCorpus {
  readonly ids: number[];
  readonly #pieces: string[];
  /** Positions where a sentence begins, so responses start at the start of a sentence. */
  readonly #starts: number[];

  constructor(tokenizer: Tokenizer, random: () => number, minTokens = 8192) {
    const order: string[] = [];
    let text = '';
    let ids: number[] = [];
    while (ids.length < minTokens) {
      for (let i = 0; i < 64; i++) order.push(SENTENCES[Math.floor(random() * SENTENCES.length)] as string);
      text = order.join(' ');
      ids = tokenizer.encode(text, { addSpecialTokens: false });
    }
    this.ids = ids;
    this.#pieces = ids.map((id) => tokenizer.decode([id]));
    this.#starts = [0];
    for (let i = 1; i < ids.length; i++) if ((this.#pieces[i - 1] as string).endsWith('.')) this.#starts.push(i);
  }

  /** `count` tokens starting at a random offset (wrapping around), with their text. */
  take(count: number, random: () => number): OutputText {
    const n = this.ids.length;
    const start = this.#starts[Math.floor(random() * this.#starts.length)] as number;
    const ids = new Array<number>(count);
    for (let i = 0; i < count; i++) ids[i] = this.ids[(start + i) % n] as number;
    const pieces = this.#pieces;
    return {
      ids,
      slice(from, to) {
        let s = '';
        for (let i = from; i < to; i++) s += pieces[(start + i) % n];
        return s;
      },
    };
  }
}

/** How a request's output text is produced piece by piece as the engine releases tokens. */
export interface OutputText {
  /** Token ids the engine will generate. */
  readonly ids: readonly number[];
  /** Text of tokens `[from, to)`. */
  slice(from: number, to: number): string;
}

/** Output text decoded with the tokenizer (echo mode: the tokens decode back to the prompt text). */
export function decodedOutput(tokenizer: Tokenizer, ids: readonly number[]): OutputText {
  return { ids, slice: (from, to) => (to > from ? tokenizer.decode(ids.slice(from, to)) : '') };
}

/**
 * How many tokens a random-mode response has when the client did not insist (`ignore_eos`):
 * a draw that favours medium lengths, capped by `max`.
 */
export function randomResponseLength(max: number, random: () => number): number {
  if (max <= 1) return Math.max(0, max);
  // Mean of two uniforms: a triangular distribution over [1, max] peaking in the middle.
  const t = (random() + random()) / 2;
  return Math.max(1, Math.min(max, Math.round(1 + t * (max - 1))));
}
