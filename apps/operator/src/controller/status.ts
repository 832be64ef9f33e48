// The status of a ModelService: per-Deployment pod counts, and the Ready, Progressing and Degraded
// conditions derived from them and from what went wrong.
import { ModelServiceConditions, type Condition, type ModelServiceRoleStatus, type ModelServiceStatus } from '@llmd/k8s-api';
import type { KubeObject } from '../render/types.js';

interface DeploymentLike {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; readyReplicas?: number; availableReplicas?: number; updatedReplicas?: number };
}

/** Pod counts of a Deployment as the status reports them. */
export function roleStatusOf(deployment: KubeObject | undefined): ModelServiceRoleStatus {
  const s = (deployment as DeploymentLike | undefined)?.status ?? {};
  return { replicas: s.replicas ?? 0, readyReplicas: s.readyReplicas ?? 0, availableReplicas: s.availableReplicas ?? 0, updatedReplicas: s.updatedReplicas ?? 0 };
}

/** Whether a Deployment has rolled out its newest spec with every wanted pod available. */
export function deploymentAvailable(deployment: KubeObject | undefined): boolean {
  if (!deployment) return false;
  const d = deployment as DeploymentLike;
  const wanted = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (s.updatedReplicas ?? 0) >= wanted && (s.availableReplicas ?? 0) >= wanted;
}

/** What one reconcile saw. */
export interface Observation {
  generation: number;
  /** The Deployments by component (decode, prefill, router); undefined when applying it failed. */
  deployments: Partial<Record<'decode' | 'prefill' | 'router', KubeObject | undefined>>;
  /** Components wanted by the spec. */
  components: ('decode' | 'prefill' | 'router')[];
  inferencePool: string;
  /** Problems while applying or pruning children, one line each. */
  problems: string[];
  /** Set when the spec itself is invalid. */
  invalidSpec?: string;
}

function condition(type: string, status: boolean, reason: string, message: string, generation: number, previous: readonly Condition[] | undefined, now: string): Condition {
  const s = status ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  return { type, status: s, reason, message, observedGeneration: generation, lastTransitionTime: before && before.status === s ? before.lastTransitionTime : now };
}

/** The status to write, keeping each condition's lastTransitionTime while its status holds. */
export function computeStatus(o: Observation, previous: ModelServiceStatus | undefined, now: string): ModelServiceStatus {
  const prev = previous?.conditions;
  const c = (type: string, status: boolean, reason: string, message: string) => condition(type, status, reason, message, o.generation, prev, now);
  if (o.invalidSpec !== undefined) {
    return {
      observedGeneration: o.generation,
      conditions: [
        c(ModelServiceConditions.Ready, false, 'InvalidSpec', o.invalidSpec),
        c(ModelServiceConditions.Progressing, false, 'InvalidSpec', o.invalidSpec),
        c(ModelServiceConditions.Degraded, true, 'InvalidSpec', o.invalidSpec),
      ],
      ...(previous?.roles ? { roles: previous.roles } : {}),
      ...(previous?.router ? { router: previous.router } : {}),
    };
  }
  const roles: NonNullable<ModelServiceStatus['roles']> = {};
  const pending: string[] = [];
  for (const component of o.components) {
    const d = o.deployments[component];
    const counts = roleStatusOf(d);
    if (component !== 'router') roles[component] = counts;
    if (!deploymentAvailable(d)) {
      const wanted = (d as DeploymentLike | undefined)?.spec?.replicas ?? 1;
      pending.push(`${component} ${counts.availableReplicas}/${wanted} available`);
    }
  }
  const degraded = o.problems.length > 0;
  const ready = !degraded && pending.length === 0;
  const problems = o.problems.join('; ').slice(0, 4000);
  return {
    observedGeneration: o.generation,
    conditions: [
      ready
        ? c(ModelServiceConditions.Ready, true, 'Available', `all ${o.components.length} Deployments are available`)
        : degraded
          ? c(ModelServiceConditions.Ready, false, 'ApplyFailed', problems)
          : c(ModelServiceConditions.Ready, false, 'DeploymentsNotReady', pending.join(', ')),
      pending.length > 0
        ? c(ModelServiceConditions.Progressing, true, 'RollingOut', pending.join(', '))
        : c(ModelServiceConditions.Progressing, false, 'RolloutComplete', 'every Deployment runs its newest spec'),
      degraded ? c(ModelServiceConditions.Degraded, true, 'ApplyFailed', problems) : c(ModelServiceConditions.Degraded, false, 'AsExpected', 'every child object is applied'),
    ],
    roles,
    router: roleStatusOf(o.deployments.router),
    inferencePool: o.inferencePool,
  };
}
