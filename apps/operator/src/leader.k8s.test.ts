// Leader election between two operators, and the built operator process, against a real API server.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@llmd/observability';
import { deleteObject, getObject, loadManifestFiles, startControlPlane, type ControlPlane, type KubeObject } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperator, type RunningOperator } from './app.js';
import { parseOperatorOptions } from './options.js';
import { conditionOf, eventually, idsOf, listChildren, TEST_CRDS } from './test-support/cluster.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));
const spec = { model: { name: 'Qwen/Qwen3-0.6B', uri: 'hf://Qwen/Qwen3-0.6B' }, decode: { replicas: 1 } };

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({ crds: TEST_CRDS });
  await plane.apply(['le', 'proc', 'rbac'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
}, 240_000);

afterAll(async () => {
  await plane?.stop();
});

function electingOperator(identity: string): Promise<RunningOperator> {
  const command = parseOperatorOptions(
    [
      '--kubeconfig', plane.kubeconfigPath,
      '--metrics-port', '0',
      '--host', '127.0.0.1',
      '--watch-namespace', 'le',
      '--leader-elect',
      '--leader-election-namespace', 'le',
      '--leader-election-lease-duration', '4s',
      '--leader-election-renew-deadline', '3s',
      '--leader-election-retry-period', '200ms',
    ],
    { POD_NAME: identity },
  );
  if (command.kind !== 'run') throw new Error('expected options');
  return startOperator(command.options, { logger: silentLogger(), kubeConfig: plane.kubeConfig, backoff: { baseMs: 100, maxMs: 2000 } });
}

const readyz = async (op: RunningOperator) => (await fetch(`http://127.0.0.1:${op.port}/readyz`)).status;

describe('leader election', () => {
  it('lets one operator lead and reconcile; the other takes over when it stops', async () => {
    const a = await electingOperator('operator-a');
    const b = await electingOperator('operator-b');
    try {
      await eventually(async () => (a.isLeader() || b.isLeader()) && (await readyz(a.isLeader() ? a : b)) === 200, 'a leader');
      const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
      expect(standby.isLeader()).toBe(false);
      expect(await readyz(standby)).toBe(503);
      const lease = (await getObject(plane.kubeConfig, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'llmd-operator.llm-d.ai', namespace: 'le' } })) as KubeObject & { spec: { holderIdentity: string } };
      expect(lease.spec.holderIdentity).toBe(leader === a ? 'operator-a' : 'operator-b');

      await plane.apply({ apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata: { name: 'm', namespace: 'le' }, spec });
      await eventually(async () => idsOf(await listChildren(plane, 'le', 'm')).includes('Deployment/m-decode'), 'the leader to create the children');

      await leader.close();
      await eventually(async () => standby.isLeader() && (await readyz(standby)) === 200, 'the standby to take over');
      await deleteObject(plane.kubeConfig, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'm-decode', namespace: 'le' } });
      await eventually(async () => idsOf(await listChildren(plane, 'le', 'm')).includes('Deployment/m-decode'), 'the new leader to restore the Deployment');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('the built operator process', () => {
  function run(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => output, exit };
  }

  it('lists its flags in --help', async () => {
    const p = run(['--help']);
    expect(await p.exit).toBe(0);
    for (const flag of ['--kubeconfig', '--watch-namespace', '--leader-elect', '--leader-election-id', '--leader-election-namespace', '--metrics-port', '--router-image']) expect(p.output()).toContain(flag);
  });

  it('refuses a bad flag with exit code 2 and names it', async () => {
    const p = run(['--max-concurrent-reconciles', 'many', '--kubeconfig', plane.kubeconfigPath]);
    expect(await p.exit).toBe(2);
    expect(p.output()).toContain('--max-concurrent-reconciles');
  });

  it('runs against the cluster from a kubeconfig, reconciles, reports ready and stops on SIGTERM', async () => {
    const p = run(['--kubeconfig', plane.kubeconfigPath, '--metrics-port', '0', '--host', '127.0.0.1', '--watch-namespace', 'proc', '--leader-elect', '--leader-election-namespace', 'proc', '--log-level', 'info']);
    try {
      let port = 0;
      await eventually(async () => {
        const m = /"port":(\d+)[^\n]*operator listening/.exec(p.output());
        if (m) port = Number(m[1]);
        return port > 0;
      }, () => `the operator to listen (output: ${p.output().slice(-2000)})`);
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 'the process to be ready');
      await plane.apply({ apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata: { name: 'p', namespace: 'proc' }, spec });
      await eventually(async () => idsOf(await listChildren(plane, 'proc', 'p')).includes('InferencePool/p'), 'the process to create the children');
      p.child.kill('SIGTERM');
      expect(await p.exit).toBe(0);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});

describe('the deploy/ manifests', () => {
  it('give the operator\'s service account every right it needs, including the rights it grants routers', async () => {
    const manifests = (await loadManifestFiles([`${DEPLOY}operator.yaml`, `${DEPLOY}rbac.yaml`])) as KubeObject[];
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Namespace', 'Service', 'ServiceAccount']);
    await plane.apply(manifests);
    const command = parseOperatorOptions(
      ['--kubeconfig', plane.kubeconfigPath, '--metrics-port', '0', '--host', '127.0.0.1', '--watch-namespace', 'rbac', '--leader-elect'],
      { POD_NAME: 'rbac-operator', POD_NAMESPACE: 'llm-d-system' },
    );
    if (command.kind !== 'run') throw new Error('expected options');
    // Authenticated as the service account of deploy/rbac.yaml, so RBAC decides what it may do.
    const kubeConfig = plane.userKubeConfig('system:serviceaccount:llm-d-system:llmd-operator', ['system:serviceaccounts', 'system:serviceaccounts:llm-d-system', 'system:authenticated']);
    const operator = await startOperator(command.options, { logger: silentLogger(), kubeConfig, backoff: { baseMs: 100, maxMs: 2000 } });
    try {
      await plane.apply({
        apiVersion: 'llm-d.ai/v1alpha1',
        kind: 'ModelService',
        metadata: { name: 'r', namespace: 'rbac' },
        spec: { ...spec, preset: 'pd-disaggregation', prefill: {}, routing: { gateway: { parentRef: { name: 'gw' } } }, autoscaling: { enabled: true } },
      });
      const expected = ['ConfigMap/r-epp', 'Deployment/r-decode', 'Deployment/r-epp', 'Deployment/r-prefill', 'HTTPRoute/r', 'InferencePool/r', 'Role/r-epp', 'RoleBinding/r-epp', 'Service/r-decode', 'Service/r-epp', 'Service/r-prefill', 'ServiceAccount/r-epp', 'VariantAutoscaling/r-decode', 'VariantAutoscaling/r-prefill'];
      await eventually(async () => JSON.stringify(idsOf(await listChildren(plane, 'rbac', 'r'))) === JSON.stringify(expected), 'every child, created under the service account');
      const ms = { apiVersion: 'llm-d.ai/v1alpha1', kind: 'ModelService', metadata: { name: 'r', namespace: 'rbac' } };
      await eventually(async () => conditionOf(await getObject(plane.kubeConfig, ms), 'Degraded')?.status === 'False', 'a status written under the service account');
      await deleteObject(plane.kubeConfig, ms);
      await eventually(async () => (await listChildren(plane, 'rbac', 'r')).length === 0 && (await getObject(plane.kubeConfig, ms)) === undefined, 'the cleanup under the service account');
    } finally {
      await operator.close();
    }
  });
});
