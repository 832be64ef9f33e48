import { describe, expect, it } from 'vitest';
import { normalisedScores } from './plugin.js';

describe('precise-prefix-cache-scorer normalisation', () => {
  it.each([
    ['spread scores', [0, 5, 10], [0, 0.5, 1]],
    ['all equal', [3, 3, 3], [1, 1, 1]],
    ['nothing held anywhere', [0, 0], [1, 1]],
    ['one endpoint', [7], [1]],
    ['none', [], []],
  ])('%s', (_label, raw, expected) => {
    expect([...normalisedScores(raw)]).toEqual(expected);
  });
});
