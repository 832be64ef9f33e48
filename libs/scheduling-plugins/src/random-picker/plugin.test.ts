import type { Endpoint, Picker } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, randomSequence, seededRandom } from '../test-support/fixtures.js';
import { randomPicker, shuffleInPlace } from './plugin.js';

const pods = ['a', 'b', 'c'].map((n) => endpoint({ id: `ns/${n}` }));

function pick(parameters: unknown, scores: number[], random: () => number): string[] {
  const picker = randomPicker.create('rnd', randomPicker.parameters.parse(parameters), handle()) as Picker;
  const scored = scores.map((score, i) => ({ endpoint: pods[i] as Endpoint, score }));
  return picker.pick(context({ random }), scored).targets.map((e) => e.metadata.name);
}

describe('random-picker', () => {
  // Fisher–Yates from the end: draw r at step i picks j = floor(r·(i+1)).
  it.each([
    { name: 'r=0 always swaps with the head', params: undefined, random: [0], want: ['b'] },
    { name: 'r≈1 keeps the order', params: { maxNumOfEndpoints: 3 }, random: [0.99], want: ['a', 'b', 'c'] },
    { name: 'r=0 for k=3', params: { maxNumOfEndpoints: 3 }, random: [0], want: ['b', 'c', 'a'] },
    { name: 'scores are ignored (the lowest can win)', params: undefined, random: [0.99], want: ['a'] },
    { name: 'maxNumOfEndpoints ≤ 0 → 1', params: { maxNumOfEndpoints: 0 }, random: [0.99], want: ['a'] },
    { name: 'k beyond the candidates returns them all', params: { maxNumOfEndpoints: 9 }, random: [0.5], want: ['a', 'c', 'b'] },
  ])('$name', ({ params, random, want }) => {
    expect(pick(params, [0, 5, 10], randomSequence(random))).toEqual(want);
  });

  it('returns distinct candidates', () => {
    const picked = pick({ maxNumOfEndpoints: 3 }, [1, 1, 1], seededRandom(3));
    expect(new Set(picked).size).toBe(3);
  });

  it('every candidate can be picked', () => {
    const seen = new Set<string>();
    const random = seededRandom(11);
    for (let i = 0; i < 60; i++) seen.add(pick(undefined, [1, 2, 3], random)[0] as string);
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('shuffleInPlace permutes without losing items', () => {
    const items = [1, 2, 3, 4, 5, 6];
    shuffleInPlace(items, seededRandom(5));
    expect([...items].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
