import type { InferenceRequest } from '@llmd/scheduling';
import { xxh64Into, xxh64PairInto } from './xxh64.js';

/** Bytes per pseudo-token of upstream's `estimate` token backend. */
export const BYTES_PER_TOKEN = 4;

/** One prompt as the estimate backend sees it: real token ids, or text pieces to concatenate. */
export type PromptInput = { readonly tokenIds: readonly number[] } | { readonly parts: readonly string[] };

/** The hashed blocks of one request. */
export interface RequestBlockHashes {
  /** 64-bit block hashes as 32-bit halves: block `i` is low `halves[2i]`, high `halves[2i + 1]`. */
  readonly halves: Uint32Array;
  /** Number of blocks (all prompts). */
  readonly count: number;
  /** Exclusive end block of each prompt's chain; every prompt chains from the seed on its own. */
  readonly promptEnds: readonly number[];
  /** Pseudo-token count of the whole request (all prompts, before the match cap). */
  readonly totalTokens: number;
}

const NO_HASHES: RequestBlockHashes = Object.freeze({ halves: new Uint32Array(0), count: 0, promptEnds: [], totalTokens: 0 });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text of a chat message's content: the string itself, or its `text` parts in order. */
function contentText(content: unknown, out: string[]): void {
  if (typeof content === 'string') {
    if (content !== '') out.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') out.push(part.text);
  }
}

/**
 * The prompts of a request the way upstream's `estimate` backend reads them: client token ids as
 * they are; chat = tools JSON, then each message's role and content text; completions = the prompt
 * text (each string of a list on its own); responses = JSON of instructions, tools and input;
 * embeddings = JSON of the input; anything else = the parsed prompt text. Multimodal parts are
 * skipped (upstream folds placeholder tokens for them).
 */
export function promptInputs(req: InferenceRequest): PromptInput[] {
  if (req.prompt.tokenIds && req.prompt.tokenIds.length > 0) return [{ tokenIds: req.prompt.tokenIds }];
  const body = req.body;
  if (Array.isArray(body.messages)) {
    const parts: string[] = [];
    if (Array.isArray(body.tools) && body.tools.length > 0) parts.push(JSON.stringify(body.tools));
    for (const m of body.messages) {
      if (!isRecord(m)) continue;
      if (typeof m.role === 'string' && m.role !== '') parts.push(m.role);
      contentText(m.content, parts);
    }
    return [{ parts }];
  }
  if (req.kind === 'completions' || body.prompt !== undefined) {
    const p = body.prompt;
    if (typeof p === 'string') return [{ parts: [p] }];
    if (Array.isArray(p) && p.length > 0 && p.every((s) => typeof s === 'string')) return p.map((s: string) => ({ parts: [s] }));
  } else if (req.kind === 'responses') {
    const combined: Record<string, unknown>[] = [];
    if (body.instructions !== undefined && body.instructions !== null) combined.push({ instructions: body.instructions });
    if (body.tools !== undefined && body.tools !== null) combined.push({ tools: body.tools });
    combined.push({ input: body.input });
    return [{ parts: [JSON.stringify(combined)] }];
  } else if (req.kind === 'embeddings' && body.input !== undefined) {
    return [{ parts: [JSON.stringify(body.input)] }];
  }
  return [{ parts: [req.prompt.text] }];
}

/** Pseudo-token count of one prompt: token ids, or UTF-8 bytes packed four to a token. */
function promptTokenCount(p: PromptInput): number {
  if ('tokenIds' in p) return p.tokenIds.length;
  let bytes = 0;
  for (const s of p.parts) bytes += Buffer.byteLength(s, 'utf8');
  return Math.ceil(bytes / BYTES_PER_TOKEN);
}

/** The request's input size in pseudo-tokens, as upstream's estimate backend counts it (no hashing). */
export function estimatePromptTokens(req: InferenceRequest): number {
  let n = 0;
  for (const p of promptInputs(req)) n += promptTokenCount(p);
  return n;
}

const encoder = new TextEncoder();

/**
 * A reusable byte buffer for a prompt's packed pseudo-tokens, so hashing does not allocate a fresh
 * copy of every prompt. One per plugin instance; hashing is synchronous, so it is never shared by
 * two requests at once.
 */
export class ByteScratch {
  #buf = new Uint8Array(64 * 1024);

