import { isPreRequestHook, isProfileHandler, RouterError, Scheduler } from '@llmd/scheduling';
import type { Endpoint, Plugin, ProfileRunResult } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, handle, recordedHeaders, request, schedulingResult } from '../test-support/fixtures.js';
import { isPdDecisionSource, type PdDecider, type PdDecision } from './decider.js';
import { disaggProfileHandler, type DisaggProfileHandler } from './plugin.js';
import { pdProfiles, roleEndpoint } from './test-support/profiles.js';

/** A decider answering `answer`, recording the decode endpoints it was asked about. */
function fakeDecider(answer: boolean, name = 'decider'): PdDecider & { asked: Endpoint[] } {
  const asked: Endpoint[] = [];
  return {
    type: 'fake-pd-decider',
    name,
    asked,
    disaggregate: (_ctx, _req, decode) => {
      asked.push(decode);
      return answer;
    },
  };
}

const build = (params: unknown, plugins: readonly Plugin[] = []): DisaggProfileHandler =>
  disaggProfileHandler.create('disagg', disaggProfileHandler.parameters.parse(params), handle({ plugins })) as DisaggProfileHandler;

const decodeA = roleEndpoint('decode', '10.3.0.1');
const prefillA = roleEndpoint('prefill', '10.3.1.1');
const pool = [decodeA, prefillA];
const r = (entries: [string, readonly Endpoint[] | null][]) =>
  new Map<string, ProfileRunResult | null>(entries.map(([n, t]) => [n, t === null ? null : { targets: t }]));

describe('disagg-profile-handler: the profile loop', () => {
  const { profiles } = pdProfiles();

  it.each([
    { name: 'decode runs first', answer: true, results: r([]), want: ['decode'], asked: 0 },
    { name: 'decider yes: prefill', answer: true, results: r([['decode', [decodeA]]]), want: ['prefill'], asked: 1 },
    { name: 'decider no: done (decode only)', answer: false, results: r([['decode', [decodeA]]]), want: [], asked: 1 },
    { name: 'decode failed: done, decider not asked', answer: true, results: r([['decode', null]]), want: [], asked: 0 },
    { name: 'prefill ran: done, decider not asked again', answer: true, results: r([['decode', [decodeA]], ['prefill', null]]), want: [], asked: 0 },
  ])('$name', ({ answer, results, want, asked }) => {
    const decider = fakeDecider(answer);
    const handler = build({ deciders: { prefill: 'decider' } }, [decider]);
    expect(handler.pickProfiles(context(), request(), profiles, results).map((p) => p.name)).toEqual(want);
    expect(decider.asked).toHaveLength(asked);
    if (asked > 0) expect(decider.asked[0]).toBe(decodeA);
  });

  it('without a prefill decider it never disaggregates', () => {
    const handler = build(undefined);
    expect(handler.pickProfiles(context(), request(), profiles, r([['decode', [decodeA]]]))).toEqual([]);
    expect(handler.prefillDecider()).toBeNull();
  });

  it('without a prefill profile it does not ask the decider', () => {
    const decider = fakeDecider(true);
    const { decode } = pdProfiles();
    const handler = build({ deciders: { prefill: 'decider' } }, [decider]);
    expect(handler.pickProfiles(context(), request(), new Map([['decode', decode]]), r([['decode', [decodeA]]]))).toEqual([]);
    expect(decider.asked).toHaveLength(0);
  });

  it.each([
    { name: 'is not configured', plugins: [], message: 'deciders.prefill plugin "decider" is not configured' },
    { name: 'is not a decider', plugins: [{ type: 'queue-scorer', name: 'decider' }], message: 'plugin "decider" (type queue-scorer) is not a P/D decider' },
  ])('fails with Internal when the named decider $name', ({ plugins, message }) => {
    const handler = build({ deciders: { prefill: 'decider' } }, plugins);
    let thrown: unknown;
    try {
      handler.pickProfiles(context(), request(), profiles, r([['decode', [decodeA]]]));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RouterError);
    expect((thrown as RouterError).code).toBe('Internal');
    expect((thrown as RouterError).message).toContain(message);
  });

  it('resolves the decider by name once, on first use', () => {
    const plugins: Plugin[] = [];
    const handler = build({ deciders: { prefill: 'late' } }, plugins);
    // Created before the decider exists, as the loader does; found once it does.
    const decider = fakeDecider(true, 'late');
    plugins.push(decider);
    expect(handler.prefillDecider()).toBe(decider);
    plugins.length = 0;
    expect(handler.prefillDecider()).toBe(decider);
  });
});

