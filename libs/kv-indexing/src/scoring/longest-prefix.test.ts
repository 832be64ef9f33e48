import { describe, expect, it } from 'vitest';
import type { PodEntry } from '../index/types.js';
import { DEFAULT_TIER_WEIGHTS, longestPrefixScores } from './longest-prefix.js';

const gpu = (pod: string): PodEntry => ({ pod, tier: 'gpu' });
const cpu = (pod: string): PodEntry => ({ pod, tier: 'cpu' });

// Upstream's kvblock_scorer_test.go vector: keys 1001–1006, weights gpu 1 / cpu 0.5.
// A holds gpu, gpu, {gpu, cpu}, –, –, gpu; B holds –, –, –, cpu, cpu.
const upstream: PodEntry[][] = [[gpu('A')], [gpu('A')], [gpu('A'), cpu('A')], [cpu('B')], [cpu('B')], [gpu('A')]];
const upstreamCpuOnly: PodEntry[][] = [[gpu('A')], [gpu('A')], [cpu('A')], [cpu('B')], [cpu('B')], [gpu('A')]];
const half = { gpu: 1, cpu: 0.5 };

describe('longestPrefixScores', () => {
  it.each<[string, PodEntry[][], Record<string, number>, [string, number][]]>([
    ['upstream vector: A=3.0, B absent', upstream, half, [['A', 3]]],
    ['upstream vector, block 3 cpu-only: A=2.5', upstreamCpuOnly, half, [['A', 2.5]]],
    ['no rows', [], half, []],
    ['default weights: cpu 0.8', [[cpu('A')], [gpu('A')]], DEFAULT_TIER_WEIGHTS, [['A', 1.8]]],
    ['unknown tier weighs 1', [[{ pod: 'A', tier: 'disk' }], [cpu('A')]], half, [['A', 1.5]]],
    ['a pod stops at the first block it lacks', [[gpu('A'), gpu('B')], [gpu('B')], [gpu('A'), gpu('B')]], half, [['A', 1], ['B', 3]]],
    ['best tier per block counts once', [[cpu('A'), gpu('A'), cpu('A')]], half, [['A', 1]]],
    ['pods joining after key 0 get nothing', [[gpu('A')], [gpu('A'), gpu('C')]], half, [['A', 2]]],
    ['speculative entries score like others', [[{ pod: 'A', tier: 'gpu', speculative: true }]], half, [['A', 1]]],
  ])('%s', (_name, lookup, weights, expected) => {
    expect([...longestPrefixScores(lookup, weights)].sort()).toEqual(expected);
  });

  it('does not take tier weights from the prototype', () => {
    expect(longestPrefixScores([[{ pod: 'A', tier: 'constructor' }]], half).get('A')).toBe(1);
  });
});
