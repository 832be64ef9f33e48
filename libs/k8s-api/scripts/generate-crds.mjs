#!/usr/bin/env node
// Writes config/crd/ from the CRD definitions in libs/k8s-api/src (through the built dist/), and
// removes YAML files there that no definition produces. Run: pnpm nx run k8s-api:generate-crds
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_DIR, renderCrdFiles } from '../dist/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = join(root, CRD_DIR);
mkdirSync(dir, { recursive: true });
const files = renderCrdFiles();
for (const name of readdirSync(dir)) {
  if (name.endsWith('.yaml') && !files.has(name)) {
    rmSync(join(dir, name));
    console.log(`removed ${CRD_DIR}/${name}`);
  }
}
for (const [name, text] of files) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote ${CRD_DIR}/${name}`);
}
