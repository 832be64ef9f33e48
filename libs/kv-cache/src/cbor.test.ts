import { describe, it, expect } from 'vitest';
import { CborEncodeError, CborWriter, encodeCanonicalCbor } from './cbor.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('encodeCanonicalCbor', () => {
  // RFC 7049 Appendix A examples that JavaScript values can express.
  it.each<[string, unknown, string]>([
    ['0', 0, '00'],
    ['1', 1, '01'],
    ['10', 10, '0a'],
    ['23', 23, '17'],
    ['24', 24, '1818'],
    ['25', 25, '1819'],
    ['100', 100, '1864'],
    ['1000', 1000, '1903e8'],
    ['1000000', 1000000, '1a000f4240'],
    ['1000000000000', 1000000000000, '1b000000e8d4a51000'],
    ['2^64-1 (bigint)', 18446744073709551615n, '1bffffffffffffffff'],
    ['2^63 (number above 2^53)', 2 ** 63, '1b8000000000000000'],
    ['-2^64 (bigint)', -18446744073709551616n, '3bffffffffffffffff'],
    ['-2^64 (number)', -(2 ** 64), '3bffffffffffffffff'],
    ['-2^60 - 2^8 (number below -2^53)', -(2 ** 60) - 256, '3b10000000000000ff'],
    ['-1', -1, '20'],
    ['-10', -10, '29'],
    ['-100', -100, '3863'],
    ['-1000', -1000, '3903e7'],
    ['small bigint', 500n, '1901f4'],
    ['-0 is the integer 0', -0, '00'],
    ['1.1', 1.1, 'fb3ff199999999999a'],
    ['1.5', 1.5, 'f93e00'],
    ['3.4028234663852886e+38', 3.4028234663852886e38, 'fa7f7fffff'],
    ['1.0e+300', 1.0e300, 'fb7e37e43c8800759c'],
    ['5.960464477539063e-8 (smallest half subnormal)', 5.960464477539063e-8, 'f90001'],
    ['0.00006103515625 (smallest half normal)', 0.00006103515625, 'f90400'],
    ['-4.1', -4.1, 'fbc010666666666666'],
    ['Infinity', Infinity, 'f97c00'],
    ['NaN', NaN, 'f97e00'],
    ['-Infinity', -Infinity, 'f9fc00'],
    ['false', false, 'f4'],
    ['true', true, 'f5'],
    ['null', null, 'f6'],
    ["h''", new Uint8Array(0), '40'],
    ["h'01020304'", new Uint8Array([1, 2, 3, 4]), '4401020304'],
    ['""', '', '60'],
    ['"a"', 'a', '6161'],
    ['"IETF"', 'IETF', '6449455446'],
    ['"\\"\\\\"', '"\\', '62225c'],
    ['"\\u00fc"', '\u00fc', '62c3bc'],
    ['"\\u6c34"', '\u6c34', '63e6b0b4'],
    ['"\\ud800\\udd51"', '\ud800\udd51', '64f0908591'],
    ['[]', [], '80'],
    ['[1, 2, 3]', [1, 2, 3], '83010203'],
    ['[1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '8301820203820405'],
    [
      '[1 .. 25]',
      Array.from({ length: 25 }, (_, i) => i + 1),
      '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
    ],
    ['{}', {}, 'a0'],
    ['{"a": 1, "b": [2, 3]}', { a: 1, b: [2, 3] }, 'a26161016162820203'],
    ['["a", {"b": "c"}]', ['a', { b: 'c' }], '826161a161626163'],
    [
      '{"a": "A", ..., "e": "E"}',
      { e: 'E', d: 'D', c: 'C', b: 'B', a: 'A' },
      'a56161614161626142616361436164614461656145',
    ],
    ['Uint32Array is an array of integers', new Uint32Array([1, 2, 500]), '8301021901f4'],
  ])('encodes %s', (_name, value, expected) => {
    expect(hex(encodeCanonicalCbor(value))).toBe(expected);
  });

  it('orders map keys shorter-first, then bytewise, for objects and Maps alike', () => {
    const expected = 'a3' + '616103' + '616201' + '62616102';
    expect(hex(encodeCanonicalCbor({ b: 1, aa: 2, a: 3 }))).toBe(expected);
    expect(hex(encodeCanonicalCbor(new Map<string, number>([['aa', 2], ['b', 1], ['a', 3]])))).toBe(expected);
  });

  it('orders keys by UTF-8 length, not UTF-16 length', () => {
    // "é" is one UTF-16 unit but two UTF-8 bytes, so it sorts after the one-byte key "z".
    expect(hex(encodeCanonicalCbor({ '\u00e9': 1, z: 2 }))).toBe('a2617a0262c3a901');
  });

  it('grows its buffer for large values', () => {
    const big = Array.from({ length: 5000 }, (_, i) => i * 1000);
    const text = 'x'.repeat(70000) + '\u00fc';
    const bytes = encodeCanonicalCbor([big, text]);
    expect(hex(bytes.subarray(0, 4))).toBe('82991388');
    expect(hex(bytes.subarray(bytes.length - 2))).toBe('c3bc');
    // Text head: major 3, 4-byte length 70002.
    const textStart = bytes.length - 70002 - 5;
    expect(hex(bytes.subarray(textStart, textStart + 5))).toBe('7a00011172');
  });

  it('returns a copy that later encodings do not overwrite', () => {
    const first = encodeCanonicalCbor([1, 2, 3]);
    encodeCanonicalCbor([9, 9, 9]);
    expect(hex(first)).toBe('83010203');
  });

  it.each<[string, unknown, string]>([
    ['undefined', undefined, '$'],
    ['a function', [1, () => 1], '$[1]'],
    ['a symbol', { a: Symbol('x') }, '$.a'],
    ['a Date', [new Date(0)], '$[0]'],
    ['a bigint above 2^64-1', [1n << 64n], '$[0]'],
    ['a bigint below -2^64', -(1n << 64n) - 1n, '$'],
    ['a nested undefined', [1, { a: [undefined] }], '$[1].a[0]'],
    ['an odd key', { 'two words': undefined }, '$["two words"]'],
    ['a non-string Map key', new Map([[1, 2]]), '$'],
  ])('rejects %s, naming where it is', (_name, value, path) => {
    let thrown: unknown;
    try {
      encodeCanonicalCbor(value);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CborEncodeError);
    expect((thrown as CborEncodeError).path).toBe(path);
    expect((thrown as CborEncodeError).message).toContain(`at ${path}:`);
  });

  it('rejects cyclic values instead of overflowing the stack', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => encodeCanonicalCbor(cyclic)).toThrow(/nested deeper than/);
  });
});

describe('CborWriter', () => {
  it('writes a token range as an integer array and names a bad token', () => {
    const w = new CborWriter(4);
    w.reset().integerArray([7, 8, 24, 9], 1, 3);
    expect(hex(w.view())).toBe('82081818');
    expect(() => w.reset().integerArray([1, 2.5], 0, 2, 'tokens')).toThrow(/at tokens\[1\]: expected an integer, got 2\.5/);
  });

  it('rejects non-integers and out-of-range integers from the scalar writers', () => {
    const w = new CborWriter();
    expect(() => w.integer(0.5)).toThrow(CborEncodeError);
    expect(() => w.integer(2 ** 70)).toThrow(/does not fit in 64 bits/);
    expect(() => w.bigint(1n << 64n)).toThrow(/does not fit in 64 bits/);
    expect(hex(w.reset().integer(-(2 ** 64)).bigint(-1n).view())).toBe('3bffffffffffffffff20');
  });
});
