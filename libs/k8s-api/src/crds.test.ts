import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALL_CRDS, CRD_DIR, crdFileName, renderCrdFiles } from './crds.js';
import { customResourceDefinition } from './schema/crd.js';
import type { OpenApiSchema } from './schema/openapi.js';

const dir = fileURLToPath(new URL(`../../../${CRD_DIR}/`, import.meta.url));

describe(`${CRD_DIR} is generated from the definitions`, () => {
  const files = renderCrdFiles();

  it.each([...files.keys()])('%s matches the definitions (regenerate with `pnpm nx run k8s-api:generate-crds`)', (name) => {
    expect(readFileSync(join(dir, name), 'utf8')).toBe(files.get(name));
  });

  it('holds no YAML file that no definition produces', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()).toEqual([...files.keys()].sort());
  });

  it('the kustomization lists every CRD file', () => {
    const k = parse(files.get('kustomization.yaml') as string) as { resources: string[] };
    expect(k.resources.sort()).toEqual(ALL_CRDS.map(crdFileName).sort());
  });
});

/** Every node of a structural schema says its type, or is int-or-string / preserve-unknown. */
function structuralProblems(s: OpenApiSchema, path: string): string[] {
  const problems: string[] = [];
  if (s.type === undefined && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields']) problems.push(`${path}: no type`);
  if (s.type === 'array' && !s.items) problems.push(`${path}: array without items`);
  if (s.properties && s.additionalProperties) problems.push(`${path}: both properties and additionalProperties`);
  for (const r of s['x-kubernetes-validations'] ?? []) if (!r.message) problems.push(`${path}: CEL rule without a message`);
  for (const [k, v] of Object.entries(s.properties ?? {})) problems.push(...structuralProblems(v, `${path}.${k}`));
  if (s.items) problems.push(...structuralProblems(s.items, `${path}[]`));
  if (s.additionalProperties) problems.push(...structuralProblems(s.additionalProperties, `${path}{}`));
  for (const key of s.required ?? []) if (!s.properties?.[key]) problems.push(`${path}: required ${key} is not a property`);
  return problems;
}

describe.each(ALL_CRDS.map((d) => [`${d.plural}.${d.group}`, d] as const))('CRD %s', (_name, def) => {
  const crd = customResourceDefinition(def) as { spec: { versions: { name: string; storage: boolean; schema: { openAPIV3Schema: OpenApiSchema }; subresources?: object }[]; names: { categories?: string[] } } };

  it('has a structural schema', () => {
    for (const v of crd.spec.versions) expect(structuralProblems(v.schema.openAPIV3Schema, v.name)).toEqual([]);
  });

  it('stores exactly one version and serves status as a subresource', () => {
    expect(crd.spec.versions.filter((v) => v.storage)).toHaveLength(1);
    for (const v of crd.spec.versions) expect(v.subresources).toEqual({ status: {} });
  });

  it('is in the llm-d category', () => {
    expect(crd.spec.names.categories).toContain('llm-d');
  });

  it('bounds every list and string a CEL rule reads (the API server refuses unbounded rule costs)', () => {
    const unbounded: string[] = [];
    const walk = (s: OpenApiSchema, path: string, underRule: boolean) => {
      const ruled = underRule || (s['x-kubernetes-validations']?.length ?? 0) > 0;
      if (ruled && s.type === 'array' && s.maxItems === undefined) unbounded.push(`${path}: list without maxItems`);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`, ruled && s.type === 'array');
      if (s.items) walk(s.items, `${path}[]`, ruled);
    };
    for (const v of crd.spec.versions) walk(v.schema.openAPIV3Schema, v.name, false);
    expect(unbounded).toEqual([]);
  });
});
