/** One series of a Prometheus text exposition (format 0.0.4). */
export interface Sample {
  readonly name: string;
  /** Label values, unescaped. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value; `+Inf`, `-Inf` and `NaN` become the matching numbers. */
  readonly value: number;
  /** Milliseconds since the epoch when the line carries a timestamp, else undefined. */
  readonly timestampMs: number | undefined;
}

/** Samples grouped by metric name, each list in exposition order. */
export type SamplesByName = Map<string, Sample[]>;

const TAB = 9;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/**
 * Parses a Prometheus text exposition into samples grouped by metric name. With `names`, only the
 * lines of those metrics are read: a line is matched by looking at the character just past each
 * wanted name's length, so no strings or objects are built for series nobody reads (a vLLM page is
 * mostly histogram buckets the router ignores). Comments (`# HELP`, `# TYPE`, …) and malformed
 * lines are skipped; the parser never throws.
 */
export function parsePrometheusText(text: string, names?: ReadonlySet<string>): SamplesByName {
  const out: SamplesByName = new Map();
  const wanted = names === undefined ? undefined : namesByLength(names);
  const length = text.length;
  let pos = 0;
  while (pos < length) {
    let next = text.indexOf('\n', pos);
    if (next < 0) next = length;
    let end = next;
    if (end > pos && text.charCodeAt(end - 1) === CR) end--;
    if (wanted === undefined || isWanted(text, skipBlanks(text, pos, end), end, wanted)) {
      const sample = parseLine(text, pos, end);
      if (sample !== undefined) {
        const list = out.get(sample.name);
        if (list) list.push(sample);
        else out.set(sample.name, [sample]);
      }
    }
    pos = next + 1;
  }
  return out;
}

/** Wanted names grouped by length, cached per set (the scraper reuses one set per engine). */
type NamesByLength = ReadonlyArray<readonly [number, readonly string[]]>;

const namesByLengthCache = new WeakMap<ReadonlySet<string>, NamesByLength>();

function namesByLength(names: ReadonlySet<string>): NamesByLength {
  let grouped = namesByLengthCache.get(names);
  if (!grouped) {
    const byLength = new Map<number, string[]>();
    for (const name of names) {
      if (name === '') continue;
      const list = byLength.get(name.length);
      if (list) list.push(name);
      else byLength.set(name.length, [name]);
    }
    grouped = [...byLength.entries()];
    namesByLengthCache.set(names, grouped);
  }
  return grouped;
}

/** True when the line starting at `start` names one of `wanted` (followed by `{` or a blank). */
function isWanted(text: string, start: number, end: number, wanted: NamesByLength): boolean {
  for (const [length, names] of wanted) {
    const after = start + length;
    if (after >= end) continue;
    const c = text.charCodeAt(after);
    if (c !== OPEN_BRACE && !isBlank(c)) continue;
    for (const name of names) if (text.startsWith(name, start)) return true;
  }
  return false;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isNameStart(c: number): boolean {
  // [a-zA-Z_:]
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function isLabelStart(c: number): boolean {
  // [a-zA-Z_]
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 48 && c <= 57);
}

function skipBlanks(text: string, i: number, end: number): number {
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** One line → a sample, or undefined for comments, blank lines and garbage. */
function parseLine(text: string, start: number, end: number): Sample | undefined {
  let i = skipBlanks(text, start, end);
  if (i >= end || text.charCodeAt(i) === HASH || !isNameStart(text.charCodeAt(i))) return undefined;
  const nameStart = i;
  while (i < end && isNameChar(text.charCodeAt(i))) i++;
  if (i >= end) return undefined;
  const afterName = text.charCodeAt(i);
  if (afterName !== OPEN_BRACE && !isBlank(afterName)) return undefined;
  const name = text.slice(nameStart, i);

  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  if (afterName === OPEN_BRACE) {
    i = parseLabels(text, i + 1, end, labels);
    if (i < 0) return undefined;
  }
  // The value must be separated from the name or the closing brace by blanks (or follow `}` directly).
  const valueStart = skipBlanks(text, i, end);
  if (valueStart === i && afterName !== OPEN_BRACE) return undefined;
  let valueEnd = valueStart;
  while (valueEnd < end && !isBlank(text.charCodeAt(valueEnd))) valueEnd++;
  if (valueEnd === valueStart) return undefined;
  const value = parseValue(text.slice(valueStart, valueEnd));
  if (value === undefined) return undefined;

  let timestampMs: number | undefined;
  const tsStart = skipBlanks(text, valueEnd, end);
  if (tsStart < end) {
    let tsEnd = tsStart;
    while (tsEnd < end && !isBlank(text.charCodeAt(tsEnd))) tsEnd++;
    const token = text.slice(tsStart, tsEnd);
    const ts = Number(token);
    if (!/^-?\d+$/.test(token) || !Number.isSafeInteger(ts)) return undefined;
    if (skipBlanks(text, tsEnd, end) !== end) return undefined;
    timestampMs = ts;
  }
  return { name, labels, value, timestampMs };
}

/**
 * Reads `name="value",…}` starting after `{` into `labels`; returns the index after `}`, or -1 when
 * the label set is malformed.
 */
function parseLabels(text: string, i: number, end: number, labels: Record<string, string>): number {
  for (;;) {
    i = skipBlanks(text, i, end);
    if (i >= end) return -1;
    if (text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
    if (!isLabelStart(text.charCodeAt(i))) return -1;
    const nameStart = i;
    while (i < end && isLabelChar(text.charCodeAt(i))) i++;
    const labelName = text.slice(nameStart, i);
    i = skipBlanks(text, i, end);
    if (i >= end || text.charCodeAt(i) !== EQUALS) return -1;
    i = skipBlanks(text, i + 1, end);
    if (i >= end || text.charCodeAt(i) !== QUOTE) return -1;
    i++;
    // Fast path: copy runs between escapes with one slice each.
    let value = '';
    let runStart = i;
    for (;;) {
      if (i >= end) return -1;
      const c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        if (i + 1 >= end) return -1;
        value += text.slice(runStart, i);
        const escaped = text.charCodeAt(i + 1);
        if (escaped === BACKSLASH) value += '\\';
        else if (escaped === QUOTE) value += '"';
        else if (escaped === 110 /* n */) value += '\n';
        else value += text.slice(i, i + 2); // unknown escape: kept as written
        i += 2;
        runStart = i;
        continue;
      }
      i++;
    }
    value += text.slice(runStart, i);
    labels[labelName] = value;
    i = skipBlanks(text, i + 1, end);
    if (i >= end) return -1;
    const sep = text.charCodeAt(i);
    if (sep === COMMA) i++;
    else if (sep !== CLOSE_BRACE) return -1;
  }
}

/** A sample value as Go's ParseFloat reads it (Prometheus' own parser uses it): `+Inf`, `NaN`, … */
function parseValue(token: string): number | undefined {
  const n = Number(token);
  if (!Number.isNaN(n)) return n;
  switch (token.toLowerCase()) {
    case 'nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}
