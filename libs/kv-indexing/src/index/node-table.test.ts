import { describe, expect, it } from 'vitest';
import { NONE, NodeTable, keyHash } from './node-table.js';

// A new table has 1024 slots; these keys' home slots sit at its end, so probe runs wrap to slot 0.
const LENGTH = 1024;
const homeOf = (lo: number) => Math.floor((keyHash(lo, 0) / 4294967296) * LENGTH);

function wrappingKeys(count: number): number[] {
  const keys: number[] = [];
  for (let lo = 1; keys.length < count; lo++) if (homeOf(lo) >= LENGTH - 3 || homeOf(lo) <= 1) keys.push(lo);
  return keys;
}

describe('NodeTable', () => {
  it.each([
    ['first in', (keys: number[]) => keys.slice(0, 6)],
    ['last in', (keys: number[]) => keys.slice(-6)],
    ['every other', (keys: number[]) => keys.filter((_, i) => i % 2 === 0)],
  ])('finds every key after removing the %s of a run that wraps around the end', (_name, pickRemoved) => {
    const keys = wrappingKeys(14);
    const lo = new Uint32Array(keys);
    const hi = new Uint32Array(keys.length);
    const table = new NodeTable();
    keys.forEach((key, node) => table.insert(node, key, 0, lo, hi));
    const removed = new Set(pickRemoved(keys));
    keys.forEach((key, node) => {
      if (removed.has(key)) table.remove(node, key, 0, lo, hi);
    });
    keys.forEach((key, node) => expect(table.find(key, 0, lo, hi)).toBe(removed.has(key) ? NONE : node));
  });

  it('agrees with a Map through growth and churn', () => {
    const capacity = 5000;
    const lo = new Uint32Array(capacity);
    const hi = new Uint32Array(capacity);
    const table = new NodeTable();
    const live = new Map<number, number>();
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let step = 0; step < 20_000; step++) {
      const node = next() % capacity;
      if (live.has(node)) {
        table.remove(node, lo[node] as number, hi[node] as number, lo, hi);
        live.delete(node);
      } else {
        lo[node] = next() % 3000;
        hi[node] = node;
        table.insert(node, lo[node] as number, node, lo, hi);
        live.set(node, lo[node] as number);
      }
    }
    for (let node = 0; node < capacity; node++) {
      expect(table.find(lo[node] as number, node, lo, hi)).toBe(live.has(node) ? node : NONE);
    }
    expect(table.bytes).toBeGreaterThanOrEqual((live.size * 4) / 0.75);
  });
});
