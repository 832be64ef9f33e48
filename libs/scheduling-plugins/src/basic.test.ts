import { describe, expect, it } from 'vitest';
import { BASIC_PLUGINS } from './basic.js';
import { handle } from './test-support/fixtures.js';

const EXPECTED_TYPES = [
  'queue-scorer',
  'kv-cache-utilization-scorer',
  'running-requests-size-scorer',
  'load-aware-scorer',
  'active-request-scorer',
  'lora-affinity-scorer',
  'session-affinity-scorer',
  'by-label',
  'label-selector-filter',
  'decode-filter',
  'prefill-filter',
  'max-score-picker',
  'random-picker',
  'weighted-random-picker',
  'single-profile-handler',
];

// by-label has no sensible default: its label is required.
const SAMPLE_PARAMETERS: Record<string, unknown> = { 'by-label': { label: 'role' } };

describe('BASIC_PLUGINS', () => {
  it('holds every basic plugin type exactly once', () => {
    expect(BASIC_PLUGINS.map((f) => f.type).sort()).toEqual([...EXPECTED_TYPES].sort());
  });

  it.each(BASIC_PLUGINS.map((f) => ({ type: f.type, factory: f })))(
    '$type builds from absent (or minimal) parameters and reports its type and name',
    ({ type, factory }) => {
      const params = factory.parameters.parse(SAMPLE_PARAMETERS[type]);
      const plugin = factory.create('my-name', params, handle());
      expect(plugin).toMatchObject({ type, name: 'my-name' });
    },
  );

  it.each(BASIC_PLUGINS.map((f) => ({ type: f.type, factory: f })))('$type rejects unknown parameters', ({ type, factory }) => {
    const params = { ...(SAMPLE_PARAMETERS[type] as object | undefined), notAParameter: 1 };
    expect(factory.parameters.safeParse(params).success).toBe(false);
  });

  it('aliases by-label-selector to label-selector-filter only', () => {
    const aliases = BASIC_PLUGINS.flatMap((f) => (f.aliases ?? []).map((a) => `${a}→${f.type}`));
    expect(aliases).toEqual(['by-label-selector→label-selector-filter']);
  });
});
