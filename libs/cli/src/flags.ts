/** Thrown for a bad command line or config file; `key` names the flag or config key at fault. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** How a flag takes its value on the command line. */
export type FlagArity = 'boolean' | 'single' | 'list';

/** Result of splitting argv: flag name (without dashes) → raw value(s), plus positionals. */
export interface SplitArgs {
  values: Map<string, string | string[] | boolean>;
  positionals: string[];
}

/**
 * Splits argv the way vLLM and llm-d-inference-sim accept it: `--name value`, `--name=value`,
 * bare boolean flags (`--enable-kvcache`, `--enable-kvcache=false`) and list flags that take every
 * following word up to the next flag (`--served-model-name a b`). Unknown flags are reported with
 * their name, except those listed in `ignored` (vLLM engine flags the simulator accepts and ignores).
 */
export function splitArgs(
  argv: readonly string[],
  arity: (name: string) => FlagArity | undefined,
  ignored: ReadonlySet<string> = new Set(),
): SplitArgs & { ignoredSeen: string[] } {
  const values = new Map<string, string | string[] | boolean>();
  const positionals: string[] = [];
  const ignoredSeen: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replaceAll('_', '-');
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const kind = arity(name);
    if (kind === undefined) {
      if (!ignored.has(name)) throw new ConfigError(`--${name}`, 'unknown flag (see --help)');
      ignoredSeen.push(name);
      // Skip the ignored flag's value, if it has one.
      if (inline === undefined && i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) i++;
      continue;
    }
    if (kind === 'boolean') {
      if (inline === undefined) values.set(name, true);
      else if (inline === 'true' || inline === 'false') values.set(name, inline === 'true');
      else throw new ConfigError(`--${name}`, `expected true or false, got "${inline}"`);
      continue;
    }
    if (kind === 'single') {
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new ConfigError(`--${name}`, 'needs a value');
        value = next;
        i++;
      }
      values.set(name, value);
      continue;
    }
    const list: string[] = [];
    if (inline !== undefined) list.push(inline);
    else {
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) list.push(argv[++i] as string);
      if (list.length === 0) throw new ConfigError(`--${name}`, 'needs at least one value');
    }
    const prev = values.get(name);
    values.set(name, Array.isArray(prev) ? [...prev, ...list] : list);
  }
  return { values, positionals, ignoredSeen };
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration as llm-d-inference-sim accepts it: a bare number is milliseconds, or a Go-style
 * duration string (`250us`, `1.5s`, `1m30s`). Returns milliseconds.
 */
export function parseDurationMs(value: unknown, key: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(key, `expected a non-negative duration, got ${value}`);
    return value;
  }
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(key, 'expected a duration such as 20, "20ms" or "1.5s"');
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  let rest = text;
  const part = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) throw new ConfigError(key, `"${value}" is not a duration (use e.g. 20, "20ms", "1.5s")`);
    total += Number(m[1]) * (durationUnits[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}
