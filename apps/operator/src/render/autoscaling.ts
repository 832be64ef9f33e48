// One VariantAutoscaling per model-server role when autoscaling is enabled.
import { ACCELERATOR_NAME_LABEL, type ModelService, type ModelServiceRole } from '@llmd/k8s-api';
import { childNames, commonLabels, type Role, ROLE_LABEL, servedName } from './names.js';
import type { KubeObject } from './types.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The VariantAutoscaling of one role, sizing that role's Deployment. */
function renderVariant(ms: ModelService, role: Role, roleSpec: ModelServiceRole): KubeObject {
  const autoscaling = ms.spec.autoscaling;
  if (!autoscaling) throw new Error('renderVariant needs spec.autoscaling');
  const name = childNames(ms).role(role);
  const labels: Record<string, string> = { ...commonLabels(ms, 'autoscaling'), [ROLE_LABEL]: role };
  const acc = roleSpec.accelerator;
  if (acc && acc.type.length <= 63 && LABEL_VALUE.test(acc.type)) labels[ACCELERATOR_NAME_LABEL] = acc.type;
  const spec: Record<string, unknown> = {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
    modelID: servedName(ms),
    variantCost: autoscaling.variantCost,
    minReplicas: autoscaling.minReplicas,
    maxReplicas: autoscaling.maxReplicas,
  };
  if (acc) {
    spec.accelerator = acc.type;
    const count = acc.count ?? roleSpec.parallelism.tensor * roleSpec.parallelism.data;
    if (count > 0) spec.acceleratorCount = count;
  }
  if (autoscaling.slo) spec.slo = autoscaling.slo;
  return { apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: { name, namespace: ms.metadata.namespace as string, labels }, spec };
}

/** The VariantAutoscaling objects of a ModelService (none unless autoscaling.enabled). */
export function renderAutoscaling(ms: ModelService): KubeObject[] {
  if (!ms.spec.autoscaling?.enabled) return [];
  const out = [renderVariant(ms, 'decode', ms.spec.decode)];
  if (ms.spec.prefill) out.push(renderVariant(ms, 'prefill', ms.spec.prefill));
  return out;
}
