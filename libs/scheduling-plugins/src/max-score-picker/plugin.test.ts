import type { Endpoint, Picker } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, randomSequence, seededRandom } from '../test-support/fixtures.js';
import { maxScorePicker } from './plugin.js';

const pods: Record<string, Endpoint> = Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [n, endpoint({ id: `ns/${n}` })]));

function pick(parameters: unknown, scores: Record<string, number>, random: () => number): string[] {
  const picker = maxScorePicker.create('max', maxScorePicker.parameters.parse(parameters), handle()) as Picker;
  const scored = Object.entries(scores).map(([n, score]) => ({ endpoint: pods[n] as Endpoint, score }));
  return picker.pick(context({ random }), scored).targets.map((e) => e.metadata.name);
}

describe('max-score-picker', () => {
  it.each<{ name: string; params: unknown; scores: Record<string, number>; want: string[] }>([
    { name: 'default picks the single best', params: undefined, scores: { a: 1, b: 3, c: 2 }, want: ['b'] },
    { name: 'top k, best first', params: { maxNumOfEndpoints: 2 }, scores: { a: 1, b: 3, c: 2 }, want: ['b', 'c'] },
    { name: 'k larger than the candidates returns all, sorted', params: { maxNumOfEndpoints: 10 }, scores: { a: 1, b: 3, c: 2 }, want: ['b', 'c', 'a'] },
    { name: 'maxNumOfEndpoints 0 → 1', params: { maxNumOfEndpoints: 0 }, scores: { a: 1, b: 3 }, want: ['b'] },
    { name: 'maxNumOfEndpoints -3 → 1', params: { maxNumOfEndpoints: -3 }, scores: { a: 5, b: 3 }, want: ['a'] },
    { name: 'no candidates → no targets', params: undefined, scores: {}, want: [] },
  ])('$name', ({ params, scores, want }) => {
    expect(pick(params, scores, seededRandom(7))).toEqual(want);
  });

  // Two candidates: the shuffle draws once; j = floor(r·2) is 0 (swap) or 1 (keep).
  it.each([
    { name: 'a tie goes to the second candidate when the shuffle swaps', random: [0], want: ['b'] },
    { name: 'a tie goes to the first candidate when the shuffle keeps', random: [0.9], want: ['a'] },
  ])('$name', ({ random, want }) => {
    expect(pick(undefined, { a: 2, b: 2 }, randomSequence(random))).toEqual(want);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('never lets the shuffle beat a higher score (seed %i)', (seed) => {
    expect(pick({ maxNumOfEndpoints: 3 }, { a: 1, b: 2, c: 2, d: 3 }, seededRandom(seed))).toEqual(
      expect.arrayContaining(['d', 'b', 'c']),
    );
    expect(pick({ maxNumOfEndpoints: 3 }, { a: 1, b: 2, c: 2, d: 3 }, seededRandom(seed))[0]).toBe('d');
  });

  it('does not reorder the caller’s array', () => {
    const picker = maxScorePicker.create('max', maxScorePicker.parameters.parse(undefined), handle()) as Picker;
    const scored = [
      { endpoint: pods.a as Endpoint, score: 1 },
      { endpoint: pods.b as Endpoint, score: 2 },
    ];
    picker.pick(context(), scored);
    expect(scored.map((s) => s.endpoint.metadata.name)).toEqual(['a', 'b']);
  });

  it.each([{ maxNumOfEndpoints: 1.5 }, { maxNumOfEndpoints: '2' }, { k: 1 }])('rejects parameters %j', (params) => {
    expect(maxScorePicker.parameters.safeParse(params).success).toBe(false);
  });
});
