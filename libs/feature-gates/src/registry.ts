import { z } from 'zod';

/** How far along a gated feature is; `experimental` gates belong to components in `incubation/`. */
export type Maturity = 'experimental' | 'beta' | 'stable';

/** A feature gate a component declares before the registry is frozen. */
export interface FeatureGateSpec {
  /** Gate name as users write it, e.g. `flowControl` or `experimentalPrefixSharding`. */
  readonly name: string;
  /** Whether the feature is on when nobody says otherwise. Experimental gates must default to off. */
  readonly default: boolean;
  readonly maturity: Maturity;
  /** One sentence for `--help` and the docs. */
  readonly description: string;
}

/** A problem with a feature-gate setting; `key` names what the user wrote. */
export class FeatureGateError extends Error {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options);
    this.name = 'FeatureGateError';
    this.key = key;
  }
}

const gateNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'gate names are letters, digits and dashes');

/**
 * The set of known gates and which are enabled. Components declare gates up front; settings from
 * flags (`--feature-gates a=true,b=false`) and config files (`featureGates: [a, b]`) then go through
 * {@link FeatureGates.apply}, which rejects unknown names, so a typo never silently leaves a feature
 * off. An incubating component asks {@link FeatureGates.require} before it builds anything.
 */
export class FeatureGates {
  readonly #specs = new Map<string, FeatureGateSpec>();
  readonly #overrides = new Map<string, boolean>();

  constructor(specs: readonly FeatureGateSpec[] = []) {
    for (const spec of specs) this.declare(spec);
  }

  /** Declares a gate. Experimental gates must carry `experimental` in their name and default to off. */
  declare(spec: FeatureGateSpec): this {
    const parsed = gateNameSchema.safeParse(spec.name);
    if (!parsed.success) throw new FeatureGateError(spec.name, parsed.error.issues[0]?.message ?? 'invalid name');
    if (this.#specs.has(spec.name)) throw new FeatureGateError(spec.name, 'declared twice');
    if (spec.maturity === 'experimental') {
      if (!/experimental/i.test(spec.name)) {
        throw new FeatureGateError(spec.name, 'an experimental gate must have "experimental" in its name');
      }
      if (spec.default) throw new FeatureGateError(spec.name, 'an experimental gate must be off by default');
    }
    this.#specs.set(spec.name, spec);
    return this;
  }

  /** Every declared gate, for `--help` and docs. */
  list(): FeatureGateSpec[] {
    return [...this.#specs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Applies user settings. `source` names where they came from (a flag or config key) so errors
   * point at it. Accepts a list of names to enable, a `{name: bool}` map, or the Kubernetes
   * `name=true,name2=false` string form.
   */
  apply(settings: string | readonly string[] | Readonly<Record<string, boolean>>, source = 'featureGates'): this {
    const pairs: Array<[string, boolean]> = [];
    if (typeof settings === 'string') {
      for (const raw of settings.split(',').map((s) => s.trim()).filter(Boolean)) {
        const [name = '', value, ...rest] = raw.split('=');
        if (rest.length > 0 || (value !== undefined && value !== 'true' && value !== 'false')) {
          throw new FeatureGateError(`${source}.${name}`, `expected name=true|false, got "${raw}"`);
        }
        pairs.push([name.trim(), value === undefined ? true : value === 'true']);
      }
    } else if (Array.isArray(settings)) {
      for (const name of settings as readonly string[]) pairs.push([name, true]);
    } else {
      for (const [name, value] of Object.entries(settings)) pairs.push([name, value as boolean]);
    }
    for (const [name, value] of pairs) {
      if (!this.#specs.has(name)) {
        const known = [...this.#specs.keys()].sort().join(', ') || 'none';
        throw new FeatureGateError(`${source}.${name}`, `unknown feature gate (known: ${known})`);
      }
      if (typeof value !== 'boolean') throw new FeatureGateError(`${source}.${name}`, 'expected true or false');
      this.#overrides.set(name, value);
    }
    return this;
  }

  /** Whether a declared gate is on. Asking about an undeclared gate is a programming error. */
  enabled(name: string): boolean {
    const spec = this.#specs.get(name);
    if (!spec) throw new FeatureGateError(name, 'asked about a feature gate that was never declared');
    return this.#overrides.get(name) ?? spec.default;
  }

  /** Throws unless the gate is on: the first line of every incubating component's factory. */
  require(name: string, what = name): void {
    if (!this.enabled(name)) {
      throw new FeatureGateError(name, `${what} is behind the "${name}" feature gate, which is off`);
    }
  }

  /** The enabled gates, sorted, for logs and `/debug` output. */
  enabledNames(): string[] {
    return [...this.#specs.keys()].filter((n) => this.enabled(n)).sort();
  }
}
