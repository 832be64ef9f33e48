// The few DER (ASN.1 distinguished encoding rules) constructs an X.509 certificate needs.
// Each function returns the complete encoding (tag, length, contents) of one value.

/** Encodes a length in the definite form: short below 128, else 0x80|n followed by n bytes. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A value with the given tag byte and contents. */
export function tagged(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(contents.length), contents]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tagged(0x30, Buffer.concat(items));
}

export function set(...items: Buffer[]): Buffer {
  return tagged(0x31, Buffer.concat(items));
}

/** `[n] EXPLICIT`: a constructed context-specific wrapper around one value. */
export function explicit(n: number, value: Buffer): Buffer {
  return tagged(0xa0 | n, value);
}

/** `[n] IMPLICIT` of a primitive value: context-specific tag over the raw contents. */
export function implicitPrimitive(n: number, contents: Buffer): Buffer {
  return tagged(0x80 | n, contents);
}

export function boolean(value: boolean): Buffer {
  return tagged(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/** A non-negative INTEGER from its big-endian magnitude, kept minimal and positive. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length === 0) body = Buffer.from([0]);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tagged(0x02, body);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`unsupported INTEGER ${value}`);
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return unsignedInteger(Buffer.from(bytes));
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((part) => {
    const arc = Number(part);
    if (!Number.isSafeInteger(arc) || arc < 0) throw new RangeError(`bad OID arc ${part} in ${dotted}`);
    return arc;
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined) throw new RangeError(`OID needs two arcs: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    // Base 128, most significant group first, high bit set on all but the last.
    const groups: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) groups.unshift((n % 128) | 0x80);
    bytes.push(...groups);
  }
  return tagged(0x06, Buffer.from(bytes));
}

export function utf8String(value: string): Buffer {
  return tagged(0x0c, Buffer.from(value, 'utf8'));
}

export function octetString(contents: Buffer): Buffer {
  return tagged(0x04, contents);
}

/** A BIT STRING of whole bytes (signatures, keys). */
export function bitString(contents: Buffer): Buffer {
  return tagged(0x03, Buffer.concat([Buffer.from([0]), contents]));
}

/**
 * A named-bit BIT STRING such as KeyUsage: bit 0 is the most significant bit of the first byte.
 * DER drops trailing zero bits, so the encoding stops at the last set bit.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return tagged(0x03, Buffer.from([0]));
  const last = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const bit of bits) {
    const at = Math.floor(bit / 8);
    bytes[at] = (bytes[at] ?? 0) | (0x80 >> bit % 8);
  }
  const unused = 7 - (last % 8);
  return tagged(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

/** UTCTime (years 1950-2049) or GeneralizedTime, always in UTC with seconds, as RFC 5280 asks. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tagged(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tagged(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}
