import type { Endpoint, Picker } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, randomSequence, seededRandom } from '../test-support/fixtures.js';
import { randomPicker } from '../random-picker/plugin.js';
import { weightedRandomPicker } from './plugin.js';

const pods = ['a', 'b', 'c'].map((n) => endpoint({ id: `ns/${n}` }));

function pickWith(factory: typeof weightedRandomPicker, parameters: unknown, scores: number[], random: () => number): string[] {
  const picker = factory.create('p', factory.parameters.parse(parameters), handle()) as Picker;
  const scored = scores.map((score, i) => ({ endpoint: pods[i] as Endpoint, score }));
  return picker.pick(context({ random }), scored).targets.map((e) => e.metadata.name);
}
const pick = (parameters: unknown, scores: number[], random: () => number) =>
  pickWith(weightedRandomPicker, parameters, scores, random);

describe('weighted-random-picker', () => {
  // key = U^(1/score); the largest keys win.
  it.each([
    { name: 'equal draws favour the higher score', params: undefined, scores: [1, 0.5], random: [0.5, 0.5], want: ['a'] },
    { name: 'a high draw lets the lower score win', params: undefined, scores: [1, 0.5], random: [0.25, 0.81], want: ['b'] },
    { name: 'top k by key, largest first', params: { maxNumOfEndpoints: 2 }, scores: [1, 1, 1], random: [0.2, 0.9, 0.5], want: ['b', 'c'] },
    { name: 'a zero score never beats a positive one', params: undefined, scores: [0, 1], random: [0.99, 0.01], want: ['b'] },
    { name: 'zero scores only fill up after positive ones', params: { maxNumOfEndpoints: 3 }, scores: [0, 1, -1], random: [0.3], want: ['b', 'a', 'c'] },
    { name: 'U = 0 becomes 1e-10, still a positive key', params: { maxNumOfEndpoints: 2 }, scores: [1, 1, 0], random: [0, 0.5], want: ['b', 'a'] },
    { name: 'maxNumOfEndpoints ≤ 0 → 1', params: { maxNumOfEndpoints: -1 }, scores: [1, 1], random: [0.5, 0.9], want: ['b'] },
  ])('$name', ({ params, scores, random, want }) => {
    expect(pick(params, scores, randomSequence(random))).toEqual(want);
  });

  it.each([
    { scores: [0, 0, 0], random: [0] },
    { scores: [0, -1, 0], random: [0.6, 0.1] },
  ])('all scores ≤ 0 behave exactly like random-picker ($scores)', ({ scores, random }) => {
    const params = { maxNumOfEndpoints: 2 };
    expect(pick(params, scores, randomSequence(random))).toEqual(
      pickWith(randomPicker, params, scores, randomSequence(random)),
    );
  });

  it('picks in proportion to score (3:1 → about 75%)', () => {
    const random = seededRandom(42);
    let a = 0;
    const draws = 2000;
    for (let i = 0; i < draws; i++) if (pick(undefined, [3, 1], random)[0] === 'a') a++;
    expect(a / draws).toBeGreaterThan(0.7);
    expect(a / draws).toBeLessThan(0.8);
  });
});
