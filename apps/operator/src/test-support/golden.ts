// Golden files of the operator: per preset, the input ModelService and the children it renders.
// Regenerate with UPDATE_GOLDEN=1 (the render test rewrites children.yaml).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MODEL_SERVICE_PRESETS, ModelServiceSchema, type ModelService, type ModelServicePreset } from '@llmd/k8s-api';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeObject, RenderConfig } from '../render/index.js';

/** Folder of the golden files. */
export const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden/', import.meta.url));
/** Presets that have golden files. */
export const GOLDEN_PRESETS: readonly ModelServicePreset[] = MODEL_SERVICE_PRESETS;
/** Whether the tests should rewrite the golden files instead of comparing. */
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
/** The uid the golden files give the owning ModelService (the API server's real one is replaced by it). */
export const GOLDEN_OWNER_UID = '00000000-0000-4000-8000-000000000000';

/** The images the golden files are rendered with. */
export const GOLDEN_RENDER_CONFIG: RenderConfig = {
  routerImage: 'llm-d-ts/router:0.1.0',
  pdSidecarImage: 'llm-d-ts/pd-sidecar:0.1.0',
  modelServerImage: 'vllm/vllm-openai:v0.11.0',
};

/** The input ModelService of a preset, as written (no defaults). */
export function goldenInput(preset: ModelServicePreset): KubeObject {
  return parseAllDocuments(readFileSync(`${GOLDEN_DIR}${preset}/modelservice.yaml`, 'utf8'))[0]?.toJS() as KubeObject;
}

/** The input ModelService of a preset, defaulted, with the golden owner uid. */
export function goldenModelService(preset: ModelServicePreset): ModelService {
  const input = goldenInput(preset);
  return ModelServiceSchema.parse({ ...input, metadata: { ...input.metadata, uid: GOLDEN_OWNER_UID } });
}

/** The golden children of a preset. */
export function goldenChildren(preset: ModelServicePreset): KubeObject[] {
  return parseAllDocuments(readFileSync(`${GOLDEN_DIR}${preset}/children.yaml`, 'utf8')).map((d) => d.toJS() as KubeObject);
}

/** Writes the golden children of a preset. */
export function writeGoldenChildren(preset: ModelServicePreset, objects: readonly KubeObject[]): void {
  const header = `# Children of ${preset}/modelservice.yaml as the operator renders them. Regenerate: UPDATE_GOLDEN=1 pnpm nx test operator\n`;
  writeFileSync(`${GOLDEN_DIR}${preset}/children.yaml`, header + objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'));
}

/**
 * An object read from the API server, without what the server sets (uid, resourceVersion,
 * managedFields, status, …) and with the owner's uid replaced by the golden one.
 */
export function normalizeServerObject(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const meta = copy.metadata as Record<string, unknown>;
  for (const key of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds']) delete meta[key];
  if (copy.metadata.ownerReferences) copy.metadata.ownerReferences = copy.metadata.ownerReferences.map((r) => ({ ...r, uid: GOLDEN_OWNER_UID }));
  delete copy.status;
  return copy;
}

/**
 * The part of `actual` with the shape of `expected`: object keys `expected` lacks are dropped (fields
 * the API server defaulted), lists are kept element by element. Comparing the result to `expected`
 * checks every field of `expected` and nothing the server added.
 */
export function projectOnto(expected: unknown, actual: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((a, i) => (i < expected.length ? projectOnto(expected[i], a) : a));
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object' && !Array.isArray(actual)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) if (key in actual) out[key] = projectOnto((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key]);
    return out;
  }
  return actual;
}
