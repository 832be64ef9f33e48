// XXH64 on pairs of 32-bit halves. Block hashing runs for every request (up to thousands of blocks
// per prompt), and the BigInt implementation in @llmd/kv-cache allocates on every 64-bit operation;
// this one keeps every intermediate in small integers and writes results into a caller's
// Uint32Array, so hashing a prompt allocates nothing. The test checks it against @llmd/kv-cache.

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

// Result registers of the 64-bit helpers: JS has no cheap multiple return values, and plain
// module-level variables would box every value above 2^30 into a heap number. A typed array stores
// them unboxed. Everything here is synchronous, so nothing can interleave.
const R = new Uint32Array(2);
const hi = (): number => R[0] as number;
const lo = (): number => R[1] as number;

function mul(ah: number, al: number, bh: number, bl: number): void {
  // The low 64 bits of the product: al·bl in full (16-bit limbs keep it exact in doubles) plus the
  // low 32 bits of the cross terms shifted up.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[1] = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const high = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  R[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const sum = al + bl;
  R[1] = sum >>> 0;
  R[0] = (ah + bh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate left by 1..31 bits (every rotation XXH64 uses is below 32). */
function rotl(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** acc = rotl(acc + lane·P2, 31)·P1 */
function round(acch: number, accl: number, laneh: number, lanel: number): void {
  mul(laneh, lanel, P2H, P2L);
  add(acch, accl, hi(), lo());
  rotl(hi(), lo(), 31);
  mul(hi(), lo(), P1H, P1L);
}

/** h = (h ^ round(0, v))·P1 + P4 */
function mergeRound(hh: number, hl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((hh ^ hi()) >>> 0, (hl ^ lo()) >>> 0, P1H, P1L);
  add(hi(), lo(), P4H, P4L);
}

/** h ^= round(0, lane); h = rotl(h, 27)·P1 + P4 */
function lane8(hh: number, hl: number, laneh: number, lanel: number): void {
  round(0, 0, laneh, lanel);
  rotl((hh ^ hi()) >>> 0, (hl ^ lo()) >>> 0, 27);
  mul(hi(), lo(), P1H, P1L);
  add(hi(), lo(), P4H, P4L);
}

function avalanche(hh: number, hl: number): void {
  let h = hh;
  let l = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >> 33
  mul(h, l, P2H, P2L);
  h = hi();
  l = lo();
  const l2 = (l ^ ((l >>> 29) | (h << 3))) >>> 0; // h ^= h >> 29
  const h2 = (h ^ (h >>> 29)) >>> 0;
  mul(h2, l2, P3H, P3L);
  R[1] = (lo() ^ hi()) >>> 0; // h ^= h >> 32
}

// The four stripe accumulators (high, low) × 4.
const V = new Uint32Array(8);

/**
 * One stripe round on accumulator `v[i], v[i + 1]`, written out in locals: this loop is where long
 * prompts spend their time, and keeping it free of the register round trips doubles its speed.
 */
function stripeRound(v: Uint32Array, i: number, laneh: number, lanel: number): void {
  // lane·P2
  let a0 = lanel & 0xffff;
  let a1 = lanel >>> 16;
  let b0 = P2L & 0xffff;
  let b1 = P2L >>> 16;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  let ml = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  let mh = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(laneh, P2L) + Math.imul(lanel, P2H)) >>> 0;
  // acc + lane·P2
  const sum = (v[i + 1] as number) + ml;
  const sl = sum >>> 0;
  const sh = ((v[i] as number) + mh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
  // rotl 31
  const th = ((sh << 31) | (sl >>> 1)) >>> 0;
  const tl = ((sl << 31) | (sh >>> 1)) >>> 0;
  // ·P1
  a0 = tl & 0xffff;
  a1 = tl >>> 16;
  b0 = P1L & 0xffff;
  b1 = P1L >>> 16;
  p00 = a0 * b0;
  p01 = a0 * b1;
  p10 = a1 * b0;
  mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  ml = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  mh = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(th, P1L) + Math.imul(tl, P1H)) >>> 0;
  v[i] = mh;
  v[i + 1] = ml;
}

function u32(d: Uint8Array, p: number): number {
  return ((d[p] as number) | ((d[p + 1] as number) << 8) | ((d[p + 2] as number) << 16) | ((d[p + 3] as number) << 24)) >>> 0;
}

/**
 * XXH64 of `data[start, end)` with a 64-bit seed given as halves; writes the digest's low half to
 * `out[at]` and its high half to `out[at + 1]`.
 */
export function xxh64Into(out: Uint32Array, at: number, data: Uint8Array, start: number, end: number, seedLo = 0, seedHi = 0): void {
  const len = end - start;
  let p = start;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    const v = V;
    add(seedHi, seedLo, P1H, P1L);
    add(hi(), lo(), P2H, P2L);
    v[0] = hi();
    v[1] = lo();
    add(seedHi, seedLo, P2H, P2L);
    v[2] = hi();
    v[3] = lo();
    v[4] = seedHi;
    v[5] = seedLo;
    // seed − P1 = seed + two's complement of P1
    add(seedHi, seedLo, ~P1H >>> 0, ~P1L >>> 0);
    add(hi(), lo(), 0, 1);
    v[6] = hi();
    v[7] = lo();
    const limit = end - 32;
    while (p <= limit) {
      stripeRound(v, 0, u32(data, p + 4), u32(data, p));
      stripeRound(v, 2, u32(data, p + 12), u32(data, p + 8));
      stripeRound(v, 4, u32(data, p + 20), u32(data, p + 16));
      stripeRound(v, 6, u32(data, p + 28), u32(data, p + 24));
      p += 32;
    }
    const v1h = v[0] as number;
    const v1l = v[1] as number;
    const v2h = v[2] as number;
    const v2l = v[3] as number;
    const v3h = v[4] as number;
    const v3l = v[5] as number;
    const v4h = v[6] as number;
    const v4l = v[7] as number;
    rotl(v1h, v1l, 1);
    hh = hi();
    hl = lo();
    rotl(v2h, v2l, 7);
    add(hh, hl, hi(), lo());
    hh = hi();
    hl = lo();
    rotl(v3h, v3l, 12);
    add(hh, hl, hi(), lo());
    hh = hi();
    hl = lo();
    rotl(v4h, v4l, 18);
    add(hh, hl, hi(), lo());
    mergeRound(hi(), lo(), v1h, v1l);
    mergeRound(hi(), lo(), v2h, v2l);
    mergeRound(hi(), lo(), v3h, v3l);
    mergeRound(hi(), lo(), v4h, v4l);
    hh = hi();
    hl = lo();
  } else {
    add(seedHi, seedLo, P5H, P5L);
    hh = hi();
    hl = lo();
  }
  add(hh, hl, Math.floor(len / 0x100000000) >>> 0, len >>> 0);
  hh = hi();
  hl = lo();
  while (p + 8 <= end) {
    lane8(hh, hl, u32(data, p + 4), u32(data, p));
    hh = hi();
    hl = lo();
    p += 8;
  }
  if (p + 4 <= end) {
    mul(0, u32(data, p), P1H, P1L);
    rotl((hh ^ hi()) >>> 0, (hl ^ lo()) >>> 0, 23);
    mul(hi(), lo(), P2H, P2L);
    add(hi(), lo(), P3H, P3L);
    hh = hi();
    hl = lo();
    p += 4;
  }
  while (p < end) {
    mul(0, data[p] as number, P5H, P5L);
    rotl((hh ^ hi()) >>> 0, (hl ^ lo()) >>> 0, 11);
    mul(hi(), lo(), P1H, P1L);
    hh = hi();
    hl = lo();
    p++;
  }
  avalanche(hh, hl);
  out[at] = lo();
  out[at + 1] = hi();
}

/**
 * XXH64 (seed 0) of the 16 bytes `LE64(a) ‖ LE64(b)`, the chaining step of block hashes, without
 * building the bytes; writes low then high half to `out[at]`, `out[at + 1]`.
 */
export function xxh64PairInto(out: Uint32Array, at: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  add(P5H, P5L, 0, 16);
  lane8(hi(), lo(), aHi, aLo);
  lane8(hi(), lo(), bHi, bLo);
  avalanche(hi(), lo());
  out[at] = lo();
  out[at + 1] = hi();
}
