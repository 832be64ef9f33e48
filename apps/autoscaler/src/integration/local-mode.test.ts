// The local mode as a user runs it: the built autoscaler process with --local-config, the real
// router in front, no Kubernetes and no Prometheus. A request for a model with no replicas waits in
// the router's flow-control queue until the autoscaler starts a simulated server for it; after the
// retention period without requests, the autoscaler stops it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricValue, waitUntil } from '@llmd/testing';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EppMetricsReader } from '../actuation/scale-from-zero.js';
import { startRouterProcess, type RouterProcess } from '../test-support/router.js';

const AUTOSCALER_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const MODEL = 'test/local-chat';

describe('local mode', () => {
  let router: RouterProcess;
  let autoscaler: ChildProcess;
  let metricsUrl: string;
  let dir: string;
  const log: string[] = [];

  beforeAll(async () => {
    router = await startRouterProcess();
    dir = mkdtempSync(join(tmpdir(), 'llmd-local-mode-'));
    const file = join(dir, 'autoscaling.yaml');
    writeFileSync(
      file,
      stringify({
        namespace: 'local',
        endpointsFile: router.endpointsFile,
        routerMetricsUrls: [router.metricsUrl],
        scrapeIntervalMs: 500,
        variantAutoscalings: [{ metadata: { name: 'chat' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'chat' }, modelID: MODEL, minReplicas: 0, maxReplicas: 2 } }],
        workloads: [{ name: 'chat', replicas: 0, args: ['--model', MODEL, '--preset', 'qwen3-0.6b/h100'] }],
        configMaps: { 'wva-model-scale-to-zero-config': { default: 'enable_scale_to_zero: true\nretention_period: 6s\n' } },
      }),
    );
    autoscaler = spawn(process.execPath, [AUTOSCALER_MAIN, '--local-config', file, '--interval', '1s', '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '0', '--saturation-window', '5s', '--rate-window', '10s', '--arrival-window', '5s', '--metrics-staleness', '5s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    autoscaler.stderr?.on('data', (c: Buffer) => log.push(c.toString('utf8')));
    metricsUrl = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      autoscaler.once('exit', (code) => reject(new Error(`autoscaler exited with ${code}: ${log.join('')}`)));
      autoscaler.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          log.push(line);
          try {
            const entry = JSON.parse(line) as { msg?: string; metrics?: string };
            if (entry.msg === 'autoscaler started' && entry.metrics) resolve(entry.metrics);
          } catch {
            // Not JSON.
          }
        }
      });
    });
  }, 60_000);

  afterAll(async () => {
    if (autoscaler && autoscaler.exitCode === null) {
      const exited = new Promise((r) => autoscaler.once('exit', r));
      autoscaler.kill('SIGTERM');
      await exited;
    }
    await router?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const desired = async () => metricValue(await (await fetch(metricsUrl)).text(), 'wva_desired_replicas', { variant_name: 'chat' });
  const endpoints = () => readFileSync(router.endpointsFile, 'utf8');

  it('starts with no replica, and the router holds a request for the model in its queue', async () => {
    await waitUntil(async () => (await desired()) === 0, 'the first cycle', 4000);
    expect(endpoints()).toContain('endpoints: []');
  });

  it('starts a server when a request waits in the router, and the request is served', async () => {
    const answer = fetch(`${router.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 5 }) });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(endpoints()).toMatch(/name: chat-local-1/);
    expect(await desired()).toBe(1);
    expect(log.join('\n')).toMatch(/scaled from zero/);
    expect(await new EppMetricsReader([router.metricsUrl]).queued(MODEL)).toBe(0);
  }, 60_000);

  it('stops it again after the retention period without requests', async () => {
    await waitUntil(async () => (await desired()) === 0, 'scale to zero', 12_000);
    await waitUntil(() => endpoints().includes('endpoints: []'), 'the server to be stopped', 4000);
    await waitUntil(() => /stopped a simulated replica/.test(log.join('\n')), 'the server process to exit', 4000);
  }, 60_000);
});
