// `helm lint --strict` accepts the chart with its defaults and with every example values file.
import { describe, expect, it } from 'vitest';
import { CHART_DIR, EXAMPLES, examplePath, helm } from './test-support/helm.js';

describe('helm lint --strict', () => {
  it('passes with the default values', () => {
    const r = helm(['lint', '--strict', CHART_DIR]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each(EXAMPLES)('passes with examples/%s', (example) => {
    const r = helm(['lint', '--strict', CHART_DIR, '--values', examplePath(example)]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
  });

  it('fails on values the chart refuses, so the runs above can fail', () => {
    const r = helm(['lint', '--strict', CHART_DIR, '--set', 'global.preset=unheard-of']);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/global\/preset/);
  });

  it('knows the well-lit paths it ships examples for', () => {
    expect(EXAMPLES).toEqual(
      expect.arrayContaining(['optimized-baseline.yaml', 'precise-prefix-cache.yaml', 'pd-disaggregation.yaml', 'simulated-accelerators.yaml']),
    );
  });
});
