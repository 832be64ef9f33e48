// ZMQ frames of vLLM's KV-event publisher (vllm/distributed/kv_events.py, ZmqEventPublisher): live
// messages `[topic, seq (8 bytes, big-endian), payload]` on the PUB socket, and replies of the ROUTER
// replay socket, whose layout differs between vLLM versions.

/** Sequence number vLLM sends to end a replay: -1 as a signed 64-bit big-endian integer (ff×8). */
export const END_SEQ = 0xffff_ffff_ffff_ffffn;

/** One live message. */
export interface LiveFrames {
  readonly topic: string;
  readonly seq: bigint;
  readonly payload: Uint8Array;
}

/** One replay reply: a batch (the topic only in the 3-frame layout) or the end marker. */
export type ReplayFrames = { readonly end: false; readonly topic: string | null; readonly seq: bigint; readonly payload: Uint8Array } | { readonly end: true };

/** The 8-byte big-endian frame of a sequence number. */
export function encodeSeq(seq: bigint): Buffer {
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64BE(seq);
  return frame;
}

/** The sequence number of an 8-byte frame, or null when the frame is not 8 bytes. */
export function decodeSeq(frame: Uint8Array): bigint | null {
  if (frame.length !== 8) return null;
  return Buffer.from(frame.buffer, frame.byteOffset, 8).readBigUInt64BE(0);
}

/** Reads a live message; null when it is not three frames with an 8-byte sequence. */
export function parseLiveFrames(frames: readonly Uint8Array[]): LiveFrames | null {
  if (frames.length !== 3) return null;
  const seq = decodeSeq(frames[1] as Uint8Array);
  if (seq === null) return null;
  return { topic: Buffer.from(frames[0] as Uint8Array).toString('utf8'), seq, payload: frames[2] as Uint8Array };
}

/**
 * Reads a replay reply as a DEALER receives it: an optional empty delimiter, then either vLLM's
 * `[seq, payload]` or the `[topic, seq, payload]` layout llm-d's own replay server and newer vLLM use.
 * The end marker is END_SEQ in either layout, or (3-frame layout) an empty payload. Null when malformed.
 */
export function parseReplayFrames(frames: readonly Uint8Array[]): ReplayFrames | null {
  let parts = frames;
  if (parts.length > 0 && (parts[0] as Uint8Array).length === 0) parts = parts.slice(1);
  if (parts.length === 2) {
    const seq = decodeSeq(parts[0] as Uint8Array);
    if (seq === null) return null;
    if (seq === END_SEQ) return { end: true };
    return { end: false, topic: null, seq, payload: parts[1] as Uint8Array };
  }
  if (parts.length === 3) {
    const seq = decodeSeq(parts[1] as Uint8Array);
    const payload = parts[2] as Uint8Array;
    if (seq === END_SEQ || (seq !== null && payload.length === 0)) return { end: true };
    if (seq === null) return null;
    return { end: false, topic: Buffer.from(parts[0] as Uint8Array).toString('utf8'), seq, payload };
  }
  return null;
}
