import type { Endpoint } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { INFLIGHT_LOAD_PRODUCER_TYPE, type InFlightLoadSource } from '../inflight-load-producer/plugin.js';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { concurrencyDetector, type ConcurrencyDetector } from './plugin.js';

/** An in-flight source with fixed loads by endpoint id. */
function loads(byId: Record<string, { requests: number; tokens: number }>, name = 'inflight'): InFlightLoadSource {
  return { type: INFLIGHT_LOAD_PRODUCER_TYPE, name, inFlightLoad: (id) => byId[id] ?? { requests: 0, tokens: 0 } };
}

const a = endpoint({ id: 'default/a' });
const b = endpoint({ id: 'default/b' });
const make = (params: unknown, source: InFlightLoadSource) =>
  concurrencyDetector.create('conc', concurrencyDetector.parameters.parse(params), handle({ plugins: [source] })) as ConcurrencyDetector;

describe('concurrency-detector saturation', () => {
  const source = loads({ 'default/a': { requests: 3, tokens: 600 }, 'default/b': { requests: 1, tokens: 200 } });

  it.each([
    { mode: 'requests', params: { maxConcurrency: 4 }, eps: [a, b], pending: 0, want: 4 / 8 },
    { mode: 'requests counts pending dispatches', params: { maxConcurrency: 4 }, eps: [a, b], pending: 4, want: 8 / 8 },
    { mode: 'requests on a subset', params: { maxConcurrency: 4 }, eps: [a], pending: 0, want: 3 / 4 },
    { mode: 'tokens', params: { concurrencyMode: 'tokens', maxTokenConcurrency: 1000 }, eps: [a, b], pending: 3, want: 800 / 2000 },
    { mode: 'hybrid: mean of the larger shares', params: { concurrencyMode: 'hybrid', maxConcurrency: 10, maxTokenConcurrency: 1000 }, eps: [a, b], pending: 0, want: (0.6 + 0.2) / 2 },
    { mode: 'hybrid with pending', params: { concurrencyMode: 'hybrid', maxConcurrency: 10, maxTokenConcurrency: 1000 }, eps: [a, b], pending: 2, want: 0.4 + 2 / 20 },
  ])('$mode → $want', ({ params, eps, pending, want }) => {
    expect(make(params, source).saturation(eps as Endpoint[], pending)).toBeCloseTo(want, 10);
  });

  it('treats an empty candidate set as saturated', () => {
    expect(make({}, source).saturation([])).toBe(1);
  });

  it('reads the producer named by inFlightLoadProducerName', () => {
    const named = loads({ 'default/a': { requests: 50, tokens: 0 } }, 'mine');
    const d = concurrencyDetector.create('conc', concurrencyDetector.parameters.parse({ inFlightLoadProducerName: 'mine', maxConcurrency: 100 }), handle({ plugins: [source, named] })) as ConcurrencyDetector;
    expect(d.saturation([a])).toBe(0.5);
  });

  it('says clearly when no in-flight producer exists', () => {
    const d = concurrencyDetector.create('conc', concurrencyDetector.parameters.parse({}), handle()) as ConcurrencyDetector;
    expect(() => d.saturation([a])).toThrow(/no in-flight load producer is configured/);
  });

  it('brings an inflight-load-producer with it', () => {
    expect(concurrencyDetector.requires).toEqual(['inflight-load-producer']);
  });
});

describe('concurrency-detector filter', () => {
  const source = loads({ 'default/a': { requests: 4, tokens: 100 }, 'default/b': { requests: 2, tokens: 900 } });
  it.each([
    { case: 'requests: keeps endpoints below the limit', params: { maxConcurrency: 4 }, kept: ['default/b'] },
    { case: 'requests: headroom raises the limit (floor(4·1.5) = 6)', params: { maxConcurrency: 4, headroom: 0.5 }, kept: ['default/a', 'default/b'] },
    { case: 'tokens', params: { concurrencyMode: 'tokens', maxTokenConcurrency: 500 }, kept: ['default/a'] },
    { case: 'hybrid needs both', params: { concurrencyMode: 'hybrid', maxConcurrency: 3, maxTokenConcurrency: 500 }, kept: [] },
  ])('$case (no fail-open)', ({ params, kept }) => {
    expect(make(params, source).filter(context(), request(), [a, b]).map((e) => e.metadata.id)).toEqual(kept);
  });
});

describe('concurrency-detector parameters', () => {
  it('has upstream defaults', () => {
    expect(concurrencyDetector.parameters.parse(undefined)).toEqual({ concurrencyMode: 'requests', maxConcurrency: 100, maxTokenConcurrency: 1_000_000, headroom: 0 });
  });
  it.each([{ concurrencyMode: 'bytes' }, { maxConcurrency: 0 }, { headroom: -0.1 }, { max: 1 }])('rejects %j', (p) => {
    expect(concurrencyDetector.parameters.safeParse(p).success).toBe(false);
  });
});
