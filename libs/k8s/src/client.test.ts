import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isConflict, isNotFound, KubeApiError, KubeClient, KubeConfigError, loadKubeConfig, resourcePath, type ResourceType } from './client.js';

const KUBECONFIG = `
apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
- name: b
  cluster: {server: "https://127.0.0.2:6443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: secret}
contexts:
- name: ctx-a
  context: {cluster: a, user: u, namespace: team-a}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'router-kubeconfig-'));
}

describe('loadKubeConfig', () => {
  it('reads a kubeconfig file and its current context', () => {
    const file = join(tmp(), 'config');
    writeFileSync(file, KUBECONFIG);
    const client = new KubeClient(loadKubeConfig({ kubeconfig: file }));
    expect(client.server.href).toBe('https://127.0.0.1:6443/');
    expect(client.contextNamespace).toBe('team-a');
    client.close();
  });

  it('switches context on request and refuses an unknown one', () => {
    const file = join(tmp(), 'config');
    writeFileSync(file, KUBECONFIG);
    expect(new KubeClient(loadKubeConfig({ kubeconfig: file, context: 'ctx-b' })).server.host).toBe('127.0.0.2:6443');
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'nope' })).toThrow(KubeConfigError);
  });

  it('builds the in-cluster configuration from the service account folder', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'token'), 'tkn');
    writeFileSync(join(dir, 'namespace'), 'router-ns\n');
    writeFileSync(join(dir, 'ca.crt'), '');
    const kc = loadKubeConfig({ kubeconfig: null, inCluster: { host: 'fd00::1', port: '443' }, serviceAccountDir: dir });
    expect(kc.getCurrentCluster()?.server).toBe('https://[fd00::1]:443');
    expect(new KubeClient(kc).contextNamespace).toBe('router-ns');
  });

  it('prefers an explicit kubeconfig over the in-cluster configuration', () => {
    const file = join(tmp(), 'config');
    writeFileSync(file, KUBECONFIG);
    const kc = loadKubeConfig({ kubeconfig: file, inCluster: { host: '10.0.0.1', port: '443' }, serviceAccountDir: '/nonexistent' });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('falls back to ~/.kube/config, and says what to do when there is nothing', () => {
    const home = tmp();
    expect(() => loadKubeConfig({ kubeconfig: null, home })).toThrow(/--kubeconfig/);
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), KUBECONFIG);
    expect(loadKubeConfig({ kubeconfig: null, home }).getCurrentContext()).toBe('ctx-a');
  });

  it('names the file that cannot be read, and refuses a pod without a token', () => {
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' })).toThrow(/\/nonexistent\/kubeconfig/);
    expect(() => loadKubeConfig({ kubeconfig: null, inCluster: { host: 'h', port: '443' }, serviceAccountDir: tmp() })).toThrow(/service account token/);
  });
});

describe('KubeApiError', () => {
  it('knows an expired resource version', () => {
    expect(new KubeApiError('x', 410).gone).toBe(true);
    expect(new KubeApiError('x', 200, 'Expired').gone).toBe(true);
    expect(new KubeApiError('x', 500).gone).toBe(false);
  });
});

describe('resourcePath', () => {
  const deployment: ResourceType = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
  const node: ResourceType = { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
  it('addresses core and grouped kinds, namespaced or not, with subresources', () => {
    expect(resourcePath(deployment, 'a b', 'd', 'scale')).toBe('/apis/apps/v1/namespaces/a%20b/deployments/d/scale');
    expect(resourcePath(deployment, undefined)).toBe('/apis/apps/v1/deployments');
    expect(resourcePath(node, 'ignored', 'n1')).toBe('/api/v1/nodes/n1');
  });
});

describe('typed requests', () => {
  it('sends the content type each write needs, and maps 404 and 409', async () => {
    const seen: { method: string; url: string; type: string | undefined }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] });
      req.resume();
      req.on('end', () => {
        const status = req.method === 'GET' ? 404 : req.method === 'POST' ? 409 : 200;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { items: [] } : { kind: 'Status', code: status, reason: status === 404 ? 'NotFound' : 'AlreadyExists', message: 'no' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const client = new KubeClient(kc, { userAgent: 'test', timeoutMs: 5000 });
    const cm: ResourceType = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
    try {
      expect(await client.read(cm, 'ns', 'a')).toBeUndefined();
      await expect(client.create(cm, { metadata: { name: 'a', namespace: 'ns' } })).rejects.toSatisfy(isConflict);
      await client.apply(cm, { metadata: { name: 'a', namespace: 'ns' } }, 'me', { subresource: 'status' });
      await client.mergePatch(cm, 'ns', 'a', { data: {} });
      await client.request('PATCH', '/api/v1/namespaces/ns/configmaps/a', { body: {} });
      await expect(client.get('/x')).rejects.toSatisfy(isNotFound);
      expect(seen.slice(2, 5)).toEqual([
        { method: 'PATCH', url: '/api/v1/namespaces/ns/configmaps/a/status?fieldManager=me&force=true', type: 'application/apply-patch+yaml' },
        { method: 'PATCH', url: '/api/v1/namespaces/ns/configmaps/a', type: 'application/merge-patch+json' },
        { method: 'PATCH', url: '/api/v1/namespaces/ns/configmaps/a', type: 'application/merge-patch+json' },
      ]);
    } finally {
      client.close();
      server.close();
    }
  });
});
