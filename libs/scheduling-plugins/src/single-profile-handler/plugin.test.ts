import { RouterError } from '@llmd/scheduling';
import type { Picker, ProfileHandler, ProfileRunResult, SchedulerProfile } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { singleProfileHandler } from './plugin.js';

const handler = singleProfileHandler.create('single', singleProfileHandler.parameters.parse(undefined), handle()) as ProfileHandler;
const picker: Picker = { type: 'max-score-picker', name: 'max', pick: () => ({ targets: [] }) };
const profile = (name: string): SchedulerProfile => ({ name, filters: [], scorers: [], picker });
const profiles = new Map([['default', profile('default')]]);
const target = endpoint({ id: 'ns/a' });

describe('single-profile-handler', () => {
  it.each([
    { name: 'first round runs the profile', results: new Map<string, ProfileRunResult | null>(), want: ['default'] },
    { name: 'stops once it ran (found something)', results: new Map([['default', { targets: [target] }]]), want: [] },
    { name: 'stops once it ran (found nothing)', results: new Map([['default', null]]), want: [] },
  ])('pickProfiles: $name', ({ results, want }) => {
    expect(handler.pickProfiles(context(), request(), profiles, results).map((p) => p.name)).toEqual(want);
  });

  it('makes the only profile primary and passes its results through', () => {
    const results = new Map([['decode', { targets: [target] }]]);
    const out = handler.processResults(context(), request(), results);
    expect(out.primaryProfileName).toBe('decode');
    expect(out.profileResults.get('decode')?.targets).toEqual([target]);
  });

  it.each([
    { name: 'profile found nothing', results: new Map([['default', null]]), message: "failed to run scheduler profile 'default'" },
    { name: 'profile returned no targets', results: new Map([['default', { targets: [] }]]), message: "failed to run scheduler profile 'default'" },
    { name: 'no profile ran', results: new Map<string, ProfileRunResult | null>(), message: 'intended to be used with a single profile' },
    {
      name: 'more than one profile',
      results: new Map([
        ['a', { targets: [target] }],
        ['b', { targets: [target] }],
      ]),
      message: 'intended to be used with a single profile',
    },
  ])('processResults throws ResourceExhausted (429) when $name', ({ results, message }) => {
    let thrown: unknown;
    try {
      handler.processResults(context(), request(), results);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RouterError);
    const err = thrown as RouterError;
    expect(err.code).toBe('ResourceExhausted');
    expect(err.status).toBe(429);
    expect(err.message).toMatch(/^failed to find target endpoint: /);
    expect(err.message).toContain(message);
  });

  it('takes no parameters', () => {
    expect(singleProfileHandler.parameters.safeParse({ profile: 'x' }).success).toBe(false);
  });
});
