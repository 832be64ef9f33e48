// A small Map-based KvBlockIndex for the event and ingestion tests, written to the contract in
// ../../index/types.ts so these tests do not depend on the real backends (being written in parallel).
import type { BlockKey, KeyType, KvBlockIndex, PodEntry } from '../../index/types.js';

function sameEntry(a: PodEntry, b: PodEntry): boolean {
  return a.pod === b.pod && a.tier === b.tier;
}

/** Unbounded in-memory KvBlockIndex with the upstream engine→request mapping rule; for tests only. */
export class MapKvBlockIndex implements KvBlockIndex {
  /** Request key → entries holding it. */
  readonly blocks = new Map<BlockKey, PodEntry[]>();
  /** Engine key → request keys, in the order they were mapped. */
  readonly engineToRequest = new Map<BlockKey, BlockKey[]>();
  /** Calls per method, so tests can tell a dropped event from an applied one. */
  readonly calls = { add: 0, evict: 0, clear: 0, getRequestKey: 0 };

  async lookup(requestKeys: readonly BlockKey[], pods?: ReadonlySet<string>): Promise<PodEntry[][]> {
    const out: PodEntry[][] = [];
    for (const key of requestKeys) {
      const holders = (this.blocks.get(key) ?? []).filter((e) => pods === undefined || pods.has(e.pod));
      if (holders.length === 0) break;
      out.push(holders);
    }
    return out;
  }

  async add(engineKeys: readonly BlockKey[] | null, requestKeys: readonly BlockKey[], entries: readonly PodEntry[]): Promise<void> {
    this.calls.add++;
    for (const key of requestKeys) {
      const holders = this.blocks.get(key) ?? [];
      for (const entry of entries) if (!holders.some((h) => sameEntry(h, entry))) holders.push({ ...entry });
      this.blocks.set(key, holders);
    }
    if (engineKeys === null || engineKeys.length === 0 || requestKeys.length === 0) return;
    const n = Math.max(engineKeys.length, requestKeys.length);
    for (let i = 0; i < n; i++) {
      const engineKey = engineKeys[Math.floor((i * engineKeys.length) / n)] as BlockKey;
      const requestKey = requestKeys[Math.floor((i * requestKeys.length) / n)] as BlockKey;
      const mapped = this.engineToRequest.get(engineKey) ?? [];
      if (!mapped.includes(requestKey)) mapped.push(requestKey);
      this.engineToRequest.set(engineKey, mapped);
    }
  }

  async evict(key: BlockKey, keyType: KeyType, entries: readonly PodEntry[]): Promise<void> {
    this.calls.evict++;
    const requestKeys = keyType === 'engine' ? (this.engineToRequest.get(key) ?? []) : [key];
    for (const requestKey of requestKeys) {
      const left = (this.blocks.get(requestKey) ?? []).filter((h) => !entries.some((e) => sameEntry(h, e)));
      if (left.length === 0) this.blocks.delete(requestKey);
      else this.blocks.set(requestKey, left);
    }
    // Upstream keeps the engine mapping while any of its request keys still has a holder.
    if (keyType === 'engine' && requestKeys.every((k) => !this.blocks.has(k))) this.engineToRequest.delete(key);
  }

  async getRequestKey(engineKey: BlockKey): Promise<BlockKey | null> {
    this.calls.getRequestKey++;
    const mapped = this.engineToRequest.get(engineKey);
    return mapped === undefined || mapped.length === 0 ? null : (mapped[mapped.length - 1] as BlockKey);
  }

  async clear(pod: string): Promise<void> {
    this.calls.clear++;
    for (const [key, holders] of this.blocks) {
      const left = holders.filter((h) => h.pod !== pod);
      if (left.length === 0) this.blocks.delete(key);
      else this.blocks.set(key, left);
    }
    for (const [engineKey, requestKeys] of this.engineToRequest) {
      if (requestKeys.every((k) => !this.blocks.has(k))) this.engineToRequest.delete(engineKey);
    }
  }

  async stats(): Promise<{ blocks: number; entries: number }> {
    let entries = 0;
    for (const holders of this.blocks.values()) entries += holders.length;
    return { blocks: this.blocks.size, entries };
  }

  async close(): Promise<void> {
    this.blocks.clear();
    this.engineToRequest.clear();
  }
}
