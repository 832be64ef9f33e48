import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared test-vector folder, a sibling of the repository (`../shared/vectors`). */
export const VECTORS_DIR = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));

/**
 * Parses JSON keeping integers beyond 2^53 exact: such numbers become `bigint`, smaller ones stay
 * `number`. Recorded vLLM hashes are uint64 written as plain JSON numbers.
 */
export function parseJsonWithBigInts<T = unknown>(text: string): T {
  const quoted = text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"__big:$2"');
  return JSON.parse(quoted, (_k, v) => {
    if (typeof v !== 'string' || !v.startsWith('__big:')) return v;
    const big = BigInt(v.slice(6));
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }) as T;
}

/** Reads a file of the shared vectors with {@link parseJsonWithBigInts}; a clear error if the folder is missing. */
export function readVector<T = Record<string, unknown>>(file: string): T {
  const path = `${VECTORS_DIR}${file}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new Error(`test vector ${path} not found: the shared/ folder must sit beside the repository`, { cause });
  }
  return parseJsonWithBigInts<T>(text);
}
