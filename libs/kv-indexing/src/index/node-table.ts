// An open-addressing hash table from a 64-bit key to a node number. The key is not stored in the
// table but read from the owner's node arrays (two Uint32Array halves), so a slot costs 4 bytes:
// 27 bits of node number and 4 bits of the key's hash, which spare most probes a read of the node
// arrays. Linear probing with backward-shift deletion keeps probes short without tombstones, as
// blocks are removed as often as they are added. The table grows by half when 75 % full, so it is
// never under half full: doubling would leave a just-grown table 37.5 % full and cost 11 bytes a key.

/** The "no node" value of slots and links. */
export const NONE = -1;

/** Node numbers are 27 bits; the 4 bits above them hold a tag from the key's hash. */
export const MAX_NODES = 2 ** 27 - 1;
const NODE_MASK = MAX_NODES;
const TAG_SHIFT = 27;
const MIN_SLOTS = 1024;

/** A well-mixed 32-bit hash of a key's halves (murmur3's finaliser): tests use small sequential keys. */
export function keyHash(lo: number, hi: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Slots of node numbers keyed by the 64-bit key each node holds; between 50 % and 75 % full. */
export class NodeTable {
  #slots = new Int32Array(MIN_SLOTS).fill(NONE);
  #size = 0;

  /** The node holding key (`lo`, `hi`), or NONE. */
  find(lo: number, hi: number, keyLo: Uint32Array, keyHi: Uint32Array): number {
    const slots = this.#slots;
    const length = slots.length;
    const h = keyHash(lo, hi);
    const tag = h & 15;
    for (let s = home(h, length); ; s = s + 1 === length ? 0 : s + 1) {
      const slot = slots[s] as number;
      if (slot === NONE) return NONE;
      const n = slot & NODE_MASK;
      if (slot >>> TAG_SHIFT === tag && keyLo[n] === lo && keyHi[n] === hi) return n;
    }
  }

  /** Adds `node`, whose key (`lo`, `hi`) must not be in the table yet. */
  insert(node: number, lo: number, hi: number, keyLo: Uint32Array, keyHi: Uint32Array): void {
    if ((this.#size + 1) * 4 > this.#slots.length * 3) this.#rehash(Math.ceil(this.#slots.length * 1.5), keyLo, keyHi);
    this.#place(node, keyHash(lo, hi));
    this.#size++;
  }

  /** Removes `node`, which must be in the table under key (`lo`, `hi`). */
  remove(node: number, lo: number, hi: number, keyLo: Uint32Array, keyHi: Uint32Array): void {
    const slots = this.#slots;
    const length = slots.length;
    let hole = home(keyHash(lo, hi), length);
    // NONE & NODE_MASK is MAX_NODES, never a node number, so empty slots never match.
    while (((slots[hole] as number) & NODE_MASK) !== node) hole = hole + 1 === length ? 0 : hole + 1;
    // Pull later members of the probe run back into the hole unless their home slot lies
    // cyclically in (hole, j]: moving those would put them before where a probe starts.
    for (let j = hole + 1 === length ? 0 : hole + 1; ; j = j + 1 === length ? 0 : j + 1) {
      const slot = slots[j] as number;
      if (slot === NONE) break;
      const n = slot & NODE_MASK;
      const h = home(keyHash(keyLo[n] as number, keyHi[n] as number), length);
      const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (stays) continue;
      slots[hole] = slot;
      hole = j;
    }
    slots[hole] = NONE;
    this.#size--;
  }

  /** Bytes held by the slot array. */
  get bytes(): number {
    return this.#slots.byteLength;
  }

  #place(node: number, h: number): void {
    const slots = this.#slots;
    const length = slots.length;
    let s = home(h, length);
    while (slots[s] !== NONE) s = s + 1 === length ? 0 : s + 1;
    slots[s] = ((h & 15) << TAG_SHIFT) | node;
  }

  #rehash(length: number, keyLo: Uint32Array, keyHi: Uint32Array): void {
    const old = this.#slots;
    this.#slots = new Int32Array(length).fill(NONE);
    for (const slot of old) {
      if (slot === NONE) continue;
      const n = slot & NODE_MASK;
      this.#place(n, keyHash(keyLo[n] as number, keyHi[n] as number));
    }
  }
}

/**
 * The hash's home slot for any table length (not only powers of two): the hash as a fraction of
 * 2^32 scaled to the length. Exact enough: the product's rounding error is far below one slot.
 */
function home(h: number, length: number): number {
  return Math.floor((h / 4294967296) * length);
}
