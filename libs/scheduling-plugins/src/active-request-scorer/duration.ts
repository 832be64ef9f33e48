// Upstream writes durations as Go strings ("2m", "1m30s"); @llmd/scheduling's parser is not part of
// its public entry, so this folder carries its own small one.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a Go duration (`2m`, `1m30s`, `250ms`, `0`) into milliseconds; null when malformed. */
export function parseGoDuration(text: string): number | null {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('+') || s.startsWith('-')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (m === null) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  return Number.isFinite(total) ? sign * total : null;
}
