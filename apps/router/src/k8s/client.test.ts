import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient, KubeConfigError, loadKubeConfig } from './client.js';

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
