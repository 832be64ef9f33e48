import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@llmd/observability';
import { waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { PoliciesFile, PoliciesFileError, parsePolicies } from './policies-file.js';
import { drawTarget, InMemoryPolicyDatastore, type ModelRewriteRecord } from './policies.js';

const rewrite = (name: string, createdAt: number, rules: ModelRewriteRecord['rules']): ModelRewriteRecord => ({ name, namespace: 'default', createdAt, rules, poolRef: null });
const to = (model: string, weight = 1) => ({ modelRewrite: model, weight });
const fixed = (x: number) => () => x;

describe('InMemoryPolicyDatastore objectives', () => {
  it('gives an objective priority by metadata.name; unset priority is 0; unknown is undefined', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertObjective({ name: 'critical', namespace: 'default', priority: 10, poolRef: null });
    s.upsertObjective({ name: 'plain', namespace: 'default', priority: null, poolRef: null });
    expect([s.objectivePriority('critical'), s.objectivePriority('plain'), s.objectivePriority('nope')]).toEqual([10, 0, undefined]);
  });

  it('removes only the object of that namespace', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertObjective({ name: 'x', namespace: 'team-a', priority: 3, poolRef: null });
    s.removeObjective('team-b', 'x');
    expect(s.objectivePriority('x')).toBe(3);
    s.removeObjective('team-a', 'x');
    expect(s.objectivePriority('x')).toBeUndefined();
  });
});

describe('InMemoryPolicyDatastore rewrites', () => {
  it('prefers an exact match over a catch-all rule, even in a younger resource', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertRewrite(rewrite('catch-all', 1, [{ matches: [], targets: [to('fallback')] }]));
    s.upsertRewrite(rewrite('exact', 2, [{ matches: ['llama'], targets: [to('llama-v2')] }]));
    expect(s.rewriteModel('llama', fixed(0))).toEqual({ model: 'llama-v2', rewriteName: 'exact' });
    expect(s.rewriteModel('other', fixed(0))).toEqual({ model: 'fallback', rewriteName: 'catch-all' });
  });

  it('lets the older resource win a tie, then the first matching rule inside it', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertRewrite(rewrite('young', 200, [{ matches: ['m'], targets: [to('from-young')] }]));
    s.upsertRewrite(
      rewrite('old', 100, [
        { matches: ['other', 'm'], targets: [to('first-rule')] },
        { matches: ['m'], targets: [to('second-rule')] },
      ]),
    );
    expect(s.rewriteModel('m', fixed(0))?.model).toBe('first-rule');
    s.removeRewrite('default', 'old');
    expect(s.rewriteModel('m', fixed(0))?.model).toBe('from-young');
  });

  it('keeps the model when nothing matches', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertRewrite(rewrite('r', 0, [{ matches: ['a'], targets: [to('b')] }]));
    expect(s.rewriteModel('c', fixed(0))).toBeNull();
  });

  it('replaceAll swaps the whole content', () => {
    const s = new InMemoryPolicyDatastore();
    s.upsertObjective({ name: 'old', namespace: 'default', priority: 1, poolRef: null });
    s.replaceAll([{ name: 'new', namespace: 'default', priority: 2, poolRef: null }], [rewrite('r', 0, [{ matches: [], targets: [to('x')] }])]);
    expect([s.objectivePriority('old'), s.objectivePriority('new')]).toEqual([undefined, 2]);
    expect(s.rewriteModel('anything', fixed(0))?.model).toBe('x');
  });
});

describe('drawTarget', () => {
  it.each([
    { case: '90/10 at 0.0', r: 0, want: 'stable' },
    { case: '90/10 just below 0.9', r: 0.8999, want: 'stable' },
    { case: '90/10 at 0.9', r: 0.9, want: 'canary' },
    { case: '90/10 at 0.9999', r: 0.9999, want: 'canary' },
  ])('$case → $want', ({ r, want }) => {
    expect(drawTarget([to('stable', 90), to('canary', 10)], fixed(r))?.modelRewrite).toBe(want);
  });

  it('is uniform when every weight is 0, and never picks a 0-weight target otherwise', () => {
    const zero = [to('a', 0), to('b', 0), to('c', 0)];
    expect([0, 0.34, 0.99].map((r) => drawTarget(zero, fixed(r))?.modelRewrite)).toEqual(['a', 'b', 'c']);
    expect([0, 0.5, 0.999].map((r) => drawTarget([to('a', 0), to('b', 5)], fixed(r))?.modelRewrite)).toEqual(['b', 'b', 'b']);
    expect(drawTarget([], fixed(0))).toBeNull();
  });
});

const MANIFESTS = `
apiVersion: llm-d.ai/v1alpha2
kind: InferenceObjective
metadata: {name: critical, namespace: prod, labels: {team: a}, uid: "123"}
spec: {priority: 100, poolRef: {name: pool, group: inference.networking.k8s.io}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: -1}
status: {conditions: []}
---
apiVersion: v1
kind: List
items:
- apiVersion: llm-d.ai/v1alpha2
  kind: InferenceModelRewrite
  metadata: {name: canary, creationTimestamp: "2026-01-02T03:04:05Z"}
  spec:
    rules:
    - matches: [{model: {type: Exact, value: llama}}]
      targets: [{modelRewrite: llama-stable, weight: 90}, {modelRewrite: llama-canary, weight: 10}]
`;

