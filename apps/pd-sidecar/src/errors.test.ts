import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, SidecarError, toHttpError } from './errors.js';

describe('error catalogue', () => {
  it('is documented in the README with each status', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('turns errors into OpenAI error bodies with the catalogue code, hiding unknown causes', () => {
    const forbidden = toHttpError(new SidecarError('prefill_target_forbidden', 'prefill target 10.0.0.9:80 is not allowed'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.toBody()).toEqual({ error: { message: 'prefill target 10.0.0.9:80 is not allowed', type: 'PermissionDeniedError', param: null, code: 'prefill_target_forbidden' } });
    const bug = toHttpError(new TypeError('x is undefined'));
    expect(bug.status).toBe(500);
    expect(bug.toBody().error).toMatchObject({ message: 'internal error', code: 'internal' });
    expect((bug.cause as SidecarError).cause).toBeInstanceOf(TypeError);
  });
});
