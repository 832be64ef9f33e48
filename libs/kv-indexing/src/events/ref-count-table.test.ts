import { describe, expect, it } from 'vitest';
import { RefCountTable } from './ref-count-table.js';

describe('RefCountTable', () => {
  it('counts references and reports when the last one goes', () => {
    const t = new RefCountTable();
    t.increment(7n);
    t.increment(7n);
    t.increment(0xffff_ffff_ffff_ffffn);
    expect(t.size).toBe(2);
    expect(t.decrement(7n)).toBe(false);
    expect(t.decrement(7n)).toBe(true);
    expect(t.decrement(7n)).toBe(true); // never tracked (any more): nothing holds it
    expect(t.decrement(0xffff_ffff_ffff_ffffn)).toBe(true);
    expect(t.size).toBe(0);
  });

  it('keeps hashes that share a low or a high half apart', () => {
    const t = new RefCountTable();
    t.increment(1n);
    t.increment((1n << 32n) | 1n);
    expect(t.decrement(1n)).toBe(true);
    expect(t.size).toBe(1);
    expect(t.decrement((1n << 32n) | 1n)).toBe(true);
  });

  it('agrees with a Map under random increments and decrements through growth and deletion', () => {
    let state = 5;
    const random = () => ((state = (Math.imul(state, 48271) + 11) >>> 0) / 4294967296);
    const t = new RefCountTable();
    const model = new Map<bigint, number>();
    // A small key space so the same hashes come back often and probe runs are long and shifted.
    const keys = Array.from({ length: 3000 }, (_, i) => (BigInt(i % 1500) << 32n) | BigInt((i * 2654435761) >>> 0));
    for (let step = 0; step < 60_000; step++) {
      const key = keys[Math.floor(random() * keys.length)] as bigint;
      if (random() < 0.55) {
        t.increment(key);
        model.set(key, (model.get(key) ?? 0) + 1);
      } else {
        const left = (model.get(key) ?? 0) - 1;
        if (left > 0) model.set(key, left);
        else model.delete(key);
        expect(t.decrement(key)).toBe(left <= 0);
      }
      if (step % 5000 === 0) expect(t.size).toBe(model.size);
    }
    expect(t.size).toBe(model.size);
    for (const [key, count] of model) {
      for (let i = 1; i < count; i++) expect(t.decrement(key)).toBe(false);
      expect(t.decrement(key)).toBe(true);
    }
    expect(t.size).toBe(0);
  });
});
