/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** An owner reference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Images and other cluster-wide settings the operator renders with. */
export interface RenderConfig {
  /** Image of the router (endpoint picker), unless a ModelService names one. */
  readonly routerImage: string;
  /** Image of the P/D routing sidecar in decode pods. */
  readonly pdSidecarImage: string;
  /** Engine image, unless a role names one. */
  readonly modelServerImage: string;
}
