import { describe, expect, it } from 'vitest';
import type { Endpoint } from './framework/endpoint.js';
import { RouterError } from './framework/errors.js';
import type {
  Filter,
  Picker,
  ProfileHandler,
  ProfileRunResult,
  SchedulerProfile,
  SchedulingResult,
  ScoredEndpoint,
  Scorer,
} from './framework/plugins.js';
import { Scheduler } from './scheduler.js';
import type { ExtensionPoint, SchedulerObserver } from './scheduler.js';
import { context, endpoint, pickBest, request, runEachOnce } from './test-support/fakes.js';

const eps = ['a', 'b', 'c', 'd'].map((n) => endpoint(n));
const names = (list: readonly Endpoint[]): string[] => list.map((e) => e.metadata.name);

function filter(name: string, keep: (e: Endpoint) => boolean, log?: string[]): Filter {
  return {
    type: 'test-filter',
    name,
    filter(_c, _r, endpoints) {
      log?.push(`${name}:${names(endpoints).join(',')}`);
      return endpoints.filter(keep);
    },
  };
}

function scorer(name: string, scores: (e: Endpoint, i: number) => number): Scorer {
  return { type: 'test-scorer', name, category: 'balance', score: (_c, _r, endpoints) => endpoints.map(scores) };
}

/** A picker that remembers what it was given. */
function recordingPicker(): Picker & { seen: ScoredEndpoint[][] } {
  const seen: ScoredEndpoint[][] = [];
  return { type: 'test-picker', name: 'picker', seen, pick: (_c, scored) => (seen.push([...scored]), pickBest(scored)) };
}

function profile(name: string, parts: Partial<Omit<SchedulerProfile, 'name'>> = {}): SchedulerProfile {
  return { name, filters: parts.filters ?? [], scorers: parts.scorers ?? [], picker: parts.picker ?? recordingPicker() };
}

function single(p: SchedulerProfile, observer?: SchedulerObserver): Scheduler {
  return new Scheduler({ profileHandler: runEachOnce('handler', 'test-handler'), profiles: new Map([[p.name, p]]) }, observer);
}

function recordingObserver(): SchedulerObserver & { calls: string[]; attempts: string[] } {
  const calls: string[] = [];
  const attempts: string[] = [];
  return {
    calls,
    attempts,
    pluginDuration(point: ExtensionPoint, type: string, name: string, seconds: number) {
      expect(seconds).toBeGreaterThanOrEqual(0);
      calls.push(`${point}/${type}/${name}`);
    },
    attempt: (status) => attempts.push(status),
  };
}

