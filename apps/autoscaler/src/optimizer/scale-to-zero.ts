// The scale-to-zero enforcer: an idle model (no finished requests within its retention period) goes
// to zero replicas; otherwise a model keeps at least one replica, on its cheapest variant.
import type { ScaleToZeroConfig } from '../config/scale-to-zero-config.js';
import type { VariantState } from '../model.js';
import type { VariantTarget } from '../analyzers/saturation.js';

/**
 * Applies scale-to-zero to a group's targets. `requestCount` is the model's finished requests within
 * the retention period, or undefined when unknown (then nothing is forced to zero). Scale to zero
 * needs it enabled for the model and every variant's `minReplicas` at 0.
 */
export function enforceScaleToZero(
  states: readonly VariantState[],
  targets: Map<string, VariantTarget>,
  config: ScaleToZeroConfig,
  requestCount: number | undefined,
): Map<string, VariantTarget> {
  const out = new Map(targets);
  const allowed = config.enableScaleToZero && states.every((s) => s.variant.minReplicas === 0);
  if (allowed && requestCount === 0) {
    const minutes = config.retentionPeriodMs / 60_000;
    for (const s of states) out.set(s.variant.name, { target: 0, reason: `scale to zero: no requests in the last ${Number(minutes.toFixed(2))}m` });
    return out;
  }
  const total = [...out.values()].reduce((sum, t) => sum + t.target, 0);
  if (total > 0 || allowed) return out;
  const cheapest = [...states].sort((a, b) => a.variant.cost - b.variant.cost || a.variant.name.localeCompare(b.variant.name))[0];
  if (cheapest) out.set(cheapest.variant.name, { target: Math.max(1, cheapest.variant.minReplicas), reason: 'keep one replica: scale to zero is off for this model' });
  return out;
}
