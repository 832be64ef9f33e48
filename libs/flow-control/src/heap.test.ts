import { describe, expect, it } from 'vitest';
import { IndexedHeap } from './heap.js';

interface Box {
  heapIndex: number;
  key: number;
}

const box = (key: number): Box => ({ heapIndex: -1, key });

describe('IndexedHeap', () => {
  it('pops in key order while elements are removed from anywhere', () => {
    let seed = 3;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const heap = new IndexedHeap<Box>((a, b) => a.key - b.key);
    const live = new Set<Box>();
    for (let i = 0; i < 2000; i++) {
      const r = rand();
      if (r < 0.6) {
        const b = box(Math.floor(rand() * 500));
        heap.push(b);
        live.add(b);
      } else if (r < 0.8 && live.size > 0) {
        const victim = [...live][Math.floor(rand() * live.size)] as Box;
        expect(heap.remove(victim)).toBe(true);
        expect(victim.heapIndex).toBe(-1);
        live.delete(victim);
      } else if (live.size > 0) {
        const min = Math.min(...[...live].map((b) => b.key));
        const head = heap.peek() as Box;
        expect(head.key).toBe(min);
        heap.remove(head);
        live.delete(head);
      }
      expect(heap.size).toBe(live.size);
    }
  });

  it('refuses to remove what it does not hold', () => {
    const heap = new IndexedHeap<Box>((a, b) => a.key - b.key);
    const a = box(1);
    const stranger = box(2);
    heap.push(a);
    expect(heap.remove(stranger)).toBe(false);
    expect(heap.remove(a)).toBe(true);
    expect(heap.remove(a)).toBe(false);
    expect(heap.peek()).toBeNull();
  });
});
