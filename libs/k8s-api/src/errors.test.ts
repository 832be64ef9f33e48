import { describe, expect, it } from 'vitest';
import { describeObject, fieldPath, parseResource, ResourceValidationError } from './errors.js';
import { VariantAutoscalingSchema } from './variant-autoscaling.js';

describe('errors', () => {
  it('formats paths the way the API server names fields', () => {
    expect(fieldPath(['spec', 'targetPorts', 0, 'number'])).toBe('spec.targetPorts[0].number');
    expect(fieldPath([])).toBe('');
  });

  it('names objects by kind, namespace and name', () => {
    expect(describeObject({ kind: 'ModelService', metadata: { name: 'a', namespace: 'ns' } })).toBe('ModelService ns/a');
    expect(describeObject(null)).toBe('object');
  });

  it('parseResource returns the defaulted object or throws with every problem', () => {
    const ok = parseResource(VariantAutoscalingSchema, { apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: { name: 'v' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, modelID: 'm' } });
    expect(ok.spec).toMatchObject({ minReplicas: 1, maxReplicas: 2, variantCost: '10.0' });
    let err: ResourceValidationError | undefined;
    try {
      parseResource(VariantAutoscalingSchema, { apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: { name: 'v' }, spec: { scaleTargetRef: { kind: 'Deployment' }, modelID: '' } });
    } catch (e) {
      err = e as ResourceValidationError;
    }
    expect(err).toBeInstanceOf(ResourceValidationError);
    expect(err?.problems.map((p) => p.split(':')[0])).toEqual(['spec.scaleTargetRef.name', 'spec.modelID']);
    expect(err?.message).toMatch(/^VariantAutoscaling v: /);
  });
});
