// Reference counts keyed by a uint64 block hash, in typed arrays: a tracked hash costs 12 bytes a
// slot and no objects, where a Map from a string or bigint key costs an entry object and a key.
// Open addressing with linear probing and backward-shift deletion (no tombstones: hashes leave as
// often as they come).

import { keyHash } from '../index/node-table.js';

const MIN_SLOTS = 64;
const EMPTY = 0;

// One 64-bit word seen as two 32-bit halves: splits a bigint without allocating.
const word64 = new BigUint64Array(1);
const halves = new Uint32Array(word64.buffer);

/** uint64 hash → positive count. A count of 0 marks an empty slot. */
export class RefCountTable {
  #lo = new Uint32Array(MIN_SLOTS);
  #hi = new Uint32Array(MIN_SLOTS);
  #count = new Int32Array(MIN_SLOTS);
  #size = 0;

  /** Number of hashes tracked. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the slot arrays. */
  get bytes(): number {
    return this.#lo.byteLength + this.#hi.byteLength + this.#count.byteLength;
  }

  /** Adds one reference to `hash` (a uint64; larger values are taken modulo 2^64). */
  increment(hash: bigint): void {
    word64[0] = hash;
    const lo = halves[0] as number;
    const hi = halves[1] as number;
    const s = this.#slotOf(lo, hi);
    if ((this.#count[s] as number) !== EMPTY) {
      this.#count[s] = (this.#count[s] as number) + 1;
      return;
    }
    if ((this.#size + 1) * 4 > this.#count.length * 3) {
      this.#rehash(this.#count.length * 2);
      this.increment(hash);
      return;
    }
    this.#lo[s] = lo;
    this.#hi[s] = hi;
    this.#count[s] = 1;
    this.#size++;
  }

  /**
   * Releases one reference to `hash`. Returns true when none is left (the count reached zero, or the
   * hash was never tracked), false while other references remain.
   */
  decrement(hash: bigint): boolean {
    word64[0] = hash;
    const s = this.#slotOf(halves[0] as number, halves[1] as number);
    const count = this.#count[s] as number;
    if (count === EMPTY) return true;
    if (count > 1) {
      this.#count[s] = count - 1;
      return false;
    }
    this.#delete(s);
    return true;
  }

  // The slot holding (lo, hi), or the empty slot where it would go.
  #slotOf(lo: number, hi: number): number {
    const mask = this.#count.length - 1;
    for (let s = keyHash(lo, hi) & mask; ; s = (s + 1) & mask) {
      if ((this.#count[s] as number) === EMPTY) return s;
      if (this.#lo[s] === lo && this.#hi[s] === hi) return s;
    }
  }

  #delete(slot: number): void {
    const mask = this.#count.length - 1;
    let hole = slot;
    // Pull later members of the probe run back into the hole unless their home lies cyclically in (hole, j].
    for (let j = (hole + 1) & mask; (this.#count[j] as number) !== EMPTY; j = (j + 1) & mask) {
      const home = keyHash(this.#lo[j] as number, this.#hi[j] as number) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.#lo[hole] = this.#lo[j] as number;
      this.#hi[hole] = this.#hi[j] as number;
      this.#count[hole] = this.#count[j] as number;
      hole = j;
    }
    this.#count[hole] = EMPTY;
    this.#size--;
  }

  #rehash(length: number): void {
    const lo = this.#lo;
    const hi = this.#hi;
    const count = this.#count;
    this.#lo = new Uint32Array(length);
    this.#hi = new Uint32Array(length);
    this.#count = new Int32Array(length);
    for (let i = 0; i < count.length; i++) {
      if ((count[i] as number) === EMPTY) continue;
      const s = this.#slotOf(lo[i] as number, hi[i] as number);
      this.#lo[s] = lo[i] as number;
      this.#hi[s] = hi[i] as number;
      this.#count[s] = count[i] as number;
    }
  }
}
