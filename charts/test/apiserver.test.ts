// The chart on a real kube-apiserver (etcd + kube-apiserver, no controller-manager, so no pod ever
// runs): after the chart's CRDs are installed, `helm install` of the defaults and of every example
// is accepted object by object, `helm upgrade` changes what it should, and `helm uninstall`
// removes everything again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus, type PrometheusServer } from '@llmd/testing';
import { kubeFetch, objectPath, poll, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRD_CHART_DIR } from '../scripts/crds.ts';
import { CHART_DIR, EXAMPLES, container, examplePath, find, flagValue, helmAsync, render, type Container, type Deployment, type Manifest } from './test-support/helm.js';
import { appMain, startApp, type RunningApp } from './test-support/process.js';

const HTTPROUTE_STANDIN = fileURLToPath(new URL('./fixtures/httproute-crd.yaml', import.meta.url));

let plane: ControlPlane;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmd-charts-apiserver-'));
  plane = await startControlPlane();
  await plane.installCrds([CRD_CHART_DIR, HTTPROUTE_STANDIN]);
}, 240_000);

afterAll(async () => {
  await plane?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function get(object: Manifest): Promise<{ status: number; body: Manifest }> {
  const res = await kubeFetch(plane.kubeConfig, { method: 'GET', path: await objectPath(plane.kubeConfig, object) });
  return { status: res.status, body: res.body as Manifest };
}

async function helmOk(args: string[]): Promise<string> {
  const r = await helmAsync(args, plane.kubeconfigPath);
  expect(r.status, `helm ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const valuesArgs = (values: readonly string[]) => values.flatMap((v) => ['--values', v]);

describe('helm install on a real API server', () => {
  const cases: [string, string[]][] = [['default values', []], ...EXAMPLES.map((name) => [`examples/${name}`, [examplePath(name)]] as [string, string[]])];

  it.each(cases.map(([label, values], i) => [label, values, `case-${i}`] as const))('%s: installed, stored as rendered, uninstalled', async (_label, values, namespace) => {
    const expected = render({ values, namespace });
    expect(expected.length).toBeGreaterThan(4);

    const installed = await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', ...valuesArgs(values)]);
    expect(installed).toMatch(/NOTES:[\s\S]*is installed as release llm-d in namespace/);
    for (const object of expected) {
      const { status, body } = await get(object);
      expect(status, `${object.kind}/${object.metadata.name}`).toBe(200);
      expect(body.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      expect(body.metadata.annotations?.['meta.helm.sh/release-name']).toBe('llm-d');
    }

    // The server kept what the router and the gateway need of the pool.
    const pool = expected.find((o) => o.kind === 'InferencePool');
    if (pool !== undefined) {
      expect(installed).toMatch(/Router \(endpoint picker\): Deployment llm-d-epp[\s\S]*InferencePool llm-d/);
      const stored = (await get(pool)).body.spec as { selector: unknown; targetPorts: unknown; endpointPickerRef: { name: string; port: { number: number }; failureMode: string } };
      expect(stored.selector).toEqual((pool.spec as { selector: unknown }).selector);
      expect(stored.targetPorts).toEqual((pool.spec as { targetPorts: unknown }).targetPorts);
      expect(stored.endpointPickerRef).toMatchObject({ name: 'llm-d-epp', port: { number: 9002 }, failureMode: 'FailOpen' });
    }

    const status = await helmOk(['status', 'llm-d', '--namespace', namespace]);
    expect(status).toMatch(/STATUS: deployed/);

    await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
    for (const object of expected) {
      await poll(async () => (await get(object)).status === 404, { timeoutMs: 30_000, what: `${object.kind}/${object.metadata.name} to be deleted` });
    }
  });

  it.each([
    ['router.enabled=false', /Model servers \(vllm\): llm-d-decode × 1/, /Router/],
    ['model-servers.enabled=false', /Router \(endpoint picker\)/, /Model servers/],
  ])('installs with %s and says only what it deployed', async (set, shown, absent) => {
    const namespace = `only-${set.split('.')[0]}`;
    const notes = await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', '--set', set]);
    expect(notes).toMatch(shown);
    expect(notes.slice(notes.indexOf('NOTES:'))).not.toMatch(absent);
    await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
  });

  it('accepts a server-side dry run and creates nothing', async () => {
    const namespace = 'dry-run';
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', '--dry-run=server', ...valuesArgs([examplePath('pd-disaggregation.yaml')])]);
    const router = render({ values: [examplePath('pd-disaggregation.yaml')], namespace }).find((o) => o.kind === 'Deployment') as Manifest;
    expect((await get(router)).status).toBe(404);
  });

  it('upgrades to two routers with leader election, then back', async () => {
    const namespace = 'upgrade';
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace']);
    const router = render({ namespace }).find((o) => o.kind === 'Deployment' && o.metadata.name === 'llm-d-epp') as Manifest;
    const args = async () => container((await get(router)).body as unknown as Deployment, 'router').args ?? [];
    expect(await args()).not.toContain('--ha-enable-leader-election');

    await helmOk(['upgrade', 'llm-d', CHART_DIR, '--namespace', namespace, '--set', 'router.epp.replicas=2']);
    expect(await args()).toContain('--ha-enable-leader-election');
    expect(((await get(router)).body as unknown as Deployment).spec.replicas).toBe(2);

    await helmOk(['rollback', 'llm-d', '1', '--namespace', namespace]);
    expect(await args()).not.toContain('--ha-enable-leader-election');
    await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
  });

  it('is refused by the server when an object breaks a CRD rule the chart does not check', async () => {
    // Two target ports with the same number: the InferencePool CRD's CEL rule refuses it.
    const r = await helmAsync(
      ['install', 'llm-d', CHART_DIR, '--namespace', 'refused', '--create-namespace', '--set', 'router.modelServers.targetPorts[0].number=8000', '--set', 'router.modelServers.targetPorts[1].number=8000'],
      plane.kubeconfigPath,
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/port number must be unique/);
  });
});

/** A built app running against the test API server as the chart's ServiceAccount. */
interface RunningAs {
  readonly app: RunningApp;
  readonly container: Container;
  /** The log line that said it is serving, parsed. */
  readonly started: Record<string, unknown>;
}

/**
 * Runs a built app with the arguments the chart renders for `deployment`'s first container, as the
 * chart's ServiceAccount (a client certificate for user system:serviceaccount:<ns>:<name>, which
 * RBAC treats as that ServiceAccount), against the release in `namespace`. `local` replaces flag
 * values (ports, files); `extra` adds flags.
 */
async function runAs(options: {
  app: string;
  namespace: string;
  values: string[];
  set?: string[];
  deployment: string;
  serviceAccount: string;
  local: Record<string, string>;
  extra: string[];
  ready: RegExp;
}): Promise<RunningAs> {
  const { namespace } = options;
  const objects = render({ values: options.values, set: options.set ?? [], namespace });
  const deployment = find<Deployment>(objects, 'Deployment', options.deployment);
  const c = deployment.spec.template.spec.containers[0] as Container;
  const kubeconfig = join(mkdtempSync(join(dir, `${options.app}-`)), 'kubeconfig');
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
  writeFileSync(kubeconfig, plane.userKubeConfig(`system:serviceaccount:${namespace}:${options.serviceAccount}`, groups).exportConfig());
  const args = (c.args ?? []).map((a) => {
    const m = /^--([^=]+)=/.exec(a);
    const replacement = m ? options.local[m[1] as string] : undefined;
    return m && replacement !== undefined ? `--${m[1]}=${replacement}` : a;
  });
  const app = await startApp(appMain(options.app), [...args, ...options.extra, `--kubeconfig=${kubeconfig}`], {
    env: { NAMESPACE: namespace, POD_NAMESPACE: namespace, POD_NAME: `${options.deployment}-test-0` },
    ready: options.ready,
    timeoutMs: 90_000,
  });
  return { app, container: c, started: JSON.parse(app.line) as Record<string, unknown> };
}

async function status(url: string): Promise<number> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
}

/** The leases of a namespace: name and holder. */
async function leases(namespace: string): Promise<[string, string | undefined][]> {
  const res = await kubeFetch(plane.kubeConfig, { method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases` });
  return (res.body as { items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }).items.map((l) => [l.metadata.name, l.spec.holderIdentity]);
}

describe('the router with the rights the chart gives it', () => {
  /** Runs the router with the rendered arguments and config as the chart's ServiceAccount. */
  async function runRouter(namespace: string, values: string[], serviceAccount: string) {
    const objects = render({ values, namespace });
    const configDir = mkdtempSync(join(dir, 'config-'));
    for (const [file, text] of Object.entries(find(objects, 'ConfigMap', 'llm-d-epp').data ?? {})) writeFileSync(join(configDir, file), text);
    const configFile = flagValue(container(find<Deployment>(objects, 'Deployment', 'llm-d-epp'), 'router').args, 'config-file') as string;
    const run = await runAs({
      app: 'router',
      namespace,
      values,
      deployment: 'llm-d-epp',
      serviceAccount,
      local: { 'config-file': join(configDir, configFile.replace(/^\/config\//, '')), 'grpc-port': '0', 'grpc-health-port': '0', 'metrics-port': '0', 'proxy-port': '0' },
      extra: ['--host=127.0.0.1'],
      ready: /router listening/,
    });
    const metricsPort = (run.started as { ports: { metrics: number } }).ports.metrics;
    return { app: run.app, router: run.container, readyz: () => status(`http://127.0.0.1:${metricsPort}/readyz`) };
  }

  it('reads the pool, takes the leader lease and reports ready', async () => {
    const namespace = 'router-run';
    const values = [examplePath('optimized-baseline.yaml')];
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', ...valuesArgs(values)]);
    const { app, router, readyz } = await runRouter(namespace, values, 'llm-d-epp');
    try {
      expect(router.args).toContain('--ha-enable-leader-election');
      await poll(async () => (await readyz()) === 200, { timeoutMs: 60_000, what: () => `the router to be ready; its log:\n${app.output()}` });
      // The lease of the pool, held by this process (pod name plus a random suffix).
      expect(await leases(namespace)).toEqual([[`epp-${namespace}-llm-d.llm-d.ai`, expect.stringMatching(/^llm-d-epp-test-0/)]]);
      expect(app.output()).not.toMatch(/forbidden/i);
    } finally {
      await app.stop();
      await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
    }
  });

  it('is never ready without the Role (rbac.create=false), so the check above can fail', async () => {
    const namespace = 'router-no-rbac';
    const values = [examplePath('optimized-baseline.yaml')];
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', ...valuesArgs(values), '--set', 'router.rbac.create=false']);
    const started = runRouter(namespace, values, 'llm-d-epp');
    try {
      // Refused by RBAC, the router either stops or keeps reporting not ready; both show the lack.
      const outcome = await started.then(
        async ({ app, readyz }) => {
          try {
            await poll(async () => /forbidden/i.test(app.output()), { timeoutMs: 60_000, what: () => `a forbidden error in the log:\n${app.output()}` });
            return { ready: await readyz() };
          } finally {
            await app.stop();
          }
        },
        (err: Error) => ({ exited: err.message }),
      );
      if ('exited' in outcome) expect(outcome.exited).toMatch(/forbidden/i);
      else expect(outcome.ready).toBe(503);
    } finally {
      await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
    }
  });
});

describe('the autoscaler and the operator with the rights the chart gives them', () => {
  let prometheus: PrometheusServer | undefined;
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('the autoscaler leads, finishes a cycle against Prometheus and writes the VariantAutoscalings’ status', async () => {
    prometheus = await startPrometheus();
    const namespace = 'autoscaling';
    const values = [examplePath('workload-autoscaling.yaml')];
    const set = [`autoscaler.prometheus.url=${prometheus.url}`, 'autoscaler.replicas=2'];
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', ...valuesArgs(values), ...set.flatMap((s) => ['--set', s])]);
    const run = await runAs({
      app: 'autoscaler',
      namespace,
      values,
      set,
      deployment: 'llm-d-autoscaler',
      serviceAccount: 'llm-d-autoscaler',
      local: { 'metrics-bind-address': '127.0.0.1:0', 'health-probe-bind-address': '127.0.0.1:0' },
      extra: [],
      ready: /autoscaler started/,
    });
    try {
      expect(run.container.args).toContain('--leader-elect');
      expect(run.started).toMatchObject({ prometheus: prometheus.url, actuation: 'direct', leaderElection: true });
      await poll(async () => (await status(`${run.started['health'] as string}/readyz`)) === 200, { timeoutMs: 90_000, what: () => `the first cycle; the log:\n${run.app.output()}` });
      expect(await leases(namespace)).toEqual([['llm-d-autoscaler.llm-d.ai', expect.stringMatching(/./)]]);
      const va = await kubeFetch(plane.kubeConfig, { method: 'GET', path: `/apis/llm-d.ai/v1alpha1/namespaces/${namespace}/variantautoscalings/llm-d-decode` });
      expect(va.status).toBe(200);
      await poll(
        async () => {
          const res = await kubeFetch(plane.kubeConfig, { method: 'GET', path: `/apis/llm-d.ai/v1alpha1/namespaces/${namespace}/variantautoscalings/llm-d-decode` });
          return ((res.body as { status?: { conditions?: unknown[] } }).status?.conditions?.length ?? 0) > 0;
        },
        { timeoutMs: 60_000, what: () => `status conditions on the VariantAutoscaling; the log:\n${run.app.output()}` },
      );
      expect(run.app.output()).not.toMatch(/forbidden/i);
      expect(run.app.output()).not.toMatch(/invalid ConfigMap entry/);
    } finally {
      await run.app.stop();
      await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
    }
  });

  it('the operator leads, syncs its watches and reports ready', async () => {
    const namespace = 'operator';
    const values = [examplePath('operator.yaml')];
    await helmOk(['install', 'llm-d', CHART_DIR, '--namespace', namespace, '--create-namespace', ...valuesArgs(values)]);
    const run = await runAs({
      app: 'operator',
      namespace,
      values,
      deployment: 'llm-d-operator',
      serviceAccount: 'llm-d-operator',
      local: { 'metrics-port': '0' },
      extra: ['--host=127.0.0.1'],
      ready: /operator listening/,
    });
    try {
      expect(run.container.args).toContain('--leader-elect');
      await poll(async () => (await status(`http://127.0.0.1:${run.started['port'] as number}/readyz`)) === 200, {
        timeoutMs: 90_000,
        what: () => `the operator to be ready; its log:\n${run.app.output()}`,
      });
      expect(await leases(namespace)).toEqual([['llm-d-operator.llm-d.ai', 'llm-d-operator-test-0']]);
      expect(run.app.output()).not.toMatch(/forbidden/i);
    } finally {
      await run.app.stop();
      await helmOk(['uninstall', 'llm-d', '--namespace', namespace]);
    }
  });
});
