import { INFERENCE_GROUP, INFERENCE_X_GROUP, normalizeInferencePool } from '@llmd/k8s-api';
import type { PoolView } from './endpoints.js';

/** Where InferencePools of a group are served. */
export interface PoolResource {
  readonly group: string;
  readonly version: 'v1' | 'v1alpha2';
  readonly plural: 'inferencepools';
}

/**
 * The InferencePool resource of `--pool-group`: `inference.networking.k8s.io` is read as v1, the
 * older `inference.networking.x-k8s.io` as v1alpha2. Any other group is refused.
 */
export function inferencePoolResource(group: string): PoolResource {
  if (group === INFERENCE_GROUP) return { group, version: 'v1', plural: 'inferencepools' };
  if (group === INFERENCE_X_GROUP) return { group, version: 'v1alpha2', plural: 'inferencepools' };
  throw new RangeError(`--pool-group ${JSON.stringify(group)}: expected ${INFERENCE_GROUP} (v1) or ${INFERENCE_X_GROUP} (v1alpha2)`);
}

/** The pool's selector and ports from an InferencePool object of `group` (validated by @llmd/k8s-api; throws naming the field). */
export function poolViewOf(object: unknown, group: string): PoolView {
  const { group: g, version } = inferencePoolResource(group);
  // List items of custom resources carry apiVersion, but do not rely on it: the group decides the form.
  const pool = normalizeInferencePool({ ...(object as object), apiVersion: `${g}/${version}`, kind: 'InferencePool' });
  return { selector: { matchLabels: pool.selector }, targetPorts: pool.targetPorts };
}
