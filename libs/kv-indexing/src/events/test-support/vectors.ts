// The recorded vLLM BlockStored events of the shared vectors, as typed KvEventBatch values.
import type { BlockStored, KvEventBatch } from '@llmd/kv-cache';
// Test-only use of the shared vectors reader; the module-boundary rule does not exempt test files yet.
import { readVector } from '@llmd/testing';

/** One recorded event file (`kvcm_kv_event_*.json`). */
interface RecordedEvent {
  model_name: string;
  lora_name: string | null;
  block_hashes: (number | bigint)[];
  parent_block_hash: number | bigint | null;
  token_ids: number[];
  block_size: number;
  medium: string | null;
}

/** The model the recorded events were served with. */
export const RECORDED_MODEL = 'Qwen/Qwen3-0.6B';

/** A recorded event, with hashes as bigint (the JSON reader keeps small ones as numbers). */
export interface RecordedStore {
  readonly event: BlockStored;
  readonly tokens: number[];
  readonly hashes: bigint[];
}

function load(file: string): RecordedStore {
  const raw = readVector<RecordedEvent>(file);
  const hashes = raw.block_hashes.map((h) => BigInt(h));
  const event: BlockStored = {
    type: 'BlockStored',
    blockHashes: hashes,
    parentBlockHash: raw.parent_block_hash === null ? null : BigInt(raw.parent_block_hash),
    tokenIds: raw.token_ids,
    blockSize: raw.block_size,
    loraId: null,
    medium: raw.medium,
    loraName: raw.lora_name,
  };
  return { event, tokens: raw.token_ids, hashes };
}

/** The base recording: 400 tokens, 25 blocks of 16, medium GPU, no LoRA. */
export function recordedBase(): RecordedStore {
  return load('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
}

/** The same prompt through the LoRA adapter "Alice", with vLLM's per-block `extra_keys = ["Alice"]` added. */
export function recordedLora(): RecordedStore {
  const store = load('kvcm_kv_event_lora_alice_qwen3-0.6b_seed42.json');
  const name = store.event.loraName as string;
  return { ...store, event: { ...store.event, extraKeys: store.hashes.map(() => [name]) } };
}

/** A batch of the given events, stamped now. */
export function batchOf(...events: KvEventBatch['events']): KvEventBatch {
  return { ts: Date.now() / 1000, events, dataParallelRank: null };
}
