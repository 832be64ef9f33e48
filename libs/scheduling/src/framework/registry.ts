import type { FeatureGates } from '@llmd/feature-gates';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Endpoint } from './endpoint.js';
import type { Plugin } from './plugins.js';

/** What a plugin factory may use when it builds a plugin. */
export interface PluginHandle {
  readonly logger: Logger;
  /** Another configured plugin by instance name (e.g. a scorer reading a producer's state), once all exist. */
  plugin<T extends Plugin = Plugin>(name: string): T | undefined;
  /** Every configured plugin of a type, once all exist. */
  pluginsOfType<T extends Plugin = Plugin>(type: string): T[];
  /** The pool's current endpoints (for plugins that track all endpoints, not just candidates). */
  endpoints(): readonly Endpoint[];
  readonly featureGates: FeatureGates;
  readonly random: () => number;
  readonly now: () => number;
}

/**
 * How a plugin type is declared: its upstream type name, a strict zod schema of its `parameters`
 * (unknown keys rejected, defaults filled in), and a factory. Registered explicitly, never by
 * import side effects.
 */
export interface PluginFactory<P = unknown> {
  readonly type: string;
  readonly parameters: z.ZodType<P>;
  create(name: string, params: P, handle: PluginHandle): Plugin;
  /** Plugin types this one needs; the loader adds each with default parameters when absent. */
  readonly requires?: readonly string[];
  /** When what a plugin needs depends on its parameters: replaces `requires` for that instance. */
  requiresFor?(params: P): readonly string[];
  /** Older type names that load as this type. */
  readonly aliases?: readonly string[];
  /** Set for plugins behind a feature gate (experimental ones: a gate with "experimental" in its name). */
  readonly featureGate?: string;
}

/** Declares a plugin factory with its parameter type inferred from the schema. */
export function definePlugin<S extends z.ZodType>(factory: {
  type: string;
  parameters: S;
  create(name: string, params: z.output<S>, handle: PluginHandle): Plugin;
  requires?: readonly string[];
  requiresFor?: (params: z.output<S>) => readonly string[];
  aliases?: readonly string[];
  featureGate?: string;
}): PluginFactory<z.output<S>> {
  return factory as PluginFactory<z.output<S>>;
}
