// Canonical CBOR (RFC 7049 §3.9, as Python cbor2 `canonical=True` and Go fxamacker `CanonicalEncOptions`
// produce it). Both block-hash chains hash these bytes, so a single byte of difference breaks every key.

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_64 = 18446744073709551616; // exact as a double
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_DEPTH = 512;

const utf8 = new TextEncoder();
const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** A value that {@link encodeCanonicalCbor} cannot encode; `path` locates it inside the input (`$[2].Hash`). */
export class CborEncodeError extends Error {
  readonly path: string;
  constructor(reason: string, path: string) {
    super(`cannot encode CBOR at ${path}: ${reason}`);
    this.name = 'CborEncodeError';
    this.path = path;
  }
}

// Thrown deep inside the recursion and rewrapped once at the top, so the path is only built on failure.
class PathFailure {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {}
}

/**
 * A growable output buffer that writes canonical CBOR items in place. Hashers keep one per module and
 * hash `view()` directly, so encoding a block allocates nothing once the buffer has grown to size.
 */
export class CborWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialSize = 1024) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Forgets what was written; the buffer is kept for reuse. */
  reset(): this {
    this.#pos = 0;
    return this;
  }

  /** The bytes written since the last reset, as a view that the next write may overwrite. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Writes an array header; the caller then writes exactly `length` items. */
  arrayHeader(length: number): this {
    this.#head(MAJOR_ARRAY, length);
    return this;
  }

  /** Writes CBOR null. */
  null(): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = 0xf6;
    return this;
  }

  /** Writes a byte string. */
  bytes(data: Uint8Array): this {
    this.#head(MAJOR_BYTES, data.length);
    this.#ensure(data.length);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
    return this;
  }

  /** Writes a UTF-8 text string. */
  text(value: string): this {
    const n = value.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (value.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.#head(MAJOR_TEXT, n);
      this.#ensure(n);
      const buf = this.#buf;
      let p = this.#pos;
      for (let i = 0; i < n; i++) buf[p++] = value.charCodeAt(i);
      this.#pos = p;
      return this;
    }
    const encoded = utf8.encode(value);
    this.#head(MAJOR_TEXT, encoded.length);
    this.#ensure(encoded.length);
    this.#buf.set(encoded, this.#pos);
    this.#pos += encoded.length;
    return this;
  }

  /** Writes an integer-valued number in its shortest form; throws {@link CborEncodeError} for other numbers. */
  integer(value: number): this {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
      this.#head(MAJOR_UINT, value);
      return this;
    }
    return this.#guarded('$', () => {
      if (!Number.isInteger(value)) throw new PathFailure(`expected an integer, got ${String(value)}`);
      this.#integerNumber(value);
    });
  }

  /**
   * Writes an array of the integers `items[start..end)`; a bad item throws {@link CborEncodeError} whose
   * path is `label[i]`, with `i` counted from `start`.
   */
  integerArray(items: ArrayLike<number>, start: number, end: number, label = '$'): this {
    this.#head(MAJOR_ARRAY, end - start);
    for (let i = start; i < end; i++) {
      const item = items[i] as number;
      if (item >= 0 && item <= Number.MAX_SAFE_INTEGER && Number.isInteger(item)) {
        this.#head(MAJOR_UINT, item);
      } else {
        this.#guarded(`${label}[${i - start}]`, () => {
          if (typeof item !== 'number' || !Number.isInteger(item)) {
            throw new PathFailure(`expected an integer, got ${String(item)}`);
          }
          this.#integerNumber(item);
        });
      }
    }
    return this;
  }

  /** Writes a bigint as a CBOR integer; it must lie in [-2^64, 2^64 - 1]. */
  bigint(value: bigint): this {
    return this.#guarded('$', () => this.#bigint(value));
  }

  /**
   * Writes any supported value: integers (number or bigint), other numbers as the shortest float that
   * keeps their value, strings, Uint8Array as bytes, arrays and other typed arrays, null, booleans, and
   * plain objects or Maps with string keys (sorted shorter-key-first, then bytewise).
   */
  value(value: unknown): this {
    return this.#guarded('$', () => this.#value(value, 0));
  }

  // Turns the internal failure into the public error, with the path collected while unwinding.
  #guarded(root: string, write: () => void): this {
    try {
      write();
    } catch (err) {
      if (err instanceof PathFailure) throw new CborEncodeError(err.reason, root + err.segments.reverse().join(''));
      throw err;
    }
    return this;
  }

  #bigint(value: bigint): void {
    if (value >= 0n) {
      if (value > UINT64_MAX) throw new PathFailure(`integer ${value} does not fit in 64 bits`);
      this.#headBig(MAJOR_UINT, value);
    } else {
      const magnitude = -1n - value;
      if (magnitude > UINT64_MAX) throw new PathFailure(`integer ${value} does not fit in 64 bits`);
      this.#headBig(MAJOR_NEGINT, magnitude);
    }
  }

  #value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'number':
        if (Number.isInteger(value) && value >= -TWO_POW_64 && value < TWO_POW_64) {
          this.#integerNumber(value);
        } else {
          this.#float(value);
        }
        return;
      case 'bigint':
        this.#bigint(value);
        return;
      case 'string':
        this.text(value);
        return;
      case 'boolean':
        this.#ensure(1);
        this.#buf[this.#pos++] = value ? 0xf5 : 0xf4;
        return;
      case 'object':
        break;
      default:
        throw new PathFailure(`unsupported type ${typeof value}`);
    }
    if (value === null) {
      this.null();
      return;
    }
    if (depth >= MAX_DEPTH) throw new PathFailure(`nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
    if (value instanceof Uint8Array) {
      this.bytes(value);
      return;
    }
    if (Array.isArray(value)) {
      this.#head(MAJOR_ARRAY, value.length);
      for (let i = 0; i < value.length; i++) {
        try {
          this.#value(value[i], depth + 1);
        } catch (err) {
          if (err instanceof PathFailure) err.segments.push(`[${i}]`);
          throw err;
        }
      }
      return;
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      // Token ids often live in Uint32Array/Int32Array: they are arrays of integers, not bytes.
      const items = value as unknown as ArrayLike<number | bigint>;
      this.#head(MAJOR_ARRAY, items.length);
      for (let i = 0; i < items.length; i++) this.#value(items[i], depth + 1);
      return;
    }
    if (value instanceof Map) {
      this.#map([...value.entries()], depth);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      this.#map(Object.entries(value), depth);
      return;
    }
    throw new PathFailure(`unsupported object ${(value as object).constructor?.name ?? 'value'}`);
  }

  #map(entries: [unknown, unknown][], depth: number): void {
    const keyed = entries.map(([key, item]) => {
      if (typeof key !== 'string') throw new PathFailure(`map key ${String(key)} is not a string`);
      return { key, bytes: utf8.encode(key), item };
    });
    keyed.sort((a, b) => compareKeyBytes(a.bytes, b.bytes));
    this.#head(MAJOR_MAP, keyed.length);
    for (const { key, bytes, item } of keyed) {
      this.#head(MAJOR_TEXT, bytes.length);
      this.#ensure(bytes.length);
      this.#buf.set(bytes, this.#pos);
      this.#pos += bytes.length;
      try {
        this.#value(item, depth + 1);
      } catch (err) {
        if (err instanceof PathFailure) err.segments.push(/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
        throw err;
      }
    }
  }

  // Integer-valued doubles; beyond 2^53 the arithmetic -1-n would round, so go through bigint.
  #integerNumber(value: number): void {
    if (value >= 0) {
      if (value <= Number.MAX_SAFE_INTEGER) this.#head(MAJOR_UINT, value);
      else this.#bigint(BigInt(value));
    } else if (value >= -Number.MAX_SAFE_INTEGER) {
      this.#head(MAJOR_NEGINT, -1 - value);
    } else {
      this.#bigint(BigInt(value));
    }
  }

  // Shortest IEEE 754 width that round-trips the value (half, single, double); NaN as the canonical f97e00.
  #float(value: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    if (Number.isNaN(value)) {
      buf[this.#pos++] = 0xf9;
      buf[this.#pos++] = 0x7e;
      buf[this.#pos++] = 0x00;
      return;
    }
    if (Math.fround(value) === value) {
      f32[0] = value;
      const bits = f32Bits[0] ?? 0;
      const half = toHalf(bits);
      if (half >= 0) {
        buf[this.#pos++] = 0xf9;
        this.#view.setUint16(this.#pos, half);
        this.#pos += 2;
        return;
      }
      buf[this.#pos++] = 0xfa;
      this.#view.setUint32(this.#pos, bits);
      this.#pos += 4;
      return;
    }
    buf[this.#pos++] = 0xfb;
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
  }

  // Head for a non-negative safe integer argument.
  #head(major: number, n: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    const m = major << 5;
    let p = this.#pos;
    if (n < 24) {
      buf[p++] = m | n;
    } else if (n < 0x100) {
      buf[p++] = m | 24;
      buf[p++] = n;
    } else if (n < 0x10000) {
      buf[p++] = m | 25;
      buf[p++] = n >>> 8;
      buf[p++] = n & 0xff;
    } else if (n < TWO_POW_32) {
      buf[p++] = m | 26;
      this.#view.setUint32(p, n);
      p += 4;
    } else {
      buf[p++] = m | 27;
      const hi = Math.floor(n / TWO_POW_32);
      this.#view.setUint32(p, hi);
      this.#view.setUint32(p + 4, n - hi * TWO_POW_32);
      p += 8;
    }
    this.#pos = p;
  }

  #headBig(major: number, n: bigint): void {
    if (n <= 0x1f_ffff_ffff_ffffn) {
      this.#head(major, Number(n));
      return;
    }
    this.#ensure(9);
    this.#buf[this.#pos++] = (major << 5) | 27;
    this.#view.setBigUint64(this.#pos, n);
    this.#pos += 8;
  }

  #ensure(extra: number): void {
    const needed = this.#pos + extra;
    if (needed <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

// Canonical key order: shorter encoding first, then bytewise. Text heads grow with the UTF-8 length,
// so comparing UTF-8 lengths is comparing encoded lengths.
function compareKeyBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// binary16 bits for a binary32 value when the conversion is exact, else -1.
function toHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : -1;
  if (exp === 0) return mant === 0 ? sign : -1;
  const e = exp - 127;
  if (e >= -14 && e <= 15) {
    return (mant & 0x1fff) === 0 ? sign | ((e + 15) << 10) | (mant >>> 13) : -1;
  }
  if (e >= -24 && e < -14) {
    // Subnormal half: value = m × 2^-24 with m < 1024.
    const significand = mant | 0x800000;
    const shift = -e - 1;
    return (significand & ((1 << shift) - 1)) === 0 ? sign | (significand >>> shift) : -1;
  }
  return -1;
}

const shared = new CborWriter();

/**
 * Encodes a value as canonical CBOR: shortest-form integers (number or bigint, 64-bit range), byte
 * strings (Uint8Array), UTF-8 text, arrays, null, booleans, maps with string keys in canonical order, and
 * non-integer numbers as the shortest exact float. Integer-valued numbers (including -0) are integers.
 */
export function encodeCanonicalCbor(value: unknown): Uint8Array {
  return shared.reset().value(value).view().slice();
}
