import { describe, expect, it } from 'vitest';
import { BinaryHeap, Deque } from './queues.js';

describe('Deque', () => {
  it('keeps order at both ends across growth and wrap-around', () => {
    const d = new Deque<number>();
    const model: number[] = [];
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) {
        d.unshift(i);
        model.unshift(i);
      } else {
        d.push(i);
        model.push(i);
      }
      if (i % 7 === 0) expect(d.shift()).toBe(model.shift());
    }
    expect(d.size).toBe(model.length);
    expect(d.peek()).toBe(model[0]);
    expect([...d]).toEqual(model);
    d.clear();
    expect(d.size).toBe(0);
    expect(d.shift()).toBeUndefined();
  });
});

describe('BinaryHeap', () => {
  interface Item {
    key: number;
    index: number;
  }

  it('pops in order and removes from the middle through the reported index', () => {
    const heap = new BinaryHeap<Item>(
      (a, b) => a.key < b.key,
      (item, i) => {
        item.index = i;
      },
    );
    const items = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0].map((key) => ({ key, index: -1 }));
    for (const item of items) heap.push(item);
    const seven = items[4] as Item;
    heap.remove(seven.index);
    expect(seven.index).toBe(-1);
    heap.remove(-1); // already gone: ignored
    const out: number[] = [];
    for (let item = heap.pop(); item; item = heap.pop()) out.push(item.key);
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
    expect(items.every((i) => i.index === -1)).toBe(true);
  });
});
