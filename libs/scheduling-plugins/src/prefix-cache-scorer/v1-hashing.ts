import type { ByteScratch } from '../approx-prefix-cache-producer/hashing.js';
import { xxh64Into } from '../approx-prefix-cache-producer/xxh64.js';

const encoder = new TextEncoder();

/**
 * v1.0 (GIE v1.0.0) character-block hashes of a prompt, as 32-bit halves (`[lo0, hi0, …]`):
 * nothing when the prompt is shorter than one block; the prompt cut to `blockSize × maxBlocks`
 * bytes; `h0 = xxh64(model ‖ block0)`, `h_i = xxh64(block_i ‖ LE64(h_{i−1}))`; a trailing partial
 * block dropped. "Characters" are UTF-8 bytes, as Go's `len(string)`.
 *
 * Go built `block_i ‖ LE64(h_{i−1})` by appending to a sub-slice of the prompt, which writes the
 * eight hash bytes over the start of block i+1 whenever the prompt's buffer has room; so from block
 * 2 on, a block's first eight bytes are `LE64(h_{i−2})` instead of text. Reproduced here so the
 * index behaves as v1.0 did (those bytes never distinguish prompts). Exact for block sizes ≥ 8;
 * below that Go's spare capacity, which we cannot see, decides the last writes.
 */
export function hashPromptV1(text: string, model: string, blockSize: number, maxBlocks: number, scratch: ByteScratch): Uint32Array {
  const fullLength = Buffer.byteLength(text, 'utf8');
  if (fullLength < blockSize || maxBlocks <= 0) return new Uint32Array(0);
  const length = Math.min(fullLength, blockSize * maxBlocks);
  const count = Math.floor(length / blockSize);
  const out = new Uint32Array(2 * count);
  if (count === 0) return out;

  const modelBytes = encoder.encode(model);
  // Layout: [prompt bytes (+8 for the in-place appends)] [room for one block ‖ 8 bytes, or model ‖ block0].
  const tmpAt = length + 8 + 8;
  const buf = scratch.reserve(tmpAt + Math.max(modelBytes.length + blockSize, blockSize + 8));
  const written = encoder.encodeInto(text, buf.subarray(0, length + 8)).written;
  buf.fill(0, Math.min(written, length + 8), length + 8);

  buf.set(modelBytes, tmpAt);
  buf.copyWithin(tmpAt + modelBytes.length, 0, blockSize);
  xxh64Into(out, 0, buf, tmpAt, tmpAt + modelBytes.length + blockSize);

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 1; i < count; i++) {
    const start = i * blockSize;
    const end = start + blockSize;
    const prevLo = out[2 * i - 2] as number;
    const prevHi = out[2 * i - 1] as number;
    if (end + 8 <= fullLength) {
      // Go's append had room: the hash bytes land in the prompt itself, over block i+1's start.
      view.setUint32(end, prevLo, true);
      view.setUint32(end + 4, prevHi, true);
      xxh64Into(out, 2 * i, buf, start, end + 8);
    } else {
      // No room: Go copied the block to a new array; the prompt is untouched.
      buf.copyWithin(tmpAt, start, end);
      view.setUint32(tmpAt + blockSize, prevLo, true);
      view.setUint32(tmpAt + blockSize + 4, prevHi, true);
      xxh64Into(out, 2 * i, buf, tmpAt, tmpAt + blockSize + 8);
    }
  }
  return out;
}
