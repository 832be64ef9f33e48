import type { ResponseHooks, Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { decodeSessionToken, encodeSessionToken, sessionAffinityScorer } from './plugin.js';

const scorer = sessionAffinityScorer.create(
  'session',
  sessionAffinityScorer.parameters.parse(undefined),
  handle(),
) as Scorer & Required<Pick<ResponseHooks, 'onResponseHeaders'>>;

const a = endpoint({ id: 'ns/pod-a' });
const b = endpoint({ id: 'ns/pod-b' });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('session-affinity-scorer', () => {
  it.each<{ name: string; headers: Record<string, string>; want: number[] }>([
    { name: 'token of pod-b → b is 1, a is 0', headers: { 'x-session-token': b64('ns/pod-b') }, want: [0, 1] },
    { name: 'token of pod-a → a is 1', headers: { 'x-session-token': b64('ns/pod-a') }, want: [1, 0] },
    { name: 'no token → all 0', headers: {}, want: [0, 0] },
    { name: 'token of an endpoint not among the candidates → all 0', headers: { 'x-session-token': b64('ns/gone') }, want: [0, 0] },
    { name: 'same name, other namespace → all 0', headers: { 'x-session-token': b64('other/pod-a') }, want: [0, 0] },
    { name: 'raw (unencoded) id → all 0', headers: { 'x-session-token': 'ns/pod-a' }, want: [0, 0] },
    { name: 'not base64 → all 0', headers: { 'x-session-token': '%%%not-base64%%%' }, want: [0, 0] },
    { name: 'missing padding → all 0', headers: { 'x-session-token': b64('ns/pod-a').replace(/=+$/, '') }, want: [0, 0] },
    { name: 'whitespace around a token → all 0', headers: { 'x-session-token': ` ${b64('ns/pod-a')}` }, want: [0, 0] },
    { name: 'tampered token → all 0', headers: { 'x-session-token': b64('ns/pod-a').slice(0, -4) + 'AAAA' }, want: [0, 0] },
    { name: 'empty token → all 0', headers: { 'x-session-token': '' }, want: [0, 0] },
  ])('$name', ({ headers, want }) => {
    expect(Array.from(scorer.score(context(), request({ headers }), [a, b]))).toEqual(want);
  });

  it('sets x-session-token on the response to the serving endpoint, which routes back to it', () => {
    const set = new Map<string, string>();
    scorer.onResponseHeaders(request(), { status: 200, headers: {}, endpoint: b }, (k, v) => set.set(k, v));
    expect(set.get('x-session-token')).toBe(b64('ns/pod-b'));
    const next = request({ headers: { 'x-session-token': set.get('x-session-token') as string } });
    expect(Array.from(scorer.score(context(), next, [a, b]))).toEqual([0, 1]);
  });

  it('sets no header when no endpoint served the request', () => {
    const set = new Map<string, string>();
    scorer.onResponseHeaders(request(), { status: 503, headers: {}, endpoint: null }, (k, v) => set.set(k, v));
    expect(set.size).toBe(0);
  });

  it.each([
    { id: 'ns/pod', token: 'bnMvcG9k' },
    { id: 'default/vllm-0-rank1', token: b64('default/vllm-0-rank1') },
  ])('token round trip for $id', ({ id, token }) => {
    expect(encodeSessionToken(id)).toBe(token);
    expect(decodeSessionToken(token)).toBe(id);
  });

  it('is an affinity scorer with no parameters', () => {
    expect(scorer).toMatchObject({ type: 'session-affinity-scorer', category: 'affinity' });
    expect(sessionAffinityScorer.parameters.safeParse({ maxAge: 10 }).success).toBe(false);
  });
});
