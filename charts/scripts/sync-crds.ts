// Copies config/crd/ into charts/llm-d/crds/: `pnpm nx run charts:sync-crds`.
import { mkdirSync } from 'node:fs';
import { CRD_CHART_DIR, CRD_SOURCE_DIR, crdFiles, syncCrds } from './crds.ts';

if (crdFiles(CRD_SOURCE_DIR).length === 0) {
  console.error(`sync-crds: no CRDs in ${CRD_SOURCE_DIR}; generate them with \`pnpm nx run k8s-api:generate-crds\``);
  process.exit(1);
}
mkdirSync(CRD_CHART_DIR, { recursive: true });
const changed = syncCrds();
for (const { file, problem } of changed) console.log(`${problem === 'not in config/crd' ? 'removed' : 'copied'} ${file}`);
console.log(changed.length === 0 ? 'charts/llm-d/crds is up to date' : `charts/llm-d/crds: ${changed.length} file(s) updated`);
