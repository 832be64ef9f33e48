// charts/llm-d/crds/ holds exact copies of the generated CRDs in config/crd/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { CRD_CHART_DIR, CRD_SOURCE_DIR, crdDifferences, crdFiles, syncCrds } from '../scripts/crds.ts';

describe('charts/llm-d/crds', () => {
  it('is an exact copy of config/crd (run `pnpm nx run charts:sync-crds` after regenerating)', () => {
    expect(crdFiles(CRD_SOURCE_DIR).length, `no CRDs in ${CRD_SOURCE_DIR}`).toBeGreaterThan(0);
    expect(crdDifferences()).toEqual([]);
  });

  it('has every CRD the stack uses', () => {
    const names = crdFiles(CRD_CHART_DIR).map((f) => (parse(readFileSync(join(CRD_CHART_DIR, f), 'utf8')) as { metadata: { name: string } }).metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'inferencepools.inference.networking.k8s.io',
        'inferencepools.inference.networking.x-k8s.io',
        'inferenceobjectives.llm-d.ai',
        'inferencemodelrewrites.llm-d.ai',
        'variantautoscalings.llm-d.ai',
        'modelservices.llm-d.ai',
      ]),
    );
  });
});

describe('crdDifferences and syncCrds', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const crd = (name: string) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${name}\n`;

  it('finds a missing, a changed and an extra CRD, ignores other files, and syncing removes the differences', () => {
    dir = mkdtempSync(join(tmpdir(), 'llmd-crds-'));
    const source = join(dir, 'source');
    const chart = join(dir, 'chart');
    mkdirSync(source);
    mkdirSync(chart);
    writeFileSync(join(source, 'a.yaml'), crd('as.example.com'));
    writeFileSync(join(source, 'b.yaml'), crd('bs.example.com'));
    writeFileSync(join(source, 'kustomization.yaml'), 'resources: [a.yaml, b.yaml]\n');
    writeFileSync(join(chart, 'b.yaml'), crd('bs.example.com') + '# edited by hand\n');
    writeFileSync(join(chart, 'c.yaml'), crd('cs.example.com'));

    expect(crdDifferences(source, chart)).toEqual([
      { file: 'a.yaml', problem: 'missing from the chart' },
      { file: 'b.yaml', problem: 'content differs' },
      { file: 'c.yaml', problem: 'not in config/crd' },
    ]);
    expect(syncCrds(source, chart)).toHaveLength(3);
    expect(crdDifferences(source, chart)).toEqual([]);
    expect(crdFiles(chart)).toEqual(['a.yaml', 'b.yaml']);
    expect(readFileSync(join(chart, 'b.yaml'), 'utf8')).toBe(crd('bs.example.com'));
  });
});
