import type { Filter } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { decodeFilter } from './plugin.js';

const filter = decodeFilter.create('decode', decodeFilter.parameters.parse(undefined), handle()) as Filter;

describe('decode-filter', () => {
  it.each([
    { role: 'decode', kept: true },
    { role: 'prefill-decode', kept: true },
    { role: 'both', kept: true },
    { role: 'encode-prefill-decode', kept: true },
    { role: undefined, kept: true },
    { role: 'prefill', kept: false },
    { role: 'encode', kept: false },
    { role: 'encode-prefill', kept: false },
    { role: '', kept: false },
    { role: 'Decode', kept: false },
  ])('llm-d.ai/role=$role → kept: $kept', ({ role, kept }) => {
    const e = endpoint({ labels: role === undefined ? {} : { 'llm-d.ai/role': role } });
    expect(filter.filter(context(), request(), [e])).toEqual(kept ? [e] : []);
  });

  it('takes no parameters', () => {
    expect(filter.type).toBe('decode-filter');
    expect(decodeFilter.parameters.safeParse({ label: 'x' }).success).toBe(false);
  });
});
