import { describe, expect, it } from 'vitest';
import { ConfigError, parseDurationMs, splitArgs, type FlagArity } from './flags.js';

const arity = (name: string): FlagArity | undefined => ({ port: 'single', verbose: 'boolean', names: 'list' }) [name] as FlagArity | undefined;

describe('splitArgs', () => {
  it('reads single, boolean and list flags in both spellings', () => {
    const r = splitArgs(['--port=80', '--verbose', '--names', 'a', 'b', '--names=c', 'pos'], arity);
    expect(Object.fromEntries(r.values)).toEqual({ port: '80', verbose: true, names: ['a', 'b', 'c'] });
    expect(r.positionals).toEqual(['pos']);
  });

  it('treats underscores as dashes and skips ignored flags with their value', () => {
    const r = splitArgs(['--tensor_parallel_size', '2', '--port', '1'], arity, new Set(['tensor-parallel-size']));
    expect(r.ignoredSeen).toEqual(['tensor-parallel-size']);
    expect(r.values.get('port')).toBe('1');
  });

  it.each([
    [['--nope'], '--nope'],
    [['--port'], '--port'],
    [['--verbose=yes'], '--verbose'],
    [['--names'], '--names'],
  ])('rejects %j naming %s', (argv, key) => {
    expect(() => splitArgs(argv, arity)).toThrowError(ConfigError);
    try {
      splitArgs(argv, arity);
    } catch (e) {
      expect((e as ConfigError).key).toBe(key);
    }
  });
});

describe('parseDurationMs', () => {
  it.each([
    [50, 50],
    ['50', 50],
    ['50ms', 50],
    ['2s', 2000],
    ['1m30s', 90_000],
    ['100us', 0.1],
  ])('%j → %d ms', (input, ms) => {
    expect(parseDurationMs(input, 'k')).toBe(ms);
  });

  it.each([['soon'], [-1], [''], ['5 parsecs']])('rejects %j', (input) => {
    expect(() => parseDurationMs(input, '--interval')).toThrowError(/--interval/);
  });
});
