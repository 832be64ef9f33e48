import { definePlugin } from '@llmd/scheduling';
import type { Picker, ScoredEndpoint } from '@llmd/scheduling';
import { pickerParameters, resolveMaxNumOfEndpoints, shuffleInPlace } from '../random-picker/plugin.js';

/** Upstream type name of the weighted random picker. */
export const WEIGHTED_RANDOM_PICKER_TYPE = 'weighted-random-picker';

/**
 * A-Res weighted sampling without replacement: each candidate draws `U^(1/score)` and the `k`
 * largest keys win, so an endpoint's chance grows with its score. Candidates scoring ≤ 0 get key
 * 0 (picked only to fill up); when none scores above 0 this is a uniform random pick.
 */
export function weightedRandomPick(scored: readonly ScoredEndpoint[], k: number, random: () => number): ScoredEndpoint[] {
  if (!scored.some((s) => s.score > 0)) return shuffleInPlace([...scored], random).slice(0, k);
  const keyed = scored.map((s) => {
    if (s.score <= 0) return { s, key: 0 };
    // A zero draw would make every key 0; upstream nudges it to keep the key positive.
    const u = random() || 1e-10;
    return { s, key: u ** (1 / s.score) };
  });
  keyed.sort((a, b) => b.key - a.key);
  return keyed.slice(0, k).map((x) => x.s);
}

/** Picks `maxNumOfEndpoints` candidates at random, weighted by score (A-Res). */
export const weightedRandomPicker = definePlugin({
  type: WEIGHTED_RANDOM_PICKER_TYPE,
  parameters: pickerParameters,
  create: (name, params, handle) => {
    const k = resolveMaxNumOfEndpoints(params.maxNumOfEndpoints, name, handle);
    return {
      type: WEIGHTED_RANDOM_PICKER_TYPE,
      name,
      pick: (ctx, scored) => ({ targets: weightedRandomPick(scored, k, ctx.random).map((s) => s.endpoint) }),
    } satisfies Picker;
  },
});
