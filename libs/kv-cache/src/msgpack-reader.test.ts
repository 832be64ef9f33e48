import { Decoder, Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { MsgpackReadError, readMsgpack } from './msgpack-reader.js';

const reference = new Decoder({ useBigInt64: true });
const encoder = new Encoder({ useBigInt64: true });

/** A random value of the kinds KV-event payloads carry, from a seeded generator. */
function randomValue(next: () => number, depth = 0): unknown {
  const kind = Math.floor(next() * (depth > 3 ? 7 : 9));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2: {
      // Integers at every width boundary, both signs.
      const widths = [0x7f, 0xff, 0xffff, 0xffff_ffff, 2 ** 40];
      const w = widths[Math.floor(next() * widths.length)] as number;
      const x = Math.floor(next() * w);
      return next() < 0.3 ? -x : x;
    }
    case 3:
      return next() < 0.5 ? BigInt.asUintN(64, BigInt(Math.floor(next() * 2 ** 53)) << 11n) : -BigInt(Math.floor(next() * 2 ** 53)) - 2n ** 40n;
    case 4:
      return next() * 1e6 - 5e5;
    case 5:
      return 'ü'.repeat(Math.floor(next() * 3)) + 'x'.repeat(Math.floor(next() * (next() < 0.1 ? 70_000 : 40)));
    case 6:
      return new Uint8Array(Array.from({ length: Math.floor(next() * (next() < 0.1 ? 300 : 12)) }, () => Math.floor(next() * 256)));
    case 7:
      // Now and then a long array of token ids (array16/array32 headers); otherwise a short mixed one.
      if (next() < 0.05) return Array.from({ length: Math.floor(next() * 70_000) }, () => Math.floor(next() * 200_000));
      return Array.from({ length: Math.floor(next() * 12) }, () => randomValue(next, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 8); i > 0; i--) out[`k${Math.floor(next() * 40)}`] = randomValue(next, depth + 1);
      return out;
    }
  }
}

describe('readMsgpack', () => {
  it('reads what a general MessagePack decoder reads, on random payloads', () => {
    let state = 99;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let i = 0; i < 400; i++) {
      const bytes = encoder.encode(randomValue(next));
      expect(readMsgpack(bytes)).toEqual(reference.decode(bytes));
    }
  });

  it('gives 64-bit integer types as bigints and smaller ones as numbers', () => {
    expect(readMsgpack(Uint8Array.of(0xcf, 0, 0, 0, 0, 0, 0, 0, 5))).toBe(5n);
    expect(readMsgpack(Uint8Array.of(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe))).toBe(-2n);
    expect(readMsgpack(Uint8Array.of(0xce, 0xff, 0xff, 0xff, 0xff))).toBe(0xffff_ffff);
    expect(readMsgpack(Uint8Array.of(0x93, 0xcd, 0x01, 0x00, 0x05, 0xe0))).toEqual([256, 5, -32]);
  });

  it('keeps a "__proto__" map key as data', () => {
    const bytes = encoder.encode(JSON.parse('{"__proto__": {"polluted": 1}, "a": 2}'));
    const value = readMsgpack(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['an empty payload', [], /truncated/],
    ['a truncated uint32', [0xce, 1, 2], /truncated/],
    ['an array longer than the payload', [0xdd, 0xff, 0xff, 0xff, 0xff, 1], /truncated/],
    ['trailing bytes', [0x01, 0x02], /1 bytes after the value/],
    ['the unused type byte', [0xc1], /unsupported type byte 0xc1/],
    ['an ext value', [0xd4, 0x01, 0x00], /unsupported type byte 0xd4/],
    ['a map key that is an array', [0x81, 0x90, 0x01], /map key/],
    ['invalid UTF-8', [0xa2, 0xc3, 0x28], /UTF-8/],
    ['deep nesting', Array.from({ length: 100 }, () => 0x91).concat([0x01]), /nested deeper/],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => readMsgpack(Uint8Array.from(bytes))).toThrow(MsgpackReadError);
    expect(() => readMsgpack(Uint8Array.from(bytes))).toThrow(message);
  });
});
