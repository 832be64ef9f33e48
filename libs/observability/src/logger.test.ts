import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('writes JSON lines with the component name and structured fields', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ name: 'router', destination: sink });
    log.child({ plugin: 'queue-scorer' }).info({ endpoints: 3 }, 'scored');
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ name: 'router', plugin: 'queue-scorer', endpoints: 3, msg: 'scored', level: 30 });
  });

  it('respects the level', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger({ name: 'x', level: 'warn', destination: sink });
    log.info('hidden');
    log.warn('shown');
    expect(lines).toHaveLength(1);
  });
});
