// The approximate prefix index: which endpoints are believed to hold which block hashes, with one
// LRU per endpoint. It can hold millions of (block, endpoint) entries, so it has no per-entry
// objects: every entry is a node number into parallel typed arrays, endpoints are interned to small
// integers, and the hash table is open addressing over node numbers (the key is read from the node).

const NONE = -1;
const MIN_NODES = 1024;
const MIN_TABLE = 1024;
/** Owners are stored in a Uint16Array. */
const MAX_ENDPOINTS = 0x10000;

/** Sizes of the index, for metrics, debugging and the memory benchmark. */
export interface PrefixIndexStats {
  /** Endpoints with an LRU. */
  readonly endpoints: number;
  /** (block, endpoint) entries. */
  readonly entries: number;
  /** Distinct block hashes. */
  readonly distinctHashes: number;
  /** Bytes held by the typed arrays (capacity, not just what is used). */
  readonly typedArrayBytes: number;
}

/**
 * Block hash → endpoints, with a per-endpoint LRU of bounded capacity: when an endpoint's LRU
 * evicts a block, that endpoint no longer holds it (upstream's indexer). Hashes are passed as
 * 32-bit halves (`[lo0, hi0, lo1, hi1, …]`).
 *
 * Per entry it stores the hash (8 bytes), the LRU links (8), the next holder of the same hash (4)
 * and the owner (2): 22 bytes, plus a 4-byte table slot per distinct hash at 37–75 % load.
 */
export class PrefixIndex {
  // Node pool. `chain` doubles as the free-list link of free nodes.
  #hashLo = new Uint32Array(MIN_NODES);
  #hashHi = new Uint32Array(MIN_NODES);
  #lruPrev = new Int32Array(MIN_NODES);
  #lruNext = new Int32Array(MIN_NODES);
  #chain = new Int32Array(MIN_NODES);
  #owner = new Uint16Array(MIN_NODES);
  #nodeTop = 0;
  #freeNode = NONE;
  #liveNodes = 0;

  // Hash table: slot → first node of the hash's holder chain, NONE when empty.
  #table = new Int32Array(MIN_TABLE).fill(NONE);
  #mask = MIN_TABLE - 1;
  #distinct = 0;

  // Endpoints, interned to slots.
  readonly #slotById = new Map<string, number>();
  #idBySlot: (string | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  #lruHead = new Int32Array(16).fill(NONE); // most recently used
  #lruTail = new Int32Array(16).fill(NONE); // least recently used
  #size = new Int32Array(16);
  #capacity = new Int32Array(16);
  #lastSeen = new Float64Array(16);
  #counts = new Int32Array(16);

