// The router configuration of every preset, checked by the router itself (--validate-config-only).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MODEL_SERVICE_PRESETS, ModelServiceSchema } from '@llmd/k8s-api';
import { describe, expect, it } from 'vitest';
import { routerConfigText } from './presets.js';

const ROUTER_MAIN = fileURLToPath(new URL('../../../router/dist/main.js', import.meta.url));

describe('preset router configs', () => {
  it.each(MODEL_SERVICE_PRESETS)('%s loads in the router', (preset) => {
    const ms = ModelServiceSchema.parse({
      apiVersion: 'llm-d.ai/v1alpha1',
      kind: 'ModelService',
      metadata: { name: 'm', namespace: 'ns' },
      spec: { preset, model: { name: 'm', uri: 'hf://m' }, decode: {}, ...(preset === 'pd-disaggregation' ? { prefill: {} } : {}) },
    });
    const r = spawnSync(process.execPath, [ROUTER_MAIN, '--validate-config-only', '--config-text', routerConfigText(ms)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/configuration is valid/);
  });
});
