import type { Filter } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { prefillFilter } from './plugin.js';

const filter = prefillFilter.create('prefill', prefillFilter.parameters.parse(undefined), handle()) as Filter;

describe('prefill-filter', () => {
  it.each([
    { role: 'prefill', kept: true },
    { role: 'encode-prefill', kept: true },
    { role: 'prefill-decode', kept: true },
    { role: 'both', kept: true },
    { role: 'encode-prefill-decode', kept: true },
    { role: undefined, kept: false },
    { role: 'decode', kept: false },
    { role: 'encode', kept: false },
    { role: '', kept: false },
  ])('llm-d.ai/role=$role → kept: $kept', ({ role, kept }) => {
    const e = endpoint({ labels: role === undefined ? {} : { 'llm-d.ai/role': role } });
    expect(filter.filter(context(), request(), [e])).toEqual(kept ? [e] : []);
  });

  it('keeps input order and takes no parameters', () => {
    const es = ['prefill', 'decode', 'both'].map((role) => endpoint({ labels: { 'llm-d.ai/role': role } }));
    expect(filter.filter(context(), request(), es)).toEqual([es[0], es[2]]);
    expect(prefillFilter.parameters.safeParse({ roles: [] }).success).toBe(false);
  });
});
