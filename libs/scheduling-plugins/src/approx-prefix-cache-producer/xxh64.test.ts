import { xxh64 } from '@llmd/kv-cache';
import { describe, expect, it } from 'vitest';
import { xxh64Into, xxh64PairInto } from './xxh64.js';

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function joined(out: Uint32Array, at = 0): bigint {
  return (BigInt(out[at + 1] as number) << 32n) | BigInt(out[at] as number);
}

describe('xxh64Into', () => {
  // Every tail path (8-byte lanes, 4-byte word, single bytes) and the 32-byte stripe loop.
  const lengths = [...Array.from({ length: 72 }, (_, i) => i), 255, 256, 257, 1000, 4096];
  const seeds = [0n, 1n, 0x9e3779b185ebca87n, 0xffff_ffff_ffff_ffffn];

  it.each(lengths)('matches @llmd/kv-cache for %i bytes under several seeds', (n) => {
    const data = bytes(n, n + 7);
    const out = new Uint32Array(2);
    for (const seed of seeds) {
      xxh64Into(out, 0, data, 0, n, Number(seed & 0xffff_ffffn), Number(seed >> 32n));
      expect(joined(out)).toBe(xxh64(data, seed));
    }
  });

  it('hashes a sub-range the same as a copy of it', () => {
    const data = bytes(300, 3);
    const out = new Uint32Array(2);
    xxh64Into(out, 0, data, 17, 250);
    expect(joined(out)).toBe(xxh64(data.slice(17, 250)));
  });

  it('matches the known digest of the empty input', () => {
    const out = new Uint32Array(2);
    xxh64Into(out, 0, new Uint8Array(0), 0, 0);
    expect(joined(out)).toBe(0xef46db3751d8e999n);
  });
});

describe('xxh64PairInto', () => {
  it('equals xxh64 of LE64(a) ‖ LE64(b)', () => {
    const out = new Uint32Array(4);
    const cases: [number, number, number, number][] = [
      [0, 0, 0, 0],
      [0x12345678, 0x9abcdef0, 0xdeadbeef, 0x01020304],
      [0xffffffff, 0xffffffff, 1, 0x80000000],
    ];
    for (const [aLo, aHi, bLo, bHi] of cases) {
      const buf = new Uint8Array(16);
      const view = new DataView(buf.buffer);
      view.setUint32(0, aLo, true);
      view.setUint32(4, aHi, true);
      view.setUint32(8, bLo, true);
      view.setUint32(12, bHi, true);
      xxh64PairInto(out, 2, aLo, aHi, bLo, bHi);
      expect(joined(out, 2)).toBe(xxh64(buf));
    }
  });
});
