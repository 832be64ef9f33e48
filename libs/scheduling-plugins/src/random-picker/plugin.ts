import { definePlugin } from '@llmd/scheduling';
import type { Picker, PluginHandle } from '@llmd/scheduling';
import { z } from 'zod';

/** Upstream type name of the random picker. */
export const RANDOM_PICKER_TYPE = 'random-picker';

/** Upstream's default number of endpoints a picker returns. */
export const DEFAULT_MAX_NUM_OF_ENDPOINTS = 1;

/** The `parameters` schema every picker shares: `maxNumOfEndpoints`, default 1. */
export const pickerParameters = z
  .object({
    /** How many endpoints to return: the primary target first, then fallbacks. */
    maxNumOfEndpoints: z.number().int().default(DEFAULT_MAX_NUM_OF_ENDPOINTS),
  })
  .strict()
  .prefault({});

/** `maxNumOfEndpoints` as used: upstream treats values ≤ 0 as the default 1 (logged here). */
export function resolveMaxNumOfEndpoints(value: number, name: string, handle: PluginHandle): number {
  if (value > 0) return value;
  handle.logger.warn(
    { plugin: name, maxNumOfEndpoints: value, using: DEFAULT_MAX_NUM_OF_ENDPOINTS },
    'picker: maxNumOfEndpoints must be positive, using the default',
  );
  return DEFAULT_MAX_NUM_OF_ENDPOINTS;
}

/** Shuffles `items` in place (Fisher–Yates, from the end, as Go's rand.Shuffle) and returns it. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Picks `maxNumOfEndpoints` candidates uniformly at random, ignoring scores. */
export const randomPicker = definePlugin({
  type: RANDOM_PICKER_TYPE,
  parameters: pickerParameters,
  create: (name, params, handle) => {
    const k = resolveMaxNumOfEndpoints(params.maxNumOfEndpoints, name, handle);
    return {
      type: RANDOM_PICKER_TYPE,
      name,
      pick: (ctx, scored) => ({
        targets: shuffleInPlace([...scored], ctx.random)
          .slice(0, k)
          .map((s) => s.endpoint),
      }),
    } satisfies Picker;
  },
});
