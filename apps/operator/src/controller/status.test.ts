import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../render/types.js';
import { computeStatus, deploymentAvailable, type Observation } from './status.js';

const deployment = (replicas: number, status: Record<string, number>, generation = 2): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', generation },
  spec: { replicas },
  status,
});
const available = (n: number) => deployment(n, { observedGeneration: 2, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n });
const base: Observation = { generation: 5, deployments: {}, components: ['decode', 'router'], inferencePool: 'qwen', problems: [] };
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

describe('deploymentAvailable', () => {
  it.each([
    ['every pod available on the newest spec', available(2), true],
    ['an older generation observed', deployment(2, { observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2 }), false],
    ['too few available', deployment(2, { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 }), false],
    ['old pods not yet replaced', deployment(2, { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 2 }), false],
    ['scaled to zero', deployment(0, { observedGeneration: 2 }), true],
    ['missing', undefined, false],
  ])('%s → %s', (_label, d, expected) => {
    expect(deploymentAvailable(d)).toBe(expected);
  });
});

describe('computeStatus', () => {
  it('is Ready with per-role counts when every Deployment is available', () => {
    const s = computeStatus({ ...base, deployments: { decode: available(3), router: available(1) } }, undefined, T0);
    expect(s.observedGeneration).toBe(5);
    expect(s.roles).toEqual({ decode: { replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 } });
    expect(s.router).toEqual({ replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 });
    expect(s.inferencePool).toBe('qwen');
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Available'],
      ['Progressing', 'False', 'RolloutComplete'],
      ['Degraded', 'False', 'AsExpected'],
    ]);
    expect(s.conditions?.every((c) => c.observedGeneration === 5 && c.lastTransitionTime === T0)).toBe(true);
  });

  it('is Progressing and names what is missing while pods come up', () => {
    const s = computeStatus({ ...base, deployments: { decode: deployment(3, { observedGeneration: 2, updatedReplicas: 3, availableReplicas: 1, readyReplicas: 1 }), router: available(1) } }, undefined, T0);
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'DeploymentsNotReady', message: 'decode 1/3 available' });
    expect(s.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingOut' });
  });

  it('is Degraded when children could not be applied', () => {
    const s = computeStatus({ ...base, deployments: { decode: available(1), router: available(1) }, problems: ['Deployment x: refused'] }, undefined, T0);
    expect(s.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed', message: 'Deployment x: refused' });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
  });

  it('reports an invalid spec and keeps the last counts', () => {
    const before = computeStatus({ ...base, deployments: { decode: available(2), router: available(1) } }, undefined, T0);
    const s = computeStatus({ ...base, invalidSpec: 'spec.model.uri: bad' }, before, T1);
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'InvalidSpec'],
      ['Progressing', 'False', 'InvalidSpec'],
      ['Degraded', 'True', 'InvalidSpec'],
    ]);
    expect(s.roles).toEqual(before.roles);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it when it changes', () => {
    const first = computeStatus({ ...base, deployments: { decode: available(1), router: deployment(1, {}) } }, undefined, T0);
    const second = computeStatus({ ...base, deployments: { decode: available(1), router: available(1) } }, first, T1);
    const at = (s: typeof first, type: string) => s.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    expect(at(second, 'Ready')).toBe(T1); // False → True
    expect(at(second, 'Degraded')).toBe(T0); // False → False
  });
});
