import { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from '@llmd/testing-k8s';
import { KubeClient } from '../client.js';

/** A client of the test control plane; with `viaPort`, through a loopback relay on that port. */
export function testClient(plane: ControlPlane, viaPort?: number): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  if (viaPort !== undefined) {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${viaPort}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return new KubeClient(kc);
}
