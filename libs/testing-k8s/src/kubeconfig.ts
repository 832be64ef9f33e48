import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

/** Names used for the cluster and context entries of generated kubeconfigs. */
export const KUBECONFIG_CLUSTER = 'llmd-test';

/** What a kubeconfig for one user of the test cluster holds. */
export interface KubeConfigInput {
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caCert: string;
  /** The user's name in the kubeconfig (the certificate decides who the server thinks it is). */
  readonly userName: string;
  /** PEM client certificate and key. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Namespace of the context (default `default`). */
  readonly namespace?: string;
}

const base64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');

/** Renders a kubeconfig file (YAML) with one cluster, one user and one current context. */
export function renderKubeConfig(input: KubeConfigInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: KUBECONFIG_CLUSTER, cluster: { server: input.server, 'certificate-authority-data': base64(input.caCert) } }],
    users: [{ name: input.userName, user: { 'client-certificate-data': base64(input.clientCert), 'client-key-data': base64(input.clientKey) } }],
    contexts: [{ name: KUBECONFIG_CLUSTER, context: { cluster: KUBECONFIG_CLUSTER, user: input.userName, namespace: input.namespace ?? 'default' } }],
    'current-context': KUBECONFIG_CLUSTER,
  });
}

/** Loads a rendered kubeconfig into a client-node {@link KubeConfig}. */
export function loadKubeConfig(text: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(text);
  return kubeConfig;
}
