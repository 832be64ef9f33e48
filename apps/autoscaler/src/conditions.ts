// Status conditions of a VariantAutoscaling, with upstream's types and reasons.
import { VariantAutoscalingConditions as Types, VariantAutoscalingReasons as Reasons, type Condition } from '@llmd/k8s-api';

export { Types as ConditionTypes, Reasons as ConditionReasons };

/** A condition as the controller decides it (the time fields are filled in by {@link mergeConditions}). */
export interface ConditionUpdate {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** Reason of OptimizationReady when a ConfigMap entry that applies to the model does not parse. */
export const INVALID_CONFIGURATION = Reasons.TargetResolved.InvalidConfiguration;

const MAX_MESSAGE = 32_000;

/**
 * Applies updates to a condition list: a condition keeps its `lastTransitionTime` while its status
 * stays the same; conditions not updated are kept as they were. Sorted by type for stable writes.
 */
export function mergeConditions(existing: readonly Condition[], updates: readonly ConditionUpdate[], now: Date, generation?: number): Condition[] {
  const byType = new Map(existing.map((c) => [c.type, c]));
  for (const u of updates) {
    const before = byType.get(u.type);
    byType.set(u.type, {
      type: u.type,
      status: u.status,
      reason: u.reason,
      message: u.message.length > MAX_MESSAGE ? `${u.message.slice(0, MAX_MESSAGE)}…` : u.message,
      lastTransitionTime: before && before.status === u.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
  }
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}

/** The condition of `type` in a list, if present. */
export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}
