import type { PluginFactory } from './framework/registry.js';

const TYPE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * The plugin types an app knows, registered explicitly in one place (never by import side
 * effects). Aliases (older upstream type names) resolve to their factory.
 */
export class PluginRegistry {
  // Factories are stored as PluginFactory<unknown>: the loader validates parameters with the
  // factory's own schema before it calls create, so the parameter type holds at run time.
  readonly #byType = new Map<string, PluginFactory<unknown>>();
  readonly #byAlias = new Map<string, PluginFactory<unknown>>();

  /** Registers factories; a type or alias that is already taken is an error naming it. */
  register(...factories: readonly PluginFactory<unknown>[]): this {
    for (const f of factories) {
      const names = [f.type, ...(f.aliases ?? [])];
      for (const name of names) {
        if (!TYPE_NAME.test(name)) throw new Error(`plugin type "${name}": type names are kebab-case (a-z, 0-9, dashes)`);
        const taken = this.#byType.get(name) ?? this.#byAlias.get(name);
        if (taken !== undefined) throw new Error(`plugin type "${name}" is registered twice (already taken by "${taken.type}")`);
      }
      if (new Set(names).size !== names.length) throw new Error(`plugin type "${f.type}" lists the same name twice among its type and aliases`);
      this.#byType.set(f.type, f);
      for (const alias of f.aliases ?? []) this.#byAlias.set(alias, f);
    }
    return this;
  }

  /** The factory of a type or alias. */
  get(type: string): PluginFactory<unknown> | undefined {
    return this.#byType.get(type) ?? this.#byAlias.get(type);
  }

  /** Whether a type or alias is registered. */
  has(type: string): boolean {
    return this.#byType.has(type) || this.#byAlias.has(type);
  }

  /** The registered type names (not aliases), sorted. */
  types(): string[] {
    return [...this.#byType.keys()].sort();
  }
}
