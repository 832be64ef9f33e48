import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifestFiles, parseManifests } from './index.js';

describe('parseManifests', () => {
  it('reads every document and skips empty ones', () => {
    const objects = parseManifests(`
---
apiVersion: v1
kind: Namespace
metadata: { name: a }
---
# only a comment
---
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "a"}, "data": {"k": "v"}}
`);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/a', 'ConfigMap/b']);
    expect(objects[1]?.['data']).toEqual({ k: 'v' });
  });

  it('flattens lists', () => {
    const objects = parseManifests(`
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: one } }
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: two } }
`);
    expect(objects.map((o) => o.metadata.name)).toEqual(['one', 'two']);
  });

  it('names the source and the document of an object without a name', () => {
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\nmetadata: {}\n', 'bundle.yaml')).toThrow(
      /bundle\.yaml: document 1 is not a Kubernetes object/,
    );
  });

  it('reports invalid YAML with its document number', () => {
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ok }\n---\nkey: [unclosed\n', 'broken.yaml')).toThrow(
      /broken\.yaml: document 2 is not valid YAML/,
    );
  });
});

describe('loadManifestFiles', () => {
  const root = mkdtempSync(join(tmpdir(), 'llmd-k8s-manifests-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('walks folders recursively in name order and reads only manifest files', async () => {
    mkdirSync(join(root, 'crds', 'bases'), { recursive: true });
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\n`;
    writeFileSync(join(root, 'crds', 'b.yaml'), cm('b'));
    writeFileSync(join(root, 'crds', 'a.yml'), cm('a'));
    writeFileSync(join(root, 'crds', 'bases', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }));
    writeFileSync(join(root, 'crds', 'README.md'), '# not a manifest');
    writeFileSync(join(root, 'single.txt'), cm('explicit'));
    const objects = await loadManifestFiles([join(root, 'crds'), join(root, 'single.txt')]);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c', 'explicit']);
  });

  it('says which path does not exist', async () => {
    await expect(loadManifestFiles(join(root, 'missing'))).rejects.toThrow(/manifest path .*missing does not exist/);
  });
});
