// A strict reader of one MessagePack value, made for KV-event payloads: 64-bit integers (types
// uint64 and int64) become bigints and every other integer a number, bin becomes a Uint8Array
// view, maps become plain objects with string keys (number keys are turned into strings). It is
// several times faster than a general-purpose decoder on these payloads, which are mostly arrays
// of small integers. Ext types are refused: vLLM never sends them.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why a payload is not one MessagePack value; `offset` is where reading stopped. */
export class MsgpackReadError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'MsgpackReadError';
    this.offset = offset;
  }
}

/** Nesting limit, so a hostile payload cannot exhaust the stack. */
const MAX_DEPTH = 64;

class Reader {
  pos = 0;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new MsgpackReadError(`truncated: ${n} more bytes expected`, this.pos);
  }

  value(depth: number): unknown {
    this.need(1);
    const b = this.bytes[this.pos++] as number;
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    const v = this.view;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        this.need(1);
        return this.bytes[this.pos++] as number;
      case 0xcd: {
        this.need(2);
        const x = v.getUint16(this.pos);
        this.pos += 2;
        return x;
      }
      case 0xce: {
        this.need(4);
        const x = v.getUint32(this.pos);
        this.pos += 4;
        return x;
      }
      case 0xcf: {
        this.need(8);
        const x = v.getBigUint64(this.pos);
        this.pos += 8;
        return x;
      }
      case 0xd0:
        this.need(1);
        return v.getInt8(this.pos++);
      case 0xd1: {
        this.need(2);
        const x = v.getInt16(this.pos);
        this.pos += 2;
        return x;
      }
      case 0xd2: {
        this.need(4);
        const x = v.getInt32(this.pos);
        this.pos += 4;
        return x;
      }
      case 0xd3: {
        this.need(8);
        const x = v.getBigInt64(this.pos);
        this.pos += 8;
        return x;
      }
      case 0xca: {
        this.need(4);
        const x = v.getFloat32(this.pos);
        this.pos += 4;
        return x;
      }
      case 0xcb: {
        this.need(8);
        const x = v.getFloat64(this.pos);
        this.pos += 8;
        return x;
      }
      case 0xd9:
        this.need(1);
        return this.str(this.bytes[this.pos++] as number);
      case 0xda:
        this.need(2);
        this.pos += 2;
        return this.str(v.getUint16(this.pos - 2));
      case 0xdb:
        this.need(4);
        this.pos += 4;
        return this.str(v.getUint32(this.pos - 4));
      case 0xc4:
        this.need(1);
        return this.bin(this.bytes[this.pos++] as number);
      case 0xc5:
        this.need(2);
        this.pos += 2;
        return this.bin(v.getUint16(this.pos - 2));
      case 0xc6:
        this.need(4);
        this.pos += 4;
        return this.bin(v.getUint32(this.pos - 4));
      case 0xdc:
        this.need(2);
        this.pos += 2;
        return this.array(v.getUint16(this.pos - 2), depth);
      case 0xdd:
        this.need(4);
        this.pos += 4;
        return this.array(v.getUint32(this.pos - 4), depth);
      case 0xde:
        this.need(2);
        this.pos += 2;
        return this.map(v.getUint16(this.pos - 2), depth);
      case 0xdf:
        this.need(4);
        this.pos += 4;
        return this.map(v.getUint32(this.pos - 4), depth);
      default:
        // 0xc1 (never used) and the ext family (0xc7–0xc9, 0xd4–0xd8).
        throw new MsgpackReadError(`unsupported type byte 0x${b.toString(16)}`, this.pos - 1);
    }
  }

  array(length: number, depth: number): unknown[] {
    if (depth >= MAX_DEPTH) throw new MsgpackReadError(`nested deeper than ${MAX_DEPTH}`, this.pos);
    // Every element takes at least one byte: a length beyond the rest is a lie, not a reason to allocate.
    this.need(length);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const b = this.bytes[this.pos] as number;
      // Positive fixints and uint8/16/32 inline: token ids are almost all of a payload.
      if (b <= 0x7f) {
        out[i] = b;
        this.pos++;
      } else if (b === 0xcd && this.pos + 3 <= this.bytes.length) {
        out[i] = ((this.bytes[this.pos + 1] as number) << 8) | (this.bytes[this.pos + 2] as number);
        this.pos += 3;
      } else if (b === 0xce && this.pos + 5 <= this.bytes.length) {
        out[i] = this.view.getUint32(this.pos + 1);
        this.pos += 5;
      } else {
        out[i] = this.value(depth + 1);
      }
    }
    return out;
  }

  map(size: number, depth: number): Record<string, unknown> {
    if (depth >= MAX_DEPTH) throw new MsgpackReadError(`nested deeper than ${MAX_DEPTH}`, this.pos);
    this.need(size * 2);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const at = this.pos;
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') throw new MsgpackReadError('map key is not a string or a number', at);
      // defineProperty: a "__proto__" key is data, not a prototype change.
      Object.defineProperty(out, String(key), { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  str(length: number): string {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    try {
      return utf8.decode(this.bytes.subarray(start, start + length));
    } catch {
      throw new MsgpackReadError('string is not valid UTF-8', start);
    }
  }

  bin(length: number): Uint8Array {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return this.bytes.subarray(start, start + length);
  }
}

/** Reads exactly one MessagePack value from `bytes`; trailing bytes are an error. */
export function readMsgpack(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes);
  const value = reader.value(0);
  if (reader.pos !== bytes.length) throw new MsgpackReadError(`${bytes.length - reader.pos} bytes after the value`, reader.pos);
  return value;
}
