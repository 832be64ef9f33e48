import { describe, expect, it } from 'vitest';
import { END_SEQ, decodeSeq, encodeSeq, parseLiveFrames, parseReplayFrames } from './frames.js';

const empty = Buffer.alloc(0);
const topic = Buffer.from('kv@10.0.0.7:8000@m');
const payload = Buffer.from([0x93]);
const seq5 = encodeSeq(5n);
const end = encodeSeq(END_SEQ);

describe('sequence frames', () => {
  it('round-trips big-endian uint64 values', () => {
    for (const seq of [0n, 1n, 255n, 256n, (1n << 63n) + 7n, END_SEQ]) expect(decodeSeq(encodeSeq(seq))).toBe(seq);
    expect([...encodeSeq(258n)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect([...end]).toEqual(Array<number>(8).fill(0xff));
  });

  it('rejects a frame that is not 8 bytes', () => {
    expect(decodeSeq(Buffer.alloc(7))).toBeNull();
    expect(decodeSeq(Buffer.alloc(9))).toBeNull();
  });
});

describe('parseLiveFrames', () => {
  it('reads [topic, seq, payload]', () => {
    expect(parseLiveFrames([topic, seq5, payload])).toEqual({ topic: 'kv@10.0.0.7:8000@m', seq: 5n, payload });
  });

  it.each([
    ['two frames', [topic, seq5]],
    ['four frames', [topic, seq5, payload, payload]],
    ['a short sequence frame', [topic, Buffer.alloc(4), payload]],
  ])('rejects %s', (_name, frames) => {
    expect(parseLiveFrames(frames)).toBeNull();
  });
});

describe('parseReplayFrames', () => {
  it.each([
    ['2-frame batch after the delimiter', [empty, seq5, payload], { end: false, topic: null, seq: 5n, payload }],
    ['2-frame batch without the delimiter', [seq5, payload], { end: false, topic: null, seq: 5n, payload }],
    ['3-frame batch', [empty, topic, seq5, payload], { end: false, topic: 'kv@10.0.0.7:8000@m', seq: 5n, payload }],
    ['2-frame end marker (vLLM)', [empty, end, empty], { end: true }],
    ['3-frame end marker (llm-d)', [empty, empty, end, empty], { end: true }],
    ['3-frame end with an empty payload', [empty, topic, seq5, empty], { end: true }],
    ['a short sequence frame', [empty, Buffer.alloc(3), payload], null],
    ['a lone delimiter', [empty], null],
    ['too many frames', [empty, topic, seq5, payload, payload], null],
  ])('%s', (_name, frames, expected) => {
    expect(parseReplayFrames(frames)).toEqual(expected);
  });
});
