import type { Filter } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { isLabelKey, isLabelValue, labelSelectorFilter } from './plugin.js';

const pods = [
  endpoint({ id: 'ns/a', labels: { role: 'decode', hw: 'h100' } }),
  endpoint({ id: 'ns/b', labels: { role: 'prefill', hw: 'a100' } }),
  endpoint({ id: 'ns/c', labels: { role: 'decode' } }),
  endpoint({ id: 'ns/d', labels: {} }),
];

function kept(parameters: unknown): string[] {
  const f = labelSelectorFilter.create('sel', labelSelectorFilter.parameters.parse(parameters), handle()) as Filter;
  return f.filter(context(), request(), pods).map((e) => e.metadata.name);
}

describe('label-selector-filter', () => {
  it.each([
    { name: 'absent parameters (empty selector) keep everything', params: undefined, want: ['a', 'b', 'c', 'd'] },
    { name: 'empty selector keeps everything', params: {}, want: ['a', 'b', 'c', 'd'] },
    { name: 'matchLabels: one pair', params: { matchLabels: { role: 'decode' } }, want: ['a', 'c'] },
    { name: 'matchLabels: all pairs must match', params: { matchLabels: { role: 'decode', hw: 'h100' } }, want: ['a'] },
    { name: 'In', params: { matchExpressions: [{ key: 'hw', operator: 'In', values: ['a100', 'h100'] }] }, want: ['a', 'b'] },
    { name: 'NotIn also keeps endpoints without the key', params: { matchExpressions: [{ key: 'hw', operator: 'NotIn', values: ['h100'] }] }, want: ['b', 'c', 'd'] },
    { name: 'Exists', params: { matchExpressions: [{ key: 'hw', operator: 'Exists' }] }, want: ['a', 'b'] },
    { name: 'DoesNotExist', params: { matchExpressions: [{ key: 'hw', operator: 'DoesNotExist' }] }, want: ['c', 'd'] },
    {
      name: 'matchLabels and matchExpressions are ANDed',
      params: { matchLabels: { role: 'decode' }, matchExpressions: [{ key: 'hw', operator: 'DoesNotExist', values: [] }] },
      want: ['c'],
    },
    { name: 'prototype keys are not labels', params: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, want: [] },
  ])('$name', ({ params, want }) => {
    expect(kept(params)).toEqual(want);
  });

  it.each([
    { name: 'unknown operator', params: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } },
    { name: 'In without values', params: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } },
    { name: 'NotIn without values', params: { matchExpressions: [{ key: 'a', operator: 'NotIn' }] } },
    { name: 'Exists with values', params: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
    { name: 'invalid key', params: { matchLabels: { 'bad key': 'x' } } },
    { name: 'invalid value', params: { matchLabels: { role: 'no spaces' } } },
    { name: 'unknown field', params: { selector: {} } },
    { name: 'unknown field in a requirement', params: { matchExpressions: [{ key: 'a', operator: 'Exists', value: 'x' }] } },
  ])('rejects $name', ({ params }) => {
    expect(labelSelectorFilter.parameters.safeParse(params).success).toBe(false);
  });

  it.each([
    { key: 'role', ok: true },
    { key: 'llm-d.ai/role', ok: true },
    { key: 'app.kubernetes.io/name', ok: true },
    { key: 'a_b.c-d', ok: true },
    { key: '', ok: false },
    { key: '-role', ok: false },
    { key: 'Upper.Case/role', ok: false },
    { key: 'a/b/c', ok: false },
    { key: 'x'.repeat(64), ok: false },
  ])('label key "$key" valid: $ok', ({ key, ok }) => {
    expect(isLabelKey(key)).toBe(ok);
  });

  it.each([
    { value: '', ok: true },
    { value: 'decode', ok: true },
    { value: 'v1.2_3-x', ok: true },
    { value: 'a/b', ok: false },
    { value: 'x'.repeat(64), ok: false },
  ])('label value "$value" valid: $ok', ({ value, ok }) => {
    expect(isLabelValue(value)).toBe(ok);
  });

  it('also loads under its v0.3.0 name by-label-selector', () => {
    expect(labelSelectorFilter.aliases).toEqual(['by-label-selector']);
  });
});
