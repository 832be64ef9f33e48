// Loads the shared test vectors (/work/shared/vectors, a sibling of the repository) for the tests.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const vectorsDir = new URL('../../../../../shared/vectors/', import.meta.url);

/**
 * JSON.parse that keeps integers beyond 2^53 exact: every bare integer literal with 16 or more digits
 * becomes a bigint. Strings are skipped, so digits inside them are left alone.
 */
export function parseJsonWithBigInts(text: string): unknown {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|(?<![\w.+-])-?\d{16,}(?![.eE\d])/g, (token) =>
    token.startsWith('"') ? token : `{"$bigint":"${token}"}`,
  );
  return JSON.parse(quoted, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const big = (value as Record<string, unknown>)['$bigint'];
      if (typeof big === 'string' && Object.keys(value).length === 1) return BigInt(big);
    }
    return value;
  });
}

/** Reads and parses one vector file; fails with a clear message when the shared folder is missing. */
export function readVector(name: string): unknown {
  const url = new URL(name, vectorsDir);
  const file = fileURLToPath(url);
  if (!existsSync(file)) {
    throw new Error(
      `test vector ${name} not found at ${file}: the shared vectors folder must sit beside the repository (../shared/vectors)`,
    );
  }
  return parseJsonWithBigInts(readFileSync(file, 'utf8'));
}