  /** The buffer, at least `n` bytes long (contents undefined). */
  reserve(n: number): Uint8Array {
    if (this.#buf.length < n) this.#buf = new Uint8Array(Math.max(n, this.#buf.length * 2));
    return this.#buf;
  }
}

/**
 * Writes a prompt's pseudo-token bytes (at most `limitBytes`) into the scratch buffer, zero-padding
 * the last token, and returns the buffer and the number of bytes written.
 */
function packPrompt(p: PromptInput, limitBytes: number, scratch: ByteScratch): { bytes: Uint8Array; length: number } {
  if ('tokenIds' in p) {
    const n = Math.min(p.tokenIds.length, Math.floor(limitBytes / BYTES_PER_TOKEN));
    const bytes = scratch.reserve(n * BYTES_PER_TOKEN);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) view.setUint32(i * BYTES_PER_TOKEN, (p.tokenIds[i] as number) >>> 0, true);
    return { bytes, length: n * BYTES_PER_TOKEN };
  }
  let total = 0;
  for (const s of p.parts) total += Buffer.byteLength(s, 'utf8');
  const want = Math.min(total, limitBytes);
  // 4 bytes of slack: encodeInto writes whole characters only, so it can always reach `want`.
  const bytes = scratch.reserve(want + 2 * BYTES_PER_TOKEN);
  let len = 0;
  for (const s of p.parts) {
    if (len >= want) break;
    len += encoder.encodeInto(s, bytes.subarray(len, want + BYTES_PER_TOKEN)).written;
  }
  len = Math.min(len, want);
  while (len % BYTES_PER_TOKEN !== 0) bytes[len++] = 0;
  return { bytes, length: len };
}

/** Seed of every chain: XXH64 of `model ‖ cacheSalt`. */
function chainSeed(model: string, cacheSalt: string, out: Uint32Array): void {
  const seedBytes = encoder.encode(model + cacheSalt);
  xxh64Into(out, 0, seedBytes, 0, seedBytes.length);
}

/**
 * Chained block hashes of a request, HEAD rules: prompts cut into blocks of `blockSizeTokens`
 * pseudo-tokens (the last block may be partial), `content_i = xxh64(block bytes)`,
 * `h_i = xxh64(LE64(content_i) ‖ LE64(h_{i−1}))`, `h_{−1} = xxh64(model ‖ cacheSalt)`; at most
 * `maxBlocks` blocks per prompt (`Infinity` for no cap).
 */
export function hashRequestBlocks(req: InferenceRequest, blockSizeTokens: number, maxBlocks: number, scratch: ByteScratch): RequestBlockHashes {
  const prompts = promptInputs(req);
  const tokens = prompts.map(promptTokenCount);
  let totalTokens = 0;
  for (const t of tokens) totalTokens += t;
  if (totalTokens === 0 || maxBlocks <= 0) return { ...NO_HASHES, totalTokens };

  const blockBytes = blockSizeTokens * BYTES_PER_TOKEN;
  const limitBytes = Number.isFinite(maxBlocks) ? maxBlocks * blockBytes : Infinity;
  const salt = typeof req.body.cache_salt === 'string' ? req.body.cache_salt : '';
  const seed = new Uint32Array(2);
  chainSeed(req.targetModel, salt, seed);

  // Upper bound of the block count, so the result is one allocation.
  let bound = 0;
  for (const t of tokens) bound += Math.min(Math.ceil(t / blockSizeTokens), maxBlocks);
  const halves = new Uint32Array(2 * bound);
  const content = new Uint32Array(2);
  const promptEnds: number[] = [];
  let count = 0;
  for (const p of prompts) {
    const { bytes, length } = packPrompt(p, limitBytes, scratch);
    if (length === 0) continue;
    let prevLo = seed[0] as number;
    let prevHi = seed[1] as number;
    for (let start = 0; start < length; start += blockBytes) {
      xxh64Into(content, 0, bytes, start, Math.min(start + blockBytes, length));
      xxh64PairInto(halves, 2 * count, content[0] as number, content[1] as number, prevLo, prevHi);
      prevLo = halves[2 * count] as number;
      prevHi = halves[2 * count + 1] as number;
      count++;
    }
    promptEnds.push(count);
  }
  return { halves: count === bound ? halves : halves.subarray(0, 2 * count), count, promptEnds, totalTokens };
}
