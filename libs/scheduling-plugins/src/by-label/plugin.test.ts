import type { Filter } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { byLabelFilter } from './plugin.js';

const pods = [
  endpoint({ id: 'ns/gpu-a100', labels: { gpu: 'a100' } }),
  endpoint({ id: 'ns/gpu-h100', labels: { gpu: 'h100' } }),
  endpoint({ id: 'ns/gpu-empty', labels: { gpu: '' } }),
  endpoint({ id: 'ns/no-label', labels: { other: 'x' } }),
];

function kept(parameters: unknown): string[] {
  const filter = byLabelFilter.create('f', byLabelFilter.parameters.parse(parameters), handle()) as Filter;
  return filter.filter(context(), request(), pods).map((e) => e.metadata.name);
}

describe('by-label', () => {
  it.each([
    { name: 'keeps endpoints with a valid value', params: { label: 'gpu', validValues: ['h100'] }, want: ['gpu-h100'] },
    { name: 'several valid values, input order kept', params: { label: 'gpu', validValues: ['h100', 'a100'] }, want: ['gpu-a100', 'gpu-h100'] },
    { name: 'allowsNoLabel keeps endpoints without the label', params: { label: 'gpu', validValues: ['a100'], allowsNoLabel: true }, want: ['gpu-a100', 'no-label'] },
    { name: 'an empty value is a value, not a missing label', params: { label: 'gpu', validValues: [], allowsNoLabel: true }, want: ['no-label'] },
    { name: 'no valid values and no allowsNoLabel → nothing', params: { label: 'gpu' }, want: [] },
    { name: 'upstream quirk: "" in validValues also keeps unlabelled endpoints', params: { label: 'gpu', validValues: [''] }, want: ['gpu-empty', 'no-label'] },
    { name: 'prototype keys are not labels', params: { label: 'constructor', validValues: [], allowsNoLabel: true }, want: ['gpu-a100', 'gpu-h100', 'gpu-empty', 'no-label'] },
  ])('$name', ({ params, want }) => {
    expect(kept(params)).toEqual(want);
  });

  it.each([
    { name: 'missing parameters', params: undefined },
    { name: 'missing label', params: { validValues: ['a'] } },
    { name: 'empty label', params: { label: '' } },
    { name: 'unknown key', params: { label: 'gpu', values: ['a'] } },
    { name: 'validValues not a list', params: { label: 'gpu', validValues: 'a' } },
  ])('rejects $name', ({ params }) => {
    expect(byLabelFilter.parameters.safeParse(params).success).toBe(false);
  });

  it('defaults validValues to [] and allowsNoLabel to false', () => {
    expect(byLabelFilter.parameters.parse({ label: 'gpu' })).toEqual({ label: 'gpu', validValues: [], allowsNoLabel: false });
  });
});
