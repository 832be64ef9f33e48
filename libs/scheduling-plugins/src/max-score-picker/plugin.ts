import { definePlugin } from '@llmd/scheduling';
import type { Picker } from '@llmd/scheduling';
import { pickerParameters, resolveMaxNumOfEndpoints, shuffleInPlace } from '../random-picker/plugin.js';

/** Upstream type name of the max-score picker. */
export const MAX_SCORE_PICKER_TYPE = 'max-score-picker';

/**
 * Picks the `maxNumOfEndpoints` highest-scored candidates, best first. Candidates are shuffled
 * before the stable sort so that ties go to a random endpoint rather than always the first one.
 */
export const maxScorePicker = definePlugin({
  type: MAX_SCORE_PICKER_TYPE,
  parameters: pickerParameters,
  create: (name, params, handle) => {
    const k = resolveMaxNumOfEndpoints(params.maxNumOfEndpoints, name, handle);
    return {
      type: MAX_SCORE_PICKER_TYPE,
      name,
      pick: (ctx, scored) => ({
        targets: shuffleInPlace([...scored], ctx.random)
          .sort((a, b) => b.score - a.score)
          .slice(0, k)
          .map((s) => s.endpoint),
      }),
    } satisfies Picker;
  },
});
