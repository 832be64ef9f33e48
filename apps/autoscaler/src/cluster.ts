// What the controller needs from the place its variants live: Kubernetes, or the local process group.
import type { Condition, VariantAutoscalingStatus } from '@llmd/k8s-api';
import type { TargetRef, TargetState, Variant } from './model.js';

/** A VariantAutoscaling as listed: its variant and the parts of its status the controller carries over. */
export interface ListedVariant {
  readonly variant: Variant;
  /** `status.desiredOptimizedAlloc.numReplicas`, or null when none was published yet. */
  readonly previousDesired: number | null;
  /** `status.desiredOptimizedAlloc.lastUpdate`, carried over while the decision does not change. */
  readonly previousUpdate?: { readonly updateTime?: string | undefined; readonly numReplicasChanged?: number | undefined; readonly reason?: string | undefined } | undefined;
  readonly conditions: readonly Condition[];
  readonly generation?: number | undefined;
}

/** A VariantAutoscaling that could not be read as one (its spec fails validation). */
export interface InvalidVariant {
  readonly name: string;
  readonly namespace: string;
  /** The validation problem, naming the field. */
  readonly message: string;
  readonly conditions: readonly Condition[];
}

/** The result of listing VariantAutoscalings. */
export interface VariantList {
  readonly variants: readonly ListedVariant[];
  readonly invalid: readonly InvalidVariant[];
}

/** The cluster as the controller sees it. */
export interface Cluster {
  /** Every VariantAutoscaling this controller manages. */
  listVariants(): Promise<VariantList>;
  /** The target's `/scale`, or null when the target does not exist. */
  getScale(namespace: string, target: TargetRef): Promise<TargetState | null>;
  /** Sets the target's replicas through `/scale`. */
  setScale(namespace: string, target: TargetRef, replicas: number): Promise<void>;
  /** Writes a VariantAutoscaling's status. */
  writeStatus(namespace: string, name: string, status: VariantAutoscalingStatus): Promise<void>;
  /** A ConfigMap's data, or null when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | null>;
}
