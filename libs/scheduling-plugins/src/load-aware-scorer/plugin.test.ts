import { pino } from 'pino';
import type { Scorer } from '@llmd/scheduling';
import { describe, expect, it } from 'vitest';
import { context, endpoint, handle, request } from '../test-support/fixtures.js';
import { loadAwareScorer } from './plugin.js';

function scorerWith(parameters: unknown, logger = pino({ level: 'silent' })) {
  return loadAwareScorer.create('load', loadAwareScorer.parameters.parse(parameters), handle({ logger })) as Scorer;
}

describe('load-aware-scorer', () => {
  it.each([
    { name: 'empty queue → 0.5 (the maximum)', params: undefined, waiting: 0, want: 0.5 },
    { name: 'half the default threshold of 128 → 0.25', params: undefined, waiting: 64, want: 0.25 },
    { name: 'at the threshold → 0', params: undefined, waiting: 128, want: 0 },
    { name: 'above the threshold is capped at 0', params: undefined, waiting: 1000, want: 0 },
    { name: 'custom threshold', params: { threshold: 10 }, waiting: 5, want: 0.25 },
    { name: 'threshold 0 falls back to 128', params: { threshold: 0 }, waiting: 64, want: 0.25 },
    { name: 'negative threshold falls back to 128', params: { threshold: -5 }, waiting: 32, want: 0.375 },
  ])('$name', ({ params, waiting, want }) => {
    const scores = scorerWith(params).score(context(), request(), [endpoint({ metrics: { waitingQueueSize: waiting } })]);
    expect(scores[0]).toBeCloseTo(want, 12);
  });

  it('scores each endpoint on its own queue, in input order', () => {
    const endpoints = [0, 128, 32].map((w) => endpoint({ metrics: { waitingQueueSize: w } }));
    expect(Array.from(scorerWith(undefined).score(context(), request(), endpoints))).toEqual([0.5, 0, 0.375]);
  });

  it('warns when it replaces a non-positive threshold', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    scorerWith({ threshold: 0 }, logger);
    expect(lines.join('')).toContain('threshold must be positive');
  });

  it.each([{ threshold: 1.5 }, { threshold: '10' }, { queueThreshold: 10 }])('rejects invalid parameters %j', (params) => {
    expect(loadAwareScorer.parameters.safeParse(params).success).toBe(false);
  });
});
