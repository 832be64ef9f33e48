// The chart ships the project's CustomResourceDefinitions in charts/llm-d/crds/ (Helm installs that
// folder before any template). They are exact copies of config/crd/, the generated originals.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The generated CRDs (written by `pnpm nx run k8s-api:generate-crds`). */
export const CRD_SOURCE_DIR = fileURLToPath(new URL('../../config/crd/', import.meta.url));

/** The chart's copies. */
export const CRD_CHART_DIR = fileURLToPath(new URL('../llm-d/crds/', import.meta.url));

/** The CRD files of a folder (YAML files declaring a CustomResourceDefinition), sorted by name. */
export function crdFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && /^kind:\s*CustomResourceDefinition\s*$/m.test(readFileSync(join(dir, f), 'utf8')))
    .sort();
}

/** One way the chart's CRDs differ from config/crd/. */
export interface CrdDifference {
  readonly file: string;
  readonly problem: 'missing from the chart' | 'not in config/crd' | 'content differs';
}

/** How charts/llm-d/crds/ differs from config/crd/; empty when they are the same. */
export function crdDifferences(sourceDir = CRD_SOURCE_DIR, chartDir = CRD_CHART_DIR): CrdDifference[] {
  const source = crdFiles(sourceDir);
  const chart = crdFiles(chartDir);
  const differences: CrdDifference[] = [];
  for (const file of source) {
    if (!chart.includes(file)) differences.push({ file, problem: 'missing from the chart' });
    else if (!readFileSync(join(sourceDir, file)).equals(readFileSync(join(chartDir, file)))) differences.push({ file, problem: 'content differs' });
  }
  for (const file of chart) if (!source.includes(file)) differences.push({ file, problem: 'not in config/crd' });
  return differences;
}

/** Makes charts/llm-d/crds/ an exact copy of the CRDs of config/crd/; returns what it changed. */
export function syncCrds(sourceDir = CRD_SOURCE_DIR, chartDir = CRD_CHART_DIR): CrdDifference[] {
  const differences = crdDifferences(sourceDir, chartDir);
  for (const { file, problem } of differences) {
    if (problem === 'not in config/crd') rmSync(join(chartDir, file));
    else writeFileSync(join(chartDir, file), readFileSync(join(sourceDir, file)));
  }
  return differences;
}
