// A canary release through an InferenceModelRewrite read from --objectives-file: the standalone
// proxy in front of simulated servers that serve both model versions, the official openai client.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, startSimProcess, type SimProcess } from '@llmd/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from './app.js';
import { writeEndpointsFile } from './test-support/fake-vllm.js';
import { startTestRouter } from './test-support/router-harness.js';

const REWRITE = `
apiVersion: llm-d.ai/v1alpha2
kind: InferenceModelRewrite
metadata: {name: llama-canary-rollout, namespace: default}
spec:
  poolRef: {name: epp}
  rules:
  - matches: [{model: {type: Exact, value: llama}}]
    targets:
    - {modelRewrite: llama-stable, weight: 90}
    - {modelRewrite: llama-canary, weight: 10}
`;

describe('canary rollout with a weighted InferenceModelRewrite', () => {
  let sims: SimProcess;
  let router: RunningRouter;
  let client: OpenAI;

  beforeAll(async () => {
    sims = await startSimProcess([
      '--model', 'Qwen/Qwen3-0.6B', '--served-model-name', 'llama-stable', 'llama-canary', '--preset', 'qwen3-0.6b/h100', '--seed', '5',
      '--data-parallel-size', '2', '--latency-calculator', 'constant', '--time-to-first-token', '1ms', '--inter-token-latency', '1ms',
      '--time-to-first-token-std-dev', '0', '--inter-token-latency-std-dev', '0',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'router-canary-'));
    writeFileSync(join(dir, 'rewrites.yaml'), REWRITE);
    router = await startTestRouter([
      '--endpoints-file', writeEndpointsFile(sims.urls.map((u) => u.replace(/^http:\/\//, ''))),
      '--objectives-file', join(dir, 'rewrites.yaml'),
      '--proxy-port', '0',
    ]);
    client = new OpenAI({ baseURL: `http://127.0.0.1:${router.ports.proxy}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  }, 120_000);
  afterAll(async () => {
    await router?.close();
    await sims?.stop();
  });

  it('sends 10% ± 2% of 2,000 requests to the canary, and counts every decision', async () => {
    const served = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 2000) {
          next++;
          const r = await client.completions.create({ model: 'llama', prompt: 'canary?', max_tokens: 1 });
          served.set(r.model, (served.get(r.model) ?? 0) + 1);
        }
      }),
    );
    const canary = served.get('llama-canary') ?? 0;
    expect((served.get('llama-stable') ?? 0) + canary).toBe(2000);
    expect(canary).toBeGreaterThanOrEqual(160);
    expect(canary).toBeLessThanOrEqual(240);

    const text = await router.metrics.registry.metrics();
    const decisions = (target: string) => metricValue(text, 'llm_d_epp_model_rewrite_decisions_total', { model_rewrite_name: 'llama-canary-rollout', model_name: 'llama', target_model: target });
    expect(decisions('llama-canary')).toBe(canary);
    expect(decisions('llama-stable')).toBe(2000 - canary);
    expect(metricValue(text, 'llm_d_epp_request_total', { model_name: 'llama', target_model_name: 'llama-canary' })).toBe(canary);
  }, 120_000);

  it('leaves a model that no rule matches, and one the client pinned with x-llm-d-model-name-rewrite, as asked', async () => {
    expect((await client.completions.create({ model: 'llama-stable', prompt: 'x', max_tokens: 1 })).model).toBe('llama-stable');
    const pinned = await client.completions.create({ model: 'llama', prompt: 'x', max_tokens: 1 }, { headers: { 'x-llm-d-model-name-rewrite': 'llama-canary' } });
    expect(pinned.model).toBe('llama-canary');
  });
});