  /**
   * Records that `endpointId` now holds the given blocks, in order (the last becomes its most
   * recently used), evicting its least recently used blocks beyond `capacity` (at least 1).
   */
  add(halves: Uint32Array, count: number, endpointId: string, capacity: number, now: number): void {
    const slot = this.#intern(endpointId);
    this.#capacity[slot] = Math.max(1, Math.floor(capacity));
    this.#lastSeen[slot] = now;
    for (let i = 0; i < count; i++) {
      const lo = halves[2 * i] as number;
      const hi = halves[2 * i + 1] as number;
      const at = this.#probe(lo, hi);
      if (at >= 0) {
        const head = this.#table[at] as number;
        let n = head;
        while (n !== NONE && this.#owner[n] !== slot) n = this.#chain[n] as number;
        if (n !== NONE) {
          this.#moveToFront(slot, n);
          continue;
        }
        n = this.#allocNode(lo, hi, slot);
        this.#chain[n] = head;
        this.#table[at] = n;
        this.#pushFront(slot, n);
      } else {
        const n = this.#allocNode(lo, hi, slot);
        this.#chain[n] = NONE;
        this.#table[~at] = n;
        this.#distinct++;
        this.#pushFront(slot, n);
        if (this.#distinct * 4 > this.#table.length * 3) this.#growTable();
      }
      this.#size[slot] = (this.#size[slot] as number) + 1;
      while ((this.#size[slot] as number) > (this.#capacity[slot] as number)) this.#evictOldest(slot);
    }
  }

  /**
   * Walks each run of blocks (`runEnds` are exclusive ends; each run starts where the previous
   * ended) from its first block, counting for every endpoint the blocks it holds, and stops a run
   * at the first block nobody holds. Returns, for each of `endpointIds`, its count summed over runs.
   */
  matchCounts(halves: Uint32Array, runEnds: readonly number[], endpointIds: readonly string[]): number[] {
    const counts = this.#counts;
    let start = 0;
    for (const end of runEnds) {
      for (let i = start; i < end; i++) {
        const at = this.#probe(halves[2 * i] as number, halves[2 * i + 1] as number);
        if (at < 0) break;
        for (let n = this.#table[at] as number; n !== NONE; n = this.#chain[n] as number) {
          const owner = this.#owner[n] as number;
          counts[owner] = (counts[owner] as number) + 1;
        }
      }
      start = end;
    }
    const out = endpointIds.map((id) => {
      const slot = this.#slotById.get(id);
      return slot === undefined ? 0 : (counts[slot] as number);
    });
    counts.fill(0, 0, this.#idBySlot.length);
    return out;
  }

  /** Whether `endpointId` holds the block with these hash halves. */
  holds(endpointId: string, lo: number, hi: number): boolean {
    const slot = this.#slotById.get(endpointId);
    const at = this.#probe(lo >>> 0, hi >>> 0);
    if (slot === undefined || at < 0) return false;
    for (let n = this.#table[at] as number; n !== NONE; n = this.#chain[n] as number) if (this.#owner[n] === slot) return true;
    return false;
  }

  /** Number of blocks an endpoint holds (0 when unknown). */
  blockCount(endpointId: string): number {
    const slot = this.#slotById.get(endpointId);
    return slot === undefined ? 0 : (this.#size[slot] as number);
  }

  /** Endpoints that have an LRU. */
  endpointIds(): string[] {
    return [...this.#slotById.keys()];
  }

  /** Marks an endpoint as alive at `now` (no-op when it holds nothing). */
  touch(endpointId: string, now: number): void {
    const slot = this.#slotById.get(endpointId);
    if (slot !== undefined) this.#lastSeen[slot] = now;
  }

  /** Drops every endpoint not touched (or added to) since `cutoff`; returns the ids removed. */
  removeNotSeenSince(cutoff: number): string[] {
    const removed: string[] = [];
    for (const [id, slot] of this.#slotById) if ((this.#lastSeen[slot] as number) < cutoff) removed.push(id);
    for (const id of removed) this.removeEndpoint(id);
    return removed;
  }

  /** Forgets an endpoint and every block it holds. */
  removeEndpoint(endpointId: string): void {
    const slot = this.#slotById.get(endpointId);
    if (slot === undefined) return;
    let n = this.#lruHead[slot] as number;
    while (n !== NONE) {
      const next = this.#lruNext[n] as number;
      this.#unchain(n);
      this.#release(n);
      n = next;
    }
    this.#lruHead[slot] = NONE;
    this.#lruTail[slot] = NONE;
    this.#size[slot] = 0;
    this.#slotById.delete(endpointId);
    this.#idBySlot[slot] = undefined;
    this.#freeSlots.push(slot);
  }

  /** Current sizes. */
  stats(): PrefixIndexStats {
    const arrays = [this.#hashLo, this.#hashHi, this.#lruPrev, this.#lruNext, this.#chain, this.#owner, this.#table];
    const perEndpoint = [this.#lruHead, this.#lruTail, this.#size, this.#capacity, this.#lastSeen, this.#counts];
    let bytes = 0;
    for (const a of [...arrays, ...perEndpoint]) bytes += a.byteLength;
    return { endpoints: this.#slotById.size, entries: this.#liveNodes, distinctHashes: this.#distinct, typedArrayBytes: bytes };
  }

  #intern(endpointId: string): number {
    const known = this.#slotById.get(endpointId);
    if (known !== undefined) return known;
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#idBySlot.length;
      if (slot >= MAX_ENDPOINTS) throw new RangeError(`prefix index: more than ${MAX_ENDPOINTS} endpoints`);
      this.#idBySlot.push(undefined);
      if (slot >= this.#lruHead.length) this.#growEndpoints();
    }
    this.#idBySlot[slot] = endpointId;
    this.#slotById.set(endpointId, slot);
    this.#lruHead[slot] = NONE;
    this.#lruTail[slot] = NONE;
    this.#size[slot] = 0;
    return slot;
  }

  #growEndpoints(): void {
    const n = this.#lruHead.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T, fill: number): T => {
      const b = make(n).fill(fill) as T;
      b.set(a);
      return b;
    };
    this.#lruHead = grow(this.#lruHead, (k) => new Int32Array(k), NONE);
    this.#lruTail = grow(this.#lruTail, (k) => new Int32Array(k), NONE);
    this.#size = grow(this.#size, (k) => new Int32Array(k), 0);
    this.#capacity = grow(this.#capacity, (k) => new Int32Array(k), 0);
    this.#lastSeen = grow(this.#lastSeen, (k) => new Float64Array(k), 0);
    this.#counts = new Int32Array(n);
  }

  /** Slot index holding the hash (≥ 0), or `~slot` of the empty slot where it would go (< 0). */
  #probe(lo: number, hi: number): number {
    const table = this.#table;
    const mask = this.#mask;
    // Block hashes are XXH64 outputs: their bits are already uniform.
    let i = (lo ^ hi) & mask;
    for (;;) {
      const n = table[i] as number;
      if (n === NONE) return ~i;
      if (this.#hashLo[n] === lo && this.#hashHi[n] === hi) return i;
      i = (i + 1) & mask;
    }
  }

  #growTable(): void {
    const old = this.#table;
    this.#table = new Int32Array(old.length * 2).fill(NONE);
    this.#mask = this.#table.length - 1;
    for (const n of old) if (n !== NONE) this.#table[~this.#probe(this.#hashLo[n] as number, this.#hashHi[n] as number)] = n;
  }

  /** Empties a table slot, shifting later entries of the probe run back (no tombstones). */
  #clearSlot(at: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = at;
    let j = at;
    table[hole] = NONE;
    for (;;) {
      j = (j + 1) & mask;
      const n = table[j] as number;
      if (n === NONE) return;
      const home = ((this.#hashLo[n] as number) ^ (this.#hashHi[n] as number)) & mask;
      // Move the entry back unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      table[hole] = n;
      table[j] = NONE;
      hole = j;
    }
  }

  #allocNode(lo: number, hi: number, slot: number): number {
    let n = this.#freeNode;
    if (n !== NONE) {
      this.#freeNode = this.#chain[n] as number;
    } else {
      if (this.#nodeTop === this.#hashLo.length) this.#growNodes();
      n = this.#nodeTop++;
    }
    this.#hashLo[n] = lo;
    this.#hashHi[n] = hi;
    this.#owner[n] = slot;
    this.#liveNodes++;
    return n;
  }

  #release(n: number): void {
    this.#chain[n] = this.#freeNode;
    this.#freeNode = n;
    this.#liveNodes--;
  }

  #growNodes(): void {
    // ×1.5 rather than ×2: the node arrays are most of the index, and slack is memory.
    const size = Math.max(MIN_NODES, Math.ceil(this.#hashLo.length * 1.5));
    const grow = <T extends Uint32Array | Int32Array | Uint16Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#hashLo = grow(this.#hashLo, (k) => new Uint32Array(k));
    this.#hashHi = grow(this.#hashHi, (k) => new Uint32Array(k));
    this.#lruPrev = grow(this.#lruPrev, (k) => new Int32Array(k));
    this.#lruNext = grow(this.#lruNext, (k) => new Int32Array(k));
    this.#chain = grow(this.#chain, (k) => new Int32Array(k));
    this.#owner = grow(this.#owner, (k) => new Uint16Array(k));
  }

  /** Removes a node from its hash's holder chain (and the hash from the table when it was the last holder). */
  #unchain(n: number): void {
    const at = this.#probe(this.#hashLo[n] as number, this.#hashHi[n] as number);
    if (at < 0) return;
    const head = this.#table[at] as number;
    if (head === n) {
      const next = this.#chain[n] as number;
      if (next === NONE) {
        this.#clearSlot(at);
        this.#distinct--;
      } else {
        this.#table[at] = next;
      }
      return;
    }
    let p = head;
    while (p !== NONE && this.#chain[p] !== n) p = this.#chain[p] as number;
    if (p !== NONE) this.#chain[p] = this.#chain[n] as number;
  }

  #pushFront(slot: number, n: number): void {
    const head = this.#lruHead[slot] as number;
    this.#lruPrev[n] = NONE;
    this.#lruNext[n] = head;
    if (head !== NONE) this.#lruPrev[head] = n;
    else this.#lruTail[slot] = n;
    this.#lruHead[slot] = n;
  }

  #unlink(slot: number, n: number): void {
    const p = this.#lruPrev[n] as number;
    const q = this.#lruNext[n] as number;
    if (p !== NONE) this.#lruNext[p] = q;
    else this.#lruHead[slot] = q;
    if (q !== NONE) this.#lruPrev[q] = p;
    else this.#lruTail[slot] = p;
  }

  #moveToFront(slot: number, n: number): void {
    if (this.#lruHead[slot] === n) return;
    this.#unlink(slot, n);
    this.#pushFront(slot, n);
  }

  #evictOldest(slot: number): void {
    const n = this.#lruTail[slot] as number;
    this.#unlink(slot, n);
    this.#unchain(n);
    this.#release(n);
    this.#size[slot] = (this.#size[slot] as number) - 1;
  }
}
