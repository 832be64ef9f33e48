// The project's apps start with exactly the arguments and environment the chart renders for them
// (only listening ports become 0 and Service addresses become loopback), so no rendered flag is
// one the app refuses.
import { describe, expect, it } from 'vitest';
import { container, examplePath, find, flagValue, render, type Container, type Deployment } from './test-support/helm.js';
import { appMain, containerEnv, expandVars, startApp } from './test-support/process.js';

const NS = 'inference';
const POD = { POD_IP: '127.0.0.1', POD_NAME: 'pod-0', POD_NAMESPACE: NS, NAMESPACE: NS };

/** The container's args as the kubelet expands them, with `replace` applied per flag. */
function argsOf(c: Container, replace: Record<string, (value: string) => string>): string[] {
  const env = { ...POD, ...containerEnv(c, POD) };
  return (c.args ?? []).map((arg) => {
    const expanded = expandVars(arg, env);
    const m = /^--([^=]+)=(.*)$/s.exec(expanded);
    const fix = m ? replace[m[1] as string] : undefined;
    return m && fix ? `--${m[1]}=${fix(m[2] as string)}` : expanded;
  });
}

/** A kv-events-config whose publisher connects to a loopback port nobody listens on. */
const loopbackKvEvents = (json: string) => JSON.stringify({ ...(JSON.parse(json) as object), endpoint: 'tcp://127.0.0.1:1' });

describe('the apps accept the rendered arguments', () => {
  it.each([
    ['simulated-accelerators.yaml', 'llm-d-decode'],
    ['simulated-accelerators.yaml', 'llm-d-prefill'],
    ['simulated-precise-prefix-cache.yaml', 'llm-d-decode'],
  ])('inference-sim of %s (%s)', async (example, deployment) => {
    const sim = container(find<Deployment>(render({ values: [examplePath(example)], namespace: NS }), 'Deployment', deployment), 'simulator');
    const args = argsOf(sim, { port: () => '0', 'kv-events-config': loopbackKvEvents });
    const kvEvents = flagValue(sim.args, 'kv-events-config') !== undefined;
    const app = await startApp(appMain('inference-sim'), args, { env: containerEnv(sim, POD), ready: kvEvents ? [/Server listening at/, /publishing KV events/] : /Server listening at/ });
    try {
      // The simulator reads the seed the chart sets when KV events are on.
      if (kvEvents) expect(app.output()).not.toMatch(/no --hash-seed\/PYTHONHASHSEED is set/);
    } finally {
      await app.stop();
    }
  });

  it('pd-sidecar of simulated-accelerators.yaml', async () => {
    const sidecar = container(find<Deployment>(render({ values: [examplePath('simulated-accelerators.yaml')], namespace: NS }), 'Deployment', 'llm-d-decode'), 'pd-sidecar');
    const app = await startApp(appMain('pd-sidecar'), argsOf(sidecar, { port: () => '0' }), { env: containerEnv(sidecar, POD), ready: /pd-sidecar listening/ });
    try {
      expect(app.line).toMatch(/"modelServer":"http:\/\/localhost:8200"/);
      expect(app.line).toMatch(/"connector":"nixlv2"/);
    } finally {
      await app.stop();
    }
  });

  it('kv-indexer of simulated-precise-prefix-cache.yaml', async () => {
    const indexer = container(find<Deployment>(render({ values: [examplePath('simulated-precise-prefix-cache.yaml')], namespace: NS }), 'Deployment', 'llm-d-kv-indexer'), 'kv-indexer');
    const args = argsOf(indexer, { 'zmq-endpoint': () => 'tcp://127.0.0.1:*', 'http-port': () => '0', 'grpc-port': () => '0' });
    const app = await startApp(appMain('kv-indexer'), args, { env: containerEnv(indexer, POD), ready: /kv-indexer listening/ });
    try {
      expect(app.line).toMatch(/"blockSize":16/);
      expect(app.line).toMatch(/"backend":"memory"/);
    } finally {
      await app.stop();
    }
  });

  it('reports an app that refuses its arguments, so the checks above can fail', async () => {
    await expect(startApp(appMain('pd-sidecar'), ['--port=0', '--kv-connector=carrier-pigeon'], { ready: /pd-sidecar listening/ })).rejects.toThrow(/exited[\s\S]*kv-connector/);
  });
});
