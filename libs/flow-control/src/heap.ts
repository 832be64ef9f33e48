/** An element that remembers where it sits in an {@link IndexedHeap} (-1 when in none). */
export interface HeapSlot {
  heapIndex: number;
}

/**
 * A binary min-heap under `compare` whose elements know their position, so one can leave from
 * the middle in O(log n): a request whose client went away or whose TTL ran out leaves its queue
 * at once instead of lingering until it reaches the head.
 */
export class IndexedHeap<T extends HeapSlot> {
  readonly #items: T[] = [];
  readonly #compare: (a: T, b: T) => number;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  /** Number of elements. */
  get size(): number {
    return this.#items.length;
  }

  /** The smallest element, or null. */
  peek(): T | null {
    return this.#items[0] ?? null;
  }

  /** Adds an element that is in no heap. */
  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Removes an element of this heap; false when it is not in it. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || i >= this.#items.length || this.#items[i] !== item) return false;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last !== item) {
      this.#items[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    return true;
  }

  /** Every element, in no particular order. */
  values(): readonly T[] {
    return this.#items;
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (this.#compare(item, p) >= 0) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.#compare(items[right] as T, items[left] as T) < 0) child = right;
      const c = items[child] as T;
      if (this.#compare(c, item) >= 0) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
