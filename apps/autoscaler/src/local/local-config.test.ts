import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { parseLocalConfig } from './local-config.js';

describe('local config', () => {
  it('fills in defaults', () => {
    const c = parseLocalConfig('workloads: [{name: chat, args: [--model, m]}]');
    expect(c).toMatchObject({ namespace: 'default', scrapeIntervalMs: 1000, workloads: [{ name: 'chat', replicas: 1, args: ['--model', 'm'] }], variantAutoscalings: [], configMaps: {} });
  });

  it.each<[string, string]>([
    ['workloads: [{name: Chat}]', 'local: workloads.0.name'],
    ['workloads: [{name: a}, {name: a}]', 'local: workloads.1.name'],
    ['scrapeIntervalMs: 5', 'local: scrapeIntervalMs'],
    ['surprise: 1', 'local: (file)'],
    ['configMaps: {x: {default: 3}}', 'local: configMaps.x.default'],
  ])('names the field of %j', (text, key) => {
    try {
      parseLocalConfig(text, 'local');
      throw new Error('expected an error');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
    }
  });
});
