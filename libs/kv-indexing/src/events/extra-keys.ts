// vLLM's per-block `extra_keys` turned into the extras llm-d hashes into request keys. vLLM builds each
// block's tuple as lora_extra_keys + mm_extra_keys + cache_salt_keys + prompt_embeds_keys
// (kv_cache_utils.generate_block_hash_extra_keys); llm-d hashes multimodal ids and the cache salt as
// `{ Hash: "<id>" }` objects, and folds the LoRA name into the root key instead.

/** One extra feature of a request-key block, CBOR-encoded as the Go struct `MMHash{Hash}` upstream. */
export interface BlockExtraHash {
  readonly Hash: string;
}

/** Extras per indexer block (null: text only), or null when no block has any. */
export type BlockExtras = (BlockExtraHash[] | null)[] | null;

/**
 * The ids of one engine block's extra keys: bare strings (vLLM ≥ 0.18 multimodal ids, cache salt) and
 * the first element of `[id, offset]` tuples (older multimodal keys). A leading LoRA name is dropped,
 * since it already replaced the model in the root key; hashing it again would make every LoRA block
 * differ from what the read side computes (llm-d-router#2927). Numbers (old LoRA ids) and byte strings
 * (prompt-embeds digests, which the read side cannot reproduce) are skipped.
 */
export function engineBlockIds(items: readonly unknown[] | null | undefined, loraName: string | null): string[] {
  if (!items || items.length === 0) return [];
  const start = loraName !== null && loraName !== '' && items[0] === loraName ? 1 : 0;
  const ids: string[] = [];
  for (let i = start; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'string') ids.push(item);
    else if (Array.isArray(item) && typeof item[0] === 'string') ids.push(item[0]);
  }
  return ids;
}

/** Options of {@link realignExtraKeys}. */
export interface RealignExtraKeysInput {
  /** The event's `extra_keys`: one entry per engine block, or null. */
  readonly extraKeys: readonly (readonly unknown[] | null)[] | null | undefined;
  /** The event's LoRA name, stripped from the front of each block's keys. */
  readonly loraName: string | null;
  /** Tokens per engine block (the event's `block_size`). */
  readonly engineBlockSize: number;
  /** Tokens per indexer block. */
  readonly blockSize: number;
  /** How many indexer blocks the event's tokens fill. */
  readonly blockCount: number;
  /** True when the event's first block starts the sequence (no parent): only then can it carry a cache salt. */
  readonly startsSequence: boolean;
}

/**
 * Extras per indexer block. With equal block sizes each engine block's ids pass through in vLLM's order
 * (multimodal ids, then the salt on block 0), which is what the read side computes. When the sizes
 * differ, an indexer block takes the ids of every engine block its tokens overlap, each id once, in
 * first-seen order; the cache salt stays on indexer block 0 only, after its multimodal ids. The salt is
 * recognised as the last bare string of engine block 0 that engine block 1 does not repeat (multimodal
 * ids of an item spanning a block boundary repeat; the salt never does).
 */
export function realignExtraKeys(input: RealignExtraKeysInput): BlockExtras {
  const { extraKeys, loraName, engineBlockSize, blockSize, blockCount } = input;
  if (!extraKeys || extraKeys.length === 0 || blockCount === 0) return null;
  const engineIds = extraKeys.map((items) => engineBlockIds(items, loraName));
  if (engineIds.every((ids) => ids.length === 0)) return null;

  const out: (BlockExtraHash[] | null)[] = new Array(blockCount).fill(null);
  if (engineBlockSize === blockSize) {
    for (let j = 0; j < blockCount && j < engineIds.length; j++) {
      const ids = engineIds[j] as string[];
      out[j] = ids.length === 0 ? null : ids.map((id) => ({ Hash: id }));
    }
    return out;
  }

  let salt: string | null = null;
  if (input.startsSequence) {
    const first = extraKeys[0] ?? null;
    const next = new Set(engineIds[1] ?? []);
    const start = first !== null && loraName !== null && loraName !== '' && first[0] === loraName ? 1 : 0;
    // Walk back over trailing prompt-embeds digests to the last string; a tuple there means no salt.
    for (let i = (first?.length ?? 0) - 1; first !== null && i >= start; i--) {
      const item = first[i];
      if (Array.isArray(item)) break;
      if (typeof item !== 'string') continue;
      if (!next.has(item)) salt = item;
      break;
    }
  }

  for (let j = 0; j < blockCount; j++) {
    const from = j * blockSize;
    const to = from + blockSize;
    const firstEngine = Math.floor(from / engineBlockSize);
    const lastEngine = Math.min(Math.ceil(to / engineBlockSize), engineIds.length) - 1;
    const seen = new Set<string>();
    const hashes: BlockExtraHash[] = [];
    for (let k = firstEngine; k <= lastEngine; k++) {
      const ids = engineIds[k] as string[];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string;
        // The salt is the last id of engine block 0; any other occurrence of the same text is an id.
        if (salt !== null && k === 0 && i === ids.length - 1 && id === salt) continue;
        if (seen.has(id)) continue;
        seen.add(id);
        hashes.push({ Hash: id });
      }
    }
    if (j === 0 && salt !== null) hashes.push({ Hash: salt });
    out[j] = hashes.length === 0 ? null : hashes;
  }
  return out;
}
