/** A growable ring-buffer deque: O(1) at both ends, no per-operation allocation. */
export class Deque<T> {
  #buf: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #size = 0;

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  /** Adds at the back. */
  push(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) % this.#buf.length] = item;
    this.#size++;
  }

  /** Adds at the front. */
  unshift(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1 + this.#buf.length) % this.#buf.length;
    this.#buf[this.#head] = item;
    this.#size++;
  }

  /** The front item. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#buf[this.#head];
  }

  /** Removes and returns the front item. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#buf.length;
    this.#size--;
    return item;
  }

  /** Removes everything. */
  clear(): void {
    this.#buf = new Array<T | undefined>(16);
    this.#head = 0;
    this.#size = 0;
  }

  /** Front-to-back iteration. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#buf[(this.#head + i) % this.#buf.length] as T;
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#buf.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = this.#buf[(this.#head + i) % this.#buf.length];
    this.#buf = next;
    this.#head = 0;
  }
}

function ignoreIndex(): void {
  // Heaps that never remove from the middle do not track positions.
}

/**
 * A binary min-heap. `setIndex` (optional) is told every item's position so an item can be
 * removed in O(log n) by {@link BinaryHeap.remove}; it receives -1 when the item leaves.
 */
export class BinaryHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;
  readonly #setIndex: (item: T, index: number) => void;

  constructor(less: (a: T, b: T) => boolean, setIndex?: (item: T, index: number) => void) {
    this.#less = less;
    this.#setIndex = setIndex ?? ignoreIndex;
  }

  /** Items held. */
  get size(): number {
    return this.#items.length;
  }

  /** The least item. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item. */
  push(item: T): void {
    this.#items.push(item);
    this.#up(this.#items.length - 1);
  }

  /** Removes and returns the least item. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top === undefined) return undefined;
    this.#removeAt(0);
    return top;
  }

  /** Removes the item at `index` (as last reported through `setIndex`). */
  remove(index: number): void {
    if (index < 0 || index >= this.#items.length) return;
    this.#removeAt(index);
  }

  /** Removes everything. */
  clear(): void {
    for (const item of this.#items) this.#setIndex(item, -1);
    this.#items.length = 0;
  }

  /** Iteration in heap (not sorted) order. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items[Symbol.iterator]();
  }

  #removeAt(index: number): void {
    const items = this.#items;
    const removed = items[index] as T;
    const last = items.pop() as T;
    this.#setIndex(removed, -1);
    if (index < items.length) {
      items[index] = last;
      this.#setIndex(last, index);
      this.#down(index);
      this.#up(index);
    }
  }

  #up(index: number): void {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const p = items[parent] as T;
      if (!this.#less(item, p)) break;
      items[index] = p;
      this.#setIndex(p, index);
      index = parent;
    }
    items[index] = item;
    this.#setIndex(item, index);
  }

  #down(index: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[index] as T;
    for (;;) {
      const l = 2 * index + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.#less(items[r] as T, items[l] as T) ? r : l;
      const c = items[child] as T;
      if (!this.#less(c, item)) break;
      items[index] = c;
      this.#setIndex(c, index);
      index = child;
    }
    items[index] = item;
    this.#setIndex(item, index);
  }
}