describe('disagg-profile-handler: through the scheduler', () => {
  it.each([
    { name: 'decider yes: decode primary, prefill target, header set', answer: true, pool, prefill: prefillA, header: '10.3.1.1:8000' },
    { name: 'decider no: decode only, header cleared', answer: false, pool, prefill: undefined, header: undefined },
    { name: 'prefill found nothing: dropped, header cleared', answer: true, pool: [decodeA], prefill: undefined, header: undefined },
  ])('$name', ({ answer, pool: candidates, prefill, header }) => {
    const { profiles } = pdProfiles();
    const handler = build({ deciders: { prefill: 'decider' } }, [fakeDecider(answer)]);
    const req = request({ headers: { 'x-prefiller-host-port': '6.6.6.6:1' } });
    const result = new Scheduler({ profileHandler: handler, profiles }).schedule(context(), req, candidates);
    expect(result.primaryProfileName).toBe('decode');
    expect(result.profileResults.get('decode')?.targets).toEqual([decodeA]);
    expect(result.profileResults.get('prefill')?.targets[0]).toBe(prefill);
    const headers = recordedHeaders();
    handler.preRequest(context(), req, result, headers);
    expect(headers.headers.get('x-prefiller-host-port')).toBe(header);
    if (header === undefined) expect(headers.removed.has('x-prefiller-host-port')).toBe(true);
  });

  it('fails with ResourceExhausted (429) when nothing can decode', () => {
    const { profiles } = pdProfiles();
    const handler = build({ deciders: { prefill: 'decider' } }, [fakeDecider(true)]);
    const scheduler = new Scheduler({ profileHandler: handler, profiles });
    expect(() => scheduler.schedule(context(), request(), [prefillA])).toThrow(/failed to find available decode workers/);
  });

  it('drops a failed prefill in processResults', () => {
    const out = build(undefined).processResults(context(), request(), schedulingResult({ decode: [decodeA], prefill: null }).profileResults);
    expect([...out.profileResults.keys()]).toEqual(['decode']);
  });

  it('counts decisions per outcome and reports them to listeners until unsubscribed', () => {
    const { profiles } = pdProfiles();
    const answers = [true, false, true];
    const decider: PdDecider = { type: 'fake-pd-decider', name: 'decider', disaggregate: () => answers.shift() ?? false };
    const handler = build({ deciders: { prefill: 'decider' } }, [decider]);
    const seen: PdDecision[] = [];
    const unsubscribe = handler.onDecision((d) => seen.push(d));
    const scheduler = new Scheduler({ profileHandler: handler, profiles });
    scheduler.schedule(context(), request({ model: 'a' }), pool);
    scheduler.schedule(context(), request({ model: 'b' }), pool);
    unsubscribe();
    scheduler.schedule(context(), request({ model: 'c' }), pool);
    // Decode failures are not decisions.
    expect(() => scheduler.schedule(context(), request({ model: 'd' }), [prefillA])).toThrow(RouterError);
    expect(handler.decisions()).toEqual({ disaggregated: 2, aggregated: 1 });
    expect(seen).toEqual([
      { model: 'a', decisionType: 'prefill-decode' },
      { model: 'b', decisionType: 'decode-only' },
    ]);
    expect(isPdDecisionSource(handler)).toBe(true);
  });
});

describe('disagg-profile-handler: parameters', () => {
  it.each([
    ['defaults (P/D off)', undefined, { decodeProfile: 'decode', prefillProfile: 'prefill', prefillDecider: null }],
    ['HEAD sample', { deciders: { prefill: 'prefix-based-pd-decider' } }, { decodeProfile: 'decode', prefillProfile: 'prefill', prefillDecider: 'prefix-based-pd-decider' }],
    ['nested profiles', { profiles: { decode: 'd', prefill: 'p' } }, { decodeProfile: 'd', prefillProfile: 'p', prefillDecider: null }],
    ['flat names', { decodeProfile: 'd', prefillProfile: 'p', deciderPluginName: 'x' }, { decodeProfile: 'd', prefillProfile: 'p', prefillDecider: 'x' }],
    ['flat profiles with nested deciders', { decodeProfile: 'd', deciders: { prefill: 'x' } }, { decodeProfile: 'd', prefillProfile: 'prefill', prefillDecider: 'x' }],
    ['the same value twice', { decodeProfile: 'd', profiles: { decode: 'd' } }, { decodeProfile: 'd', prefillProfile: 'prefill', prefillDecider: null }],
  ])('resolves %s', (_name, params, want) => {
    expect(disaggProfileHandler.parameters.parse(params)).toEqual(want);
  });

  it.each([
    ['conflicting decode profiles', { decodeProfile: 'a', profiles: { decode: 'b' } }],
    ['conflicting deciders', { deciders: { prefill: 'a' }, prefillDeciderPluginName: 'b' }],
    ['an encode decider (E/PD is not implemented)', { deciders: { encode: 'e' } }],
    ['stageOrder (not implemented)', { stageOrder: 'prefill-first' }],
    ['an empty decider name', { deciders: { prefill: '' } }],
  ])('rejects %s', (_name, params) => {
    expect(disaggProfileHandler.parameters.safeParse(params).success).toBe(false);
  });

  it('is a PreRequest hook as well as a profile handler', () => {
    const handler = build(undefined);
    expect(isPreRequestHook(handler) && isProfileHandler(handler)).toBe(true);
    expect(handler).toMatchObject({ type: 'disagg-profile-handler', name: 'disagg' });
  });
});
