import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Endpoint, InferenceRequest } from '@llmd/scheduling';
import {
  context,
  endpoint,
  handle,
  manualClock,
  recordedHeaders,
  request,
  schedulingResult,
} from '../test-support/fixtures.js';
import { parseGoDuration } from './duration.js';
import { activeRequestScorer, DEFAULT_REQUEST_TIMEOUT_MS, resolveRequestTimeout } from './plugin.js';
import type { ActiveRequestScorer } from './plugin.js';

const silent = pino({ level: 'silent' });

function setup(parameters?: unknown) {
  const clock = manualClock(1_000);
  const parsed = activeRequestScorer.parameters.parse(parameters);
  const scorer = activeRequestScorer.create('active', parsed, handle({ now: clock.now })) as ActiveRequestScorer;
  return { clock, scorer };
}

const a = endpoint({ id: 'ns/a' });
const b = endpoint({ id: 'ns/b' });
const c = endpoint({ id: 'ns/c' });

function send(scorer: ActiveRequestScorer, targets: Readonly<Record<string, readonly Endpoint[] | null>>) {
  const req = request();
  scorer.preRequest(context(), req, schedulingResult(targets), recordedHeaders());
  return req;
}

function complete(scorer: ActiveRequestScorer, req: InferenceRequest, served: Endpoint | null = null) {
  scorer.onResponseComplete(req, { status: 200, headers: {}, endpoint: served, usage: null, failed: false });
}

describe('active-request-scorer', () => {
  it.each([
    { name: 'nothing in flight → 1 everywhere', inFlight: [], want: [1, 1, 1] },
    { name: '(max − c) / max over the tracked endpoints', inFlight: ['a', 'a', 'b'], want: [0, 0.5, 1] },
    { name: 'equal load → 0 for every loaded endpoint', inFlight: ['a', 'b'], want: [0, 0, 1] },
    { name: 'max of 4 → 0.25 steps', inFlight: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c'], want: [0, 0.25, 0.75] },
  ])('$name', ({ inFlight, want }) => {
    const { scorer } = setup();
    const byId = { a, b, c } as Record<string, Endpoint>;
    for (const id of inFlight) send(scorer, { default: [byId[id] as Endpoint] });
    expect(Array.from(scorer.score(context(), request(), [a, b, c]))).toEqual(want);
  });

  it('takes max over all tracked endpoints, not only the candidates', () => {
    const { scorer } = setup();
    for (let i = 0; i < 4; i++) send(scorer, { default: [a] });
    send(scorer, { default: [b] });
    // a is not a candidate, yet its 4 requests set the scale for b.
    expect(Array.from(scorer.score(context(), request(), [b, c]))).toEqual([0.75, 1]);
  });

  it('counts the first target of every profile result, and skips failed profiles', () => {
    const { scorer } = setup();
    send(scorer, { decode: [a, c], prefill: [b], encode: null });
    expect([a, b, c].map((e) => scorer.inFlight.countOf(e.metadata.id))).toEqual([1, 1, 0]);
  });

  it('releases a request when its response completes, even with no serving endpoint', () => {
    const { scorer } = setup();
    const r1 = send(scorer, { decode: [a], prefill: [b] });
    const r2 = send(scorer, { default: [a] });
    complete(scorer, r1);
    expect(scorer.inFlight.countOf('ns/a')).toBe(1);
    expect(scorer.inFlight.countOf('ns/b')).toBe(0);
    complete(scorer, r2, a);
    expect(scorer.inFlight.size).toBe(0);
    expect(Array.from(scorer.score(context(), request(), [a, b]))).toEqual([1, 1]);
  });

  it('ignores a completion it never saw and a second completion', () => {
    const { scorer } = setup();
    const r = send(scorer, { default: [a] });
    send(scorer, { default: [a] });
    complete(scorer, request());
    complete(scorer, r);
    complete(scorer, r);
    expect(scorer.inFlight.countOf('ns/a')).toBe(1);
  });

  it('a request id seen twice counts once', () => {
    const { scorer } = setup();
    const req = request();
    scorer.preRequest(context(), req, schedulingResult({ default: [a] }), recordedHeaders());
    scorer.preRequest(context(), req, schedulingResult({ default: [b] }), recordedHeaders());
    expect([scorer.inFlight.countOf('ns/a'), scorer.inFlight.countOf('ns/b')]).toEqual([0, 1]);
  });

  it.each([
    { name: 'default 2m: still counted at exactly 2m', params: undefined, advance: 120_000, left: 1 },
    { name: 'default 2m: gone just after 2m', params: undefined, advance: 120_001, left: 0 },
    { name: 'duration string "30s"', params: { requestTimeout: '30s' }, advance: 30_001, left: 0 },
    { name: 'number is milliseconds', params: { requestTimeout: 500 }, advance: 501, left: 0 },
    { name: 'number is milliseconds (not yet expired)', params: { requestTimeout: 500 }, advance: 499, left: 1 },
    { name: 'invalid string falls back to 2m', params: { requestTimeout: 'soon' }, advance: 60_000, left: 1 },
  ])('expires requests after requestTimeout: $name', ({ params, advance, left }) => {
    const { scorer, clock } = setup(params);
    send(scorer, { default: [a] });
    clock.advance(advance);
    const scores = scorer.score(context(), request(), [a, b]);
    expect(scorer.inFlight.countOf('ns/a')).toBe(left);
    expect(scores[0]).toBe(left === 0 ? 1 : 0);
  });

  it('expires only the old requests', () => {
    const { scorer, clock } = setup({ requestTimeout: '10s' });
    send(scorer, { default: [a] });
    clock.advance(6_000);
    send(scorer, { default: [a] });
    clock.advance(6_000);
    scorer.score(context(), request(), [a]);
    expect(scorer.inFlight.countOf('ns/a')).toBe(1);
  });

  it.each([
    { value: '2m', want: 120_000 },
    { value: '1m30s', want: 90_000 },
    { value: '250ms', want: 250 },
    { value: 1500, want: 1500 },
    { value: '0', want: DEFAULT_REQUEST_TIMEOUT_MS },
    { value: '-5s', want: DEFAULT_REQUEST_TIMEOUT_MS },
    { value: '120', want: DEFAULT_REQUEST_TIMEOUT_MS },
    { value: '', want: DEFAULT_REQUEST_TIMEOUT_MS },
    { value: -1, want: DEFAULT_REQUEST_TIMEOUT_MS },
  ])('resolves requestTimeout $value → $want ms', ({ value, want }) => {
    expect(resolveRequestTimeout(value, silent)).toBe(want);
  });

  it.each([
    { text: '1h2m3.5s', want: 3_723_500 },
    { text: '1.5h', want: 5_400_000 },
    { text: '10us', want: 0.01 },
    { text: '+3s', want: 3000 },
    { text: '-3s', want: -3000 },
    { text: '3', want: null },
    { text: '3x', want: null },
    { text: 's', want: null },
  ])('parses Go duration "$text"', ({ text, want }) => {
    expect(parseGoDuration(text)).toBe(want);
  });

  it('is a distribution scorer, default requestTimeout "2m", unknown parameters rejected', () => {
    const { scorer } = setup();
    expect(scorer).toMatchObject({ type: 'active-request-scorer', category: 'distribution' });
    expect(activeRequestScorer.parameters.parse(undefined)).toEqual({ requestTimeout: '2m' });
    expect(activeRequestScorer.parameters.safeParse({ idleThreshold: 1 }).success).toBe(false);
    expect(activeRequestScorer.parameters.safeParse({ requestTimeout: true }).success).toBe(false);
  });
});
