import { describe, expect, it } from 'vitest';
import { ResourceValidationError } from './errors.js';
import { InferencePoolSchema, normalizeInferencePool } from './inference-pool.js';

const metadata = { name: 'qwen', namespace: 'serving' };

describe('normalizeInferencePool', () => {
  it('reads a v1 pool, filling in the picker defaults', () => {
    const pool = normalizeInferencePool({
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata,
      spec: { selector: { matchLabels: { 'llm-d.ai/model': 'qwen' } }, targetPorts: [{ number: 8000 }, { number: 8001 }], endpointPickerRef: { name: 'qwen-epp', port: { number: 9002 } } },
    });
    expect(pool).toEqual({
      apiVersion: 'inference.networking.k8s.io/v1',
      name: 'qwen',
      namespace: 'serving',
      selector: { 'llm-d.ai/model': 'qwen' },
      targetPorts: [8000, 8001],
      appProtocol: 'http',
      eppRef: { group: '', kind: 'Service', name: 'qwen-epp', port: 9002, failureMode: 'FailClose' },
    });
  });

  it('reads a v1 pool without a picker as eppRef null', () => {
    const pool = normalizeInferencePool({ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata, spec: { selector: { matchLabels: { a: 'b' } }, targetPorts: [{ number: 80 }] } });
    expect(pool.eppRef).toBeNull();
  });

  it('reads a v1alpha2 pool: selector map, one port, the picker on 9002 by default', () => {
    const pool = normalizeInferencePool({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferencePool',
      metadata,
      spec: { selector: { app: 'vllm' }, targetPortNumber: 8000, extensionRef: { name: 'epp', failureMode: 'FailOpen' } },
    });
    expect(pool).toEqual({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      name: 'qwen',
      namespace: 'serving',
      selector: { app: 'vllm' },
      targetPorts: [8000],
      appProtocol: 'http',
      eppRef: { group: '', kind: 'Service', name: 'epp', port: 9002, failureMode: 'FailOpen' },
    });
  });

  it('keeps an explicit v1alpha2 extension port, and gives no default port to other kinds', () => {
    const base = { apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferencePool', metadata };
    expect(normalizeInferencePool({ ...base, spec: { selector: {}, targetPortNumber: 1, extensionRef: { name: 'e', portNumber: 9100 } } }).eppRef?.port).toBe(9100);
    expect(normalizeInferencePool({ ...base, spec: { selector: {}, targetPortNumber: 1, extensionRef: { name: 'e', kind: 'Picker', group: 'example.com' } } }).eppRef?.port).toBeNull();
  });

  it('rejects a malformed pool with an error naming the object and the field', () => {
    let err: unknown;
    try {
      normalizeInferencePool({ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata, spec: { selector: { matchLabels: {} }, targetPorts: [{ number: 8000 }, { number: 8000 }] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceValidationError);
    expect((err as ResourceValidationError).field).toBe('spec.targetPorts');
    expect((err as Error).message).toMatch(/^InferencePool serving\/qwen: spec\.targetPorts: port number must be unique/);
  });

  it('rejects an object of another apiVersion as a v1 pool', () => {
    expect(() => normalizeInferencePool({ apiVersion: 'v1', kind: 'Pod', metadata, spec: {} })).toThrow(/apiVersion/);
  });

  it('drops unknown fields as the API server prunes them', () => {
    const parsed = InferencePoolSchema.parse({ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata, spec: { selector: { matchLabels: {} }, targetPorts: [{ number: 1, extra: true }], future: 1 } });
    expect(parsed.spec).toEqual({ selector: { matchLabels: {} }, targetPorts: [{ number: 1 }], appProtocol: 'http' });
  });
});
