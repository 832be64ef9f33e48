import { describe, expect, it } from 'vitest';
import { CycleState, EndpointAttributes, PluginState } from './state.js';

describe('PluginState', () => {
  it('drops entries idle longer than the TTL when a later write sweeps', () => {
    let now = 0;
    const state = new PluginState<string>(5 * 60_000, () => now);
    state.set('idle', 'a');
    state.set('busy', 'b');
    now = 4 * 60_000;
    expect(state.get('busy')).toBe('b'); // refreshes "busy"
    now = 5 * 60_000 + 1;
    state.set('new', 'c'); // sweeps: "idle" has been idle for just over 5 min
    expect(state.get('idle')).toBeUndefined();
    expect(state.get('busy')).toBe('b');
    expect(state.size).toBe(2);
  });

  it('sweeps at most once a minute', () => {
    let now = 0;
    const state = new PluginState<number>(5 * 60_000, () => now);
    state.set('a', 1);
    now = 270_000;
    state.set('b', 2); // sweeps; "a" is idle 4.5 min and stays
    now = 310_000;
    state.set('c', 3); // "a" is now expired, but the last sweep was 40 s ago
    expect(state.size).toBe(3);
    now = 331_000;
    state.set('d', 4); // a minute since the last sweep: "a" goes
    expect(state.take('a')).toBeUndefined();
    expect(state.size).toBe(3);
  });

  it('sweeps every TTL when the TTL is under a minute', () => {
    let now = 0;
    const state = new PluginState<number>(1000, () => now);
    state.set('a', 1);
    now = 999;
    state.set('b', 2);
    expect(state.size).toBe(2);
    now = 1001;
    state.set('c', 3);
    expect(state.get('a')).toBeUndefined();
    expect(state.get('b')).toBe(2);
    expect(state.size).toBe(2);
  });

  it('take removes and returns the entry', () => {
    const state = new PluginState<number>(1000, () => 0);
    state.set('a', 1);
    expect(state.take('a')).toBe(1);
    expect(state.take('a')).toBeUndefined();
    expect(state.size).toBe(0);
  });
});

describe('CycleState and EndpointAttributes', () => {
  it('keep values by key and by endpoint', () => {
    const cycle = new CycleState();
    cycle.write('prefix', [1, 2]);
    expect(cycle.read<number[]>('prefix')).toEqual([1, 2]);
    expect(cycle.read('other')).toBeUndefined();
    const attrs = new EndpointAttributes();
    attrs.set('default/a', 'match', 3);
    expect(attrs.get('default/a', 'match')).toBe(3);
    expect(attrs.get('default/b', 'match')).toBeUndefined();
  });
});
