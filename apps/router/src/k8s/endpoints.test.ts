import { describe, expect, it } from 'vitest';
import {
  endpointId,
  isPodReady,
  podEndpoints,
  podExclusionReason,
  samePoolView,
  sameSelector,
  selectorMatches,
  selectorQuery,
  type LabelSelector,
  type PodLike,
  type PoolView,
} from './endpoints.js';

const pool: PoolView = { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [8000] };

function pod(over: { name?: string; labels?: Record<string, string>; ready?: string | null; ip?: string | null; deleting?: boolean } = {}): PodLike {
  return {
    metadata: {
      name: over.name ?? 'vllm-0',
      namespace: 'ns1',
      labels: over.labels ?? { app: 'vllm', 'llm-d.ai/role': 'decode' },
      ...(over.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    status: {
      podIP: over.ip === undefined ? '10.0.0.7' : over.ip,
      conditions: over.ready === null ? [] : [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: over.ready ?? 'True' }],
    },
  };
}

describe('selectorMatches', () => {
  const labels = { app: 'vllm', tier: 'gpu', role: 'decode' };
  it.each<[string, LabelSelector, boolean]>([
    ['empty selector matches everything', {}, true],
    ['matchLabels subset', { matchLabels: { app: 'vllm' } }, true],
    ['matchLabels with a wrong value', { matchLabels: { app: 'sglang' } }, false],
    ['matchLabels with a missing key', { matchLabels: { zone: 'a' } }, false],
    ['In holds', { matchExpressions: [{ key: 'role', operator: 'In', values: ['prefill', 'decode'] }] }, true],
    ['In fails on another value', { matchExpressions: [{ key: 'role', operator: 'In', values: ['prefill'] }] }, false],
    ['In fails on a missing key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn holds on a missing key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['NotIn fails on a listed value', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gpu'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['DoesNotExist fails', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    ['all parts must hold', { matchLabels: { app: 'vllm' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
  ])('%s', (_what, selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it('treats missing labels as none', () => {
    expect(selectorMatches({ matchLabels: { app: 'vllm' } }, undefined)).toBe(false);
    expect(selectorMatches({}, null)).toBe(true);
  });
});

describe('selectorQuery', () => {
  it('writes the API server syntax, sorted so equal selectors give equal strings', () => {
    expect(selectorQuery({ matchLabels: { b: '2', a: '1' } })).toBe('a=1,b=2');
    expect(
      selectorQuery({
        matchExpressions: [
          { key: 'r', operator: 'In', values: ['y', 'x'] },
          { key: 's', operator: 'NotIn', values: ['z'] },
          { key: 't', operator: 'Exists' },
          { key: 'u', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('r in (x,y),s notin (z),t,!u');
    expect(selectorQuery({})).toBe('');
  });
});

describe('pod readiness rules', () => {
  it.each<[string, PodLike, string | null]>([
    ['a Ready pod with an IP serves', pod(), null],
    ['Ready=False', pod({ ready: 'False' }), 'not Ready'],
    ['Ready=Unknown', pod({ ready: 'Unknown' }), 'not Ready'],
    ['no conditions yet', pod({ ready: null }), 'not Ready'],
    ['terminating, though still Ready', pod({ deleting: true }), 'terminating'],
    ['no IP yet', pod({ ip: null }), 'no pod IP'],
    ['labels outside the selector', pod({ labels: { app: 'other' } }), 'labels do not match the selector'],
  ])('%s', (_what, p, reason) => {
    expect(podExclusionReason(p, pool)).toBe(reason);
    expect(podEndpoints(p, pool)).toHaveLength(reason === null ? 1 : 0);
  });

  it('reads only the Ready condition', () => {
    expect(isPodReady({ status: { conditions: [{ type: 'ContainersReady', status: 'True' }] } })).toBe(false);
    expect(isPodReady({})).toBe(false);
  });
});

describe('podEndpoints', () => {
  it('gives one endpoint per target port, named with the rank, carrying the labels', () => {
    const eps = podEndpoints(pod(), { ...pool, targetPorts: [8000, 8001] });
    expect(eps.map((e) => [e.id, e.name, e.namespace, e.address, e.port, e.hostPort])).toEqual([
      ['ns1/vllm-0-rank-0', 'vllm-0', 'ns1', '10.0.0.7', 8000, '10.0.0.7:8000'],
      ['ns1/vllm-0-rank-1', 'vllm-0', 'ns1', '10.0.0.7', 8001, '10.0.0.7:8001'],
    ]);
    expect(eps[0]?.labels['llm-d.ai/role']).toBe('decode');
    expect(Object.isFrozen(eps[0])).toBe(true);
    expect(endpointId('ns1', 'vllm-0', 1)).toBe('ns1/vllm-0-rank-1');
  });

  it('brackets IPv6 pod addresses in hostPort', () => {
    const [e] = podEndpoints(pod({ ip: 'fd00::7' }), pool);
    expect(e?.hostPort).toBe('[fd00::7]:8000');
  });

  it('copies labels so a later change to the pod object does not leak in', () => {
    const labels = { app: 'vllm' };
    const [e] = podEndpoints(pod({ labels }), pool);
    labels.app = 'changed';
    expect(e?.labels.app).toBe('vllm');
  });
});

describe('pool view comparison', () => {
  it('tells a selector change from a port change', () => {
    const a: PoolView = { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [8000] };
    const ports: PoolView = { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [8000, 8001] };
    const sel: PoolView = { selector: { matchLabels: { app: 'sglang' } }, targetPorts: [8000] };
    expect(samePoolView(a, { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [8000] })).toBe(true);
    expect(sameSelector(a, ports)).toBe(true);
    expect(samePoolView(a, ports)).toBe(false);
    expect(sameSelector(a, sel)).toBe(false);
  });
});