describe('parsePolicies', () => {
  it('reads objectives and rewrites from several documents and List items, ignoring status and extra metadata', () => {
    const p = parsePolicies(MANIFESTS);
    expect(p.objectives).toEqual([
      { name: 'critical', namespace: 'prod', priority: 100, poolRef: { name: 'pool', group: 'inference.networking.k8s.io', kind: null } },
      { name: 'batch', namespace: 'default', priority: -1, poolRef: null },
    ]);
    expect(p.rewrites).toEqual([
      {
        name: 'canary',
        namespace: 'default',
        createdAt: Date.parse('2026-01-02T03:04:05Z'),
        poolRef: null,
        rules: [{ matches: ['llama'], targets: [to('llama-stable', 90), to('llama-canary', 10)] }],
      },
    ]);
  });

  it.each([
    { case: 'an unknown kind', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n', error: 'f.yaml: document 1.kind: expected InferenceObjective or InferenceModelRewrite, got "Pod"' },
    {
      case: 'a wrong apiVersion',
      text: 'apiVersion: llm-d.ai/v1\nkind: InferenceObjective\nmetadata: {name: x}\nspec: {}\n',
      error: 'f.yaml: document 1 (InferenceObjective x).apiVersion: expected one of llm-d.ai/v1alpha2, inference.networking.x-k8s.io/v1alpha2',
    },
    {
      case: 'a non-integer priority',
      text: 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: x}\nspec: {priority: high}\n',
      error: 'f.yaml: document 1 (InferenceObjective x).spec.priority: ',
    },
    {
      case: 'an unknown spec field',
      text: 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: x}\nspec: {priorty: 1}\n',
      error: 'f.yaml: document 1 (InferenceObjective x).spec: ',
    },
    {
      case: 'a weight out of range',
      text: 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceModelRewrite\nmetadata: {name: r}\nspec: {rules: [{targets: [{modelRewrite: a, weight: 2000000}]}]}\n',
      error: 'f.yaml: document 1 (InferenceModelRewrite r).spec.rules[0].targets[0].weight: ',
    },
    {
      case: 'a rule without targets',
      text: 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceModelRewrite\nmetadata: {name: r}\nspec: {rules: [{targets: []}]}\n',
      error: 'f.yaml: document 1 (InferenceModelRewrite r).spec.rules[0].targets: a rule needs at least one target',
    },
    { case: 'invalid YAML', text: 'kind: [unclosed\n', error: 'f.yaml: document 1: invalid YAML: ' },
    {
      case: 'a bad object name',
      text: 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: Bad_Name}\nspec: {}\n',
      error: 'f.yaml: document 1 (InferenceObjective Bad_Name).metadata.name: expected a Kubernetes object name',
    },
  ])('rejects $case, naming the document and field', ({ text, error }) => {
    let err: unknown;
    try {
      parsePolicies(text, 'f.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PoliciesFileError);
    expect((err as Error).message.startsWith(error)).toBe(true);
  });
});

describe('PoliciesFile', () => {
  it('loads the file, reloads it on change, and keeps the last good content when an edit is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'policies-'));
    const path = join(dir, 'objectives.yaml');
    writeFileSync(path, MANIFESTS);
    const store = new InMemoryPolicyDatastore();
    const file = new PoliciesFile({ path, logger: silentLogger() });
    await file.start(store);
    try {
      expect(store.objectivePriority('critical')).toBe(100);
      // An atomic replace, as ConfigMap updates and editors do.
      writeFileSync(join(dir, 'next.tmp'), 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: critical}\nspec: {priority: 7}\n');
      renameSync(join(dir, 'next.tmp'), path);
      await waitUntil(() => store.objectivePriority('critical') === 7, 'the reload');
      expect(store.rewriteModel('llama', fixed(0))).toBeNull();
      writeFileSync(path, 'kind: Nope\n');
      await file.reload();
      expect(store.objectivePriority('critical')).toBe(7);
    } finally {
      file.stop();
    }
  });

  it('refuses to start on a missing or invalid file, naming it', async () => {
    const store = new InMemoryPolicyDatastore();
    await expect(new PoliciesFile({ path: '/nonexistent/objectives.yaml', watchFile: false, logger: silentLogger() }).start(store)).rejects.toThrow(
      /initial load of \/nonexistent\/objectives\.yaml: /,
    );
    const dir = mkdtempSync(join(tmpdir(), 'policies-'));
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: llm-d.ai/v1alpha2\nkind: InferenceObjective\nmetadata: {name: x}\nspec: {priority: 1.5}\n');
    await expect(new PoliciesFile({ path: join(dir, 'bad.yaml'), watchFile: false, logger: silentLogger() }).start(store)).rejects.toThrow(/bad\.yaml: document 1 \(InferenceObjective x\)\.spec\.priority/);
  });
});
