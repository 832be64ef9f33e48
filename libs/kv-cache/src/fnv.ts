// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3), the hash of llm-d's cbor-fnv keys.

/**
 * FNV-1a 64-bit digest of `data[0:end]` as two 32-bit halves written to `out` (`hi`, `lo`). The
 * state is kept in four 16-bit limbs of local numbers: one BigInt multiply per byte is far slower,
 * and request keys are computed per event and per scored prompt.
 */
export function fnv64aHalves(data: Uint8Array, end: number, out: { hi: number; lo: number }): void {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < end; i++) {
    h0 ^= data[i] as number;
    // h * (2^40 + 0x1b3) mod 2^64: the 2^40 term shifts h by two limbs plus 8 bits.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  out.hi = h3 * 0x10000 + h2;
  out.lo = h1 * 0x10000 + h0;
}

const digest = { hi: 0, lo: 0 };

/** FNV-1a 64-bit digest of `data` as a uint64. */
export function fnv64a(data: Uint8Array): bigint {
  fnv64aHalves(data, data.length, digest);
  return (BigInt(digest.hi) << 32n) | BigInt(digest.lo);
}
