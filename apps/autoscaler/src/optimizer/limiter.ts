// Limited mode: a fixed inventory of accelerators shared between models. Scale-ups are granted in
// priority order (lower number first, then the most saturated model), one accelerator pool per type.

/** A proposed change for one variant, as the limiter sees it. */
export interface LimiterRequest {
  /** `namespace/name` of the variant. */
  readonly key: string;
  readonly accelerator: string;
  /** Accelerators one replica uses. */
  readonly acceleratorCount: number;
  readonly currentReplicas: number;
  readonly targetReplicas: number;
  /** Lower is served first. */
  readonly priority: number;
  /** Lower means more saturated (served first among equal priorities); e.g. the average spare capacity. */
  readonly spare: number;
}

/** What the limiter decided for one variant. */
export interface LimiterGrant {
  readonly key: string;
  readonly targetReplicas: number;
  /** True when the target was cut to fit the inventory. */
  readonly limited: boolean;
}

/**
 * Grants targets within `capacity` (accelerators per type). Replicas already running and every
 * scale-down keep their accelerators (a scale-down frees them for others in the same pass);
 * scale-ups are granted whole replicas while accelerators remain. Types absent from `capacity` are
 * not limited.
 */
export function limitByInventory(requests: readonly LimiterRequest[], capacity: ReadonlyMap<string, number>): Map<string, LimiterGrant> {
  const free = new Map<string, number>();
  for (const [type, total] of capacity) free.set(type, total);
  for (const r of requests) {
    if (!free.has(r.accelerator)) continue;
    const kept = Math.min(r.currentReplicas, r.targetReplicas);
    free.set(r.accelerator, (free.get(r.accelerator) as number) - kept * r.acceleratorCount);
  }
  const out = new Map<string, LimiterGrant>();
  const ups = requests
    .filter((r) => r.targetReplicas > r.currentReplicas)
    .sort((a, b) => a.priority - b.priority || a.spare - b.spare || a.key.localeCompare(b.key));
  for (const r of requests) if (r.targetReplicas <= r.currentReplicas) out.set(r.key, { key: r.key, targetReplicas: r.targetReplicas, limited: false });
  for (const r of ups) {
    const available = free.get(r.accelerator);
    if (available === undefined) {
      out.set(r.key, { key: r.key, targetReplicas: r.targetReplicas, limited: false });
      continue;
    }
    const wanted = r.targetReplicas - r.currentReplicas;
    const granted = Math.max(0, Math.min(wanted, Math.floor(available / Math.max(1, r.acceleratorCount))));
    free.set(r.accelerator, available - granted * r.acceleratorCount);
    out.set(r.key, { key: r.key, targetReplicas: r.currentReplicas + granted, limited: granted < wanted });
  }
  return out;
}
