// Parsers for the two Kubernetes value formats flowControl uses. Both return null on malformed
// input so the schema can report the offending key.

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

const BINARY_SI: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SI: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * A Kubernetes resource quantity (`100`, `1k`, `500M`, `1Gi`, `1e3`, or a plain number) as an
 * integer, rounded up as `Quantity.Value()` does. Null when malformed.
 */
export function parseQuantity(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.ceil(value) : null;
  const m = QUANTITY.exec(value.trim());
  if (!m) return null;
  const base = Number(m[1]);
  let scale = 1;
  if (m[2] !== undefined) scale = BINARY_SI[m[2]] ?? 1;
  else if (m[3] !== undefined) scale = DECIMAL_SI[m[3]] ?? 1;
  else if (m[4] !== undefined) scale = 10 ** Number(m[4]);
  const v = base * scale;
  return Number.isFinite(v) ? Math.ceil(v) : null;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** A Go duration string (`60s`, `1m30s`, `200ms`, `0`) in milliseconds. Null when malformed. */
export function parseDuration(value: string): number | null {
  let s = value.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (!m) return null;
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] as string] ?? Number.NaN);
  }
  return Number.isFinite(total) ? sign * total : null;
}
