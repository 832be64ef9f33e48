// Test helpers around a control plane: the project's CRDs, listing a ModelService's children,
// waiting on conditions.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kubeRequest, poll, type ControlPlane, type KubeObject } from '@llmd/testing-k8s';

const CRD_DIR = fileURLToPath(new URL('../../../../config/crd/', import.meta.url));
const TEST_CRD_DIR = fileURLToPath(new URL('../../test/crds/', import.meta.url));

/** CRD files to install: the project's (config/crd) and the test stand-in for HTTPRoute. */
export const TEST_CRDS: string[] = [
  ...readdirSync(CRD_DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => CRD_DIR + f),
  ...readdirSync(TEST_CRD_DIR).map((f) => TEST_CRD_DIR + f),
];

/** Collections a ModelService's children live in, as API paths under a namespace. */
const CHILD_COLLECTIONS: [kind: string, prefix: string, plural: string][] = [
  ['ServiceAccount', '/api/v1', 'serviceaccounts'],
  ['Role', '/apis/rbac.authorization.k8s.io/v1', 'roles'],
  ['RoleBinding', '/apis/rbac.authorization.k8s.io/v1', 'rolebindings'],
  ['ConfigMap', '/api/v1', 'configmaps'],
  ['Deployment', '/apis/apps/v1', 'deployments'],
  ['Service', '/api/v1', 'services'],
  ['InferencePool', '/apis/inference.networking.k8s.io/v1', 'inferencepools'],
  ['HTTPRoute', '/apis/gateway.networking.k8s.io/v1', 'httproutes'],
  ['VariantAutoscaling', '/apis/llm-d.ai/v1alpha1', 'variantautoscalings'],
];

/** Every object labelled as a child of the ModelService, with apiVersion and kind filled in. */
export async function listChildren(plane: ControlPlane, namespace: string, msName: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const [kind, prefix, plural] of CHILD_COLLECTIONS) {
    const list = (await kubeRequest(plane.kubeConfig, {
      method: 'GET',
      path: `${prefix}/namespaces/${namespace}/${plural}?labelSelector=${encodeURIComponent(`llm-d.ai/model-service=${msName}`)}`,
    })) as { items: KubeObject[] };
    for (const item of list.items) out.push({ ...item, apiVersion: prefix.replace(/^\/apis?\/?/, '') || 'v1', kind });
  }
  return out;
}

/** `Kind/name` of each object, sorted. */
export const idsOf = (objects: readonly { kind: string; metadata: { name: string } }[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

/** Polls `check` until it holds; generous timeouts for a loaded 2-core machine. */
export function eventually(check: () => Promise<boolean>, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  return poll(check, { timeoutMs, intervalMs: 100, what });
}

/** The status of a ModelService's condition, or undefined. */
export function conditionOf(ms: KubeObject | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  const conditions = (ms as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } } | undefined)?.status?.conditions;
  return conditions?.find((c) => c.type === type);
}
