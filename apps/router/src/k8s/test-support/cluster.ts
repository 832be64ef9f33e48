import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from '@llmd/testing-k8s';
import { deleteObject } from '@llmd/testing-k8s';
import { KubeClient } from '@llmd/k8s';

/** The repository's CRD folder. */
export const CRD_DIR = fileURLToPath(new URL('../../../../../config/crd', import.meta.url));

/** The CRDs the router reads: InferencePool (both groups), InferenceObjective and InferenceModelRewrite (both groups). */
export const ROUTER_CRDS = [
  'inference.networking.k8s.io_inferencepools.yaml',
  'inference.networking.x-k8s.io_inferencepools.yaml',
  'llm-d.ai_inferenceobjectives.yaml',
  'inference.networking.x-k8s.io_inferenceobjectives.yaml',
  'llm-d.ai_inferencemodelrewrites.yaml',
  'inference.networking.x-k8s.io_inferencemodelrewrites.yaml',
].map((f) => join(CRD_DIR, f));

/** A client of the test control plane, optionally through another port on 127.0.0.1 (a relay). */
export function testClient(plane: ControlPlane, viaPort?: number): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  if (viaPort !== undefined) {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${viaPort}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return new KubeClient(kc);
}

/** A pod manifest (never scheduled: no scheduler or kubelet runs; tests write its status). */
export function podManifest(namespace: string, name: string, labels: Record<string, string>, extra: { finalizers?: string[] } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0' }] },
  };
}

/** Writes a pod's status as a kubelet would: its IP and whether it is Ready. */
export async function setPodStatus(plane: ControlPlane, namespace: string, name: string, ip: string, ready: boolean): Promise<void> {
  await plane.patchStatus(
    { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } },
    {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
      ],
    },
  );
}

/** Creates a namespace. */
export async function createNamespace(plane: ControlPlane, name: string): Promise<void> {
  await plane.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** A v1 InferencePool manifest. */
export function poolV1(namespace: string, name: string, matchLabels: Record<string, string>, ports: number[]) {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace },
    spec: { selector: { matchLabels }, targetPorts: ports.map((number) => ({ number })), endpointPickerRef: { name: `${name}-epp`, port: { number: 9002 } } },
  };
}

/** Deletes a pod. */
export async function deletePod(plane: ControlPlane, namespace: string, name: string): Promise<void> {
  await deleteObject(plane.kubeConfig, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } });
}
