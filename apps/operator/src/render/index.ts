// Desired state: a pure function from a ModelService to the objects it should own.
import { MODEL_SERVICE_API_VERSION, type ModelService } from '@llmd/k8s-api';
import { renderAutoscaling } from './autoscaling.js';
import { renderRole } from './model-server.js';
import { renderRouter } from './router.js';
import { renderPool, renderRoute } from './routing.js';
import type { KubeObject, RenderConfig } from './types.js';

export * from './names.js';
export { presetConfig, routerConfigText, kvEventsMode } from './presets.js';
export { engineArgs, modelSource, podLabels } from './model-server.js';
export { ROUTER_RULES } from './router.js';
export type { KubeObject, OwnerReference, RenderConfig } from './types.js';

/** Every object a (validated, defaulted) ModelService should own, in apply order, with owner references. */
export function renderChildren(ms: ModelService, config: RenderConfig): KubeObject[] {
  const objects = [...renderRouter(ms, config), ...renderRole(ms, 'decode', ms.spec.decode, config)];
  if (ms.spec.prefill) objects.push(...renderRole(ms, 'prefill', ms.spec.prefill, config));
  objects.push(renderPool(ms), ...renderRoute(ms), ...renderAutoscaling(ms));
  const uid = ms.metadata.uid;
  if (uid !== undefined) {
    const owner = { apiVersion: MODEL_SERVICE_API_VERSION, kind: 'ModelService', name: ms.metadata.name as string, uid, controller: true, blockOwnerDeletion: true };
    for (const o of objects) o.metadata.ownerReferences = [owner];
  }
  return objects;
}
