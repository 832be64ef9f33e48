import { describe, expect, it } from 'vitest';
import { parseDuration, parseQuantity } from './units.js';

describe('parseQuantity', () => {
  it.each([
    ['100', 100],
    [100, 100],
    ['1k', 1000],
    ['500M', 500_000_000],
    ['1Gi', 2 ** 30],
    ['1.5Ki', 1536],
    ['1e3', 1000],
    ['0.5', 1],
    ['0', 0],
    ['100m', 1],
  ] as const)('%s → %d', (input, expected) => {
    expect(parseQuantity(input)).toBe(expected);
  });

  it.each(['', 'lots', '1 Gi', '1gi', '1KB', '--1'])('rejects %j', (input) => {
    expect(parseQuantity(input)).toBeNull();
  });
});

describe('parseDuration', () => {
  it.each([
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['200ms', 200],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['0s', 0],
    ['500us', 0.5],
    ['-1s', -1000],
  ] as const)('%s → %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(['', '60', 's', '1x', '1m 30s', 'forever'])('rejects %j', (input) => {
    expect(parseDuration(input)).toBeNull();
  });
});
