// The InferencePool of a ModelService and, behind a Gateway, its HTTPRoute.
import type { ModelService } from '@llmd/k8s-api';
import { childNames, commonLabels, poolSelector, ROUTER_PORTS, SERVING_PORT } from './names.js';
import type { KubeObject } from './types.js';

/** The InferencePool: the model-server pods, and the router that picks among them. */
export function renderPool(ms: ModelService): KubeObject {
  const names = childNames(ms);
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: names.pool, namespace: ms.metadata.namespace as string, labels: commonLabels(ms, 'pool') },
    spec: {
      selector: { matchLabels: poolSelector(ms) },
      targetPorts: [{ number: SERVING_PORT }],
      endpointPickerRef: { name: names.router, port: { number: ROUTER_PORTS.grpc }, failureMode: 'FailClose' },
    },
  };
}

/** The HTTPRoute that sends a Gateway's traffic to the pool, when routing.gateway is set. */
export function renderRoute(ms: ModelService): KubeObject[] {
  const gateway = ms.spec.routing.gateway;
  if (!gateway) return [];
  const names = childNames(ms);
  const parentRef: Record<string, string> = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gateway.parentRef.name };
  if (gateway.parentRef.namespace) parentRef.namespace = gateway.parentRef.namespace;
  if (gateway.parentRef.sectionName) parentRef.sectionName = gateway.parentRef.sectionName;
  return [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: names.route, namespace: ms.metadata.namespace as string, labels: commonLabels(ms, 'route') },
      spec: {
        parentRefs: [parentRef],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: names.pool }],
          },
        ],
      },
    },
  ];
}
