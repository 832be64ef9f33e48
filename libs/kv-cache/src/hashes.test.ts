import { describe, it, expect } from 'vitest';
import { fnv64a } from './fnv.js';
import { xxh64 } from './xxh64.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

// Straightforward BigInt FNV-1a, to check the limb arithmetic of fnv64a against.
function fnv64aReference(data: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of data) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return h;
}

describe('fnv64a', () => {
  // Published FNV-1a 64-bit test values (offset basis, "a", "foobar").
  it.each<[string, bigint]>([
    ['', 0xcbf29ce484222325n],
    ['a', 0xaf63dc4c8601ec8cn],
    ['foobar', 0x85944171f73967e8n],
  ])('hashes %j', (text, expected) => {
    expect(fnv64a(ascii(text))).toBe(expected);
  });

  it.each([1, 7, 64, 1000])('matches a BigInt reference on %i pseudo-random bytes', (length) => {
    let seed = length * 2654435761;
    const data = Uint8Array.from({ length }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    });
    expect(fnv64a(data)).toBe(fnv64aReference(data));
  });
});

describe('xxh64', () => {
  // Published XXH64 values (seed 0): "abc" from Fastly's VCL reference, the 39-byte sentence from the
  // python-xxhash documentation, the fox sentence from the .NET System.IO.Hashing tests.
  it.each<[string, bigint]>([
    ['', 0xef46db3751d8e999n],
    ['abc', 0x44bc2cf5ad770999n],
    ['Nobody inspects the spammish repetition', 0xfbcea83c8a378bf1n],
    ['The quick brown fox jumps over the lazy dog', 0x0b242d361fda71bcn],
  ])('hashes %j', (text, expected) => {
    expect(xxh64(ascii(text))).toBe(expected);
  });

  it('reads a subarray at an unaligned offset like a fresh copy', () => {
    const text = ascii('_Nobody inspects the spammish repetition');
    expect(xxh64(text.subarray(1))).toBe(0xfbcea83c8a378bf1n);
  });

  it('mixes in the seed', () => {
    expect(xxh64(ascii('abc'), 1n)).not.toBe(xxh64(ascii('abc')));
  });
});