describe('Scheduler', () => {
  it('runs filters in order, each on the previous one’s output', () => {
    const log: string[] = [];
    const picker = recordingPicker();
    const p = profile('default', {
      filters: [filter('not-a', (e) => e.metadata.name !== 'a', log), filter('not-c', (e) => e.metadata.name !== 'c', log)],
      picker,
    });
    const result = single(p).schedule(context(), request(), eps);
    expect(log).toEqual(['not-a:a,b,c,d', 'not-c:b,c,d']);
    expect(picker.seen[0]?.map((s) => s.endpoint.metadata.name)).toEqual(['b', 'd']);
    expect(names(result.profileResults.get('default')?.targets ?? [])).toEqual(['b']);
  });

  it('records a null result when filters leave nothing, without running later filters, scorers or the picker', () => {
    const log: string[] = [];
    let scored = false;
    const picker = recordingPicker();
    const p = profile('default', {
      filters: [filter('none', () => false, log), filter('later', () => true, log)],
      scorers: [{ scorer: scorer('s', () => ((scored = true), 1)), weight: 1 }],
      picker,
    });
    const handler: ProfileHandler = {
      ...runEachOnce('h', 'test-handler'),
      processResults: (_c, _r, results): SchedulingResult => ({ profileResults: results, primaryProfileName: 'default' }),
    };
    const result = new Scheduler({ profileHandler: handler, profiles: new Map([['default', p]]) }).schedule(context(), request(), eps);
    expect(result.profileResults.get('default')).toBeNull();
    expect(log).toEqual(['none:a,b,c,d']);
    expect(scored).toBe(false);
    expect(picker.seen).toHaveLength(0);
  });

  it('gives a null result for no candidates even without filters', () => {
    const handler: ProfileHandler = {
      ...runEachOnce('h', 'test-handler'),
      processResults: (_c, _r, results): SchedulingResult => ({ profileResults: results, primaryProfileName: 'default' }),
    };
    const p = profile('default');
    const result = new Scheduler({ profileHandler: handler, profiles: new Map([['default', p]]) }).schedule(context(), request(), []);
    expect(result.profileResults.get('default')).toBeNull();
  });

  it.each([
    { case: 'in range', raw: [0, 0.25, 0.5, 1], weight: 2, totals: [0, 0.5, 1, 2] },
    { case: 'negative and NaN count as 0', raw: [-3, Number.NaN, -0.1, 0.5], weight: 1, totals: [0, 0, 0, 0.5] },
    { case: 'above 1 counts as 1', raw: [1.5, 7, Number.POSITIVE_INFINITY, 1], weight: 3, totals: [3, 3, 3, 3] },
    { case: 'fractional weight', raw: [1, 0.5, 0, 0.2], weight: 0.5, totals: [0.5, 0.25, 0, 0.1] },
  ])('clamps scores to [0, 1] before weighting ($case)', ({ raw, weight, totals }) => {
    const picker = recordingPicker();
    single(profile('default', { scorers: [{ scorer: scorer('s', (_e, i) => raw[i] as number), weight }], picker })).schedule(
      context(),
      request(),
      eps,
    );
    const got = picker.seen[0]?.map((s) => s.score) ?? [];
    expect(got).toHaveLength(4);
    got.forEach((v, i) => expect(v).toBeCloseTo(totals[i] as number, 12));
  });

  it('sums weighted scores without normalising by the total weight', () => {
    const picker = recordingPicker();
    const p = profile('default', {
      scorers: [
        { scorer: scorer('queue', () => 1), weight: 2 },
        { scorer: scorer('kv', (_e, i) => (i === 0 ? 1 : 0)), weight: 2 },
        { scorer: scorer('prefix', (_e, i) => (i === 1 ? 0.5 : 0)), weight: 3 },
      ],
      picker,
    });
    const result = single(p).schedule(context(), request(), eps);
    expect(picker.seen[0]?.map((s) => s.score)).toEqual([4, 3.5, 2, 2]);
    expect(names(result.profileResults.get('default')?.targets ?? [])).toEqual(['a']);
  });

  it('does not carry totals over between cycles and handles more endpoints than its initial buffer', () => {
    const many = Array.from({ length: 300 }, (_, i) => endpoint(`e${i}`));
    let round = 0;
    const picker = recordingPicker();
    const p = profile('default', { scorers: [{ scorer: scorer('s', (_e, i) => (round === 0 ? 1 : i === 299 ? 1 : 0)), weight: 1 }], picker });
    const scheduler = single(p);
    scheduler.schedule(context(), request(), many);
    round = 1;
    const result = scheduler.schedule(context(), request(), many);
    expect(picker.seen[1]?.reduce((sum, s) => sum + s.score, 0)).toBe(1);
    expect(names(result.profileResults.get('default')?.targets ?? [])).toEqual(['e299']);
  });

  it('fails the cycle when a scorer returns the wrong number of scores', () => {
    const bad: Scorer = { type: 't', name: 'short', category: 'balance', score: () => [1] };
    expect(() => single(profile('default', { scorers: [{ scorer: bad, weight: 1 }] })).schedule(context(), request(), eps)).toThrow(
      /scorer "short" returned 1 scores for 4 endpoints/,
    );
  });

  it('asks the profile handler until it picks nothing, passing the results so far (P/D shape)', () => {
    const isPrefill = (e: Endpoint): boolean => e.metadata.name === 'a' || e.metadata.name === 'b';
    const decode = profile('decode', { filters: [filter('decode-filter', (e) => !isPrefill(e))] });
    const prefill = profile('prefill', { filters: [filter('prefill-filter', isPrefill)] });
    const seenResults: string[][] = [];
    const handler: ProfileHandler = {
      type: 'pd-profile-handler',
      name: 'pd',
      pickProfiles(_c, _r, profiles, results) {
        seenResults.push([...results.keys()]);
        if (!results.has('decode')) return [profiles.get('decode') as SchedulerProfile];
        if (!results.has('prefill') && results.get('decode') !== null) return [profiles.get('prefill') as SchedulerProfile];
        return [];
      },
      processResults: (_c, _r, results) => ({ profileResults: results, primaryProfileName: 'decode' }),
    };
    const scheduler = new Scheduler({ profileHandler: handler, profiles: new Map([['prefill', prefill], ['decode', decode]]) });
    const result = scheduler.schedule(context(), request(), eps);
    expect(seenResults).toEqual([[], ['decode'], ['decode', 'prefill']]);
    expect(result.primaryProfileName).toBe('decode');
    expect(names((result.profileResults.get('decode') as ProfileRunResult).targets)).toEqual(['c']);
    expect(names((result.profileResults.get('prefill') as ProfileRunResult).targets)).toEqual(['a']);
  });

  it('refuses a profile handler that picks the same profile twice', () => {
    const p = profile('default');
    const looping: ProfileHandler = { ...runEachOnce('loop', 'test-handler'), pickProfiles: () => [p] };
    const scheduler = new Scheduler({ profileHandler: looping, profiles: new Map([['default', p]]) });
    const err = (() => {
      try {
        scheduler.schedule(context(), request(), eps);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RouterError);
    expect((err as RouterError).code).toBe('Internal');
    expect((err as RouterError).message).toMatch(/picked profile "default" twice/);
  });

  it('reports every plugin call and a successful attempt to the observer', () => {
    const observer = recordingObserver();
    const p = profile('default', {
      filters: [filter('f1', () => true), filter('f2', () => true)],
      scorers: [{ scorer: scorer('s1', () => 1), weight: 1 }],
    });
    single(p, observer).schedule(context(), request(), eps);
    expect(observer.calls).toEqual([
      'profile-handler/test-handler/handler',
      'filter/test-filter/f1',
      'filter/test-filter/f2',
      'scorer/test-scorer/s1',
      'picker/test-picker/picker',
      'profile-handler/test-handler/handler',
      'profile-handler/test-handler/handler',
    ]);
    expect(observer.attempts).toEqual(['success']);
  });

  it('reports a failed attempt and rethrows when the handler finds nothing usable', () => {
    const observer = recordingObserver();
    const p = profile('default', { filters: [filter('none', () => false)] });
    expect(() => single(p, observer).schedule(context(), request(), eps)).toThrow(RouterError);
    expect(observer.attempts).toEqual(['failure']);
  });
});
