import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('runs due timers in (time, creation) order and reads each timer’s due time as now', () => {
    const clock = new ManualClock(100);
    const seen: string[] = [];
    clock.setTimer(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimer(() => seen.push(`c@${clock.now()}`), 20);
    clock.setTimer(() => seen.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    expect(seen).toEqual(['a@110', 'b@120', 'c@120']);
    expect(clock.now()).toBe(130);
    expect(clock.pendingTimers).toBe(1);
  });

  it('runs timers set by timers when they fall inside the advanced window', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    clock.setTimer(() => {
      seen.push(clock.now());
      clock.setTimer(() => seen.push(clock.now()), 5);
      clock.setTimer(() => seen.push(clock.now()), 0);
    }, 5);
    clock.advance(10);
    expect(seen).toEqual([5, 5, 10]);
  });

  it('forgets cleared timers and treats negative delays as zero', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const t = clock.setTimer(() => seen.push('cleared'), 1);
    clock.setTimer(() => seen.push('now'), -5);
    clock.clearTimer(t);
    clock.advance(0);
    clock.advance(5);
    expect(seen).toEqual(['now']);
  });

  it('runUntilIdle follows the timers and stops at its limit', () => {
    const clock = new ManualClock();
    let n = 0;
    const tick = (): void => {
      n++;
      clock.setTimer(tick, 10);
    };
    clock.setTimer(tick, 10);
    expect(clock.runUntilIdle(55)).toBe(false);
    expect(n).toBe(5);
    const once = new ManualClock();
    once.setTimer(() => n++, 7);
    expect(once.runUntilIdle()).toBe(true);
    expect(once.now()).toBe(7);
  });

  it('refuses to go back in time', () => {
    expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
  });
});
