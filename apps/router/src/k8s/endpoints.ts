import { formatHostPort } from '@llmd/model-server';
import type { EndpointMetadata } from '@llmd/scheduling';

/** One requirement of a label selector (`matchExpressions` entry). */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

/** A Kubernetes label selector: every `matchLabels` pair and every expression must hold; empty selects all. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** What the router needs of an InferencePool, whichever API version it came from. */
export interface PoolView {
  readonly selector: LabelSelector;
  /** Model-server ports on each pod; every pod yields one endpoint per port, in this order. */
  readonly targetPorts: readonly number[];
}

/** The part of a Pod the router reads. */
export interface PodLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>> | null;
    readonly deletionTimestamp?: string | Date | null;
  };
  readonly status?: {
    readonly podIP?: string | null;
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string }> | null;
  } | null;
}

/** True when `labels` satisfy `selector` (Kubernetes semantics; an empty selector matches everything). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>> | null | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, r.key);
    switch (r.operator) {
      case 'In':
        if (!has || !(r.values ?? []).includes(l[r.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && (r.values ?? []).includes(l[r.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** The selector in the API server's `labelSelector` query syntax (`a=b,c in (d,e),!f`); empty for "everything". */
export function selectorQuery(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const values = [...(r.values ?? [])].sort().join(',');
    if (r.operator === 'In') parts.push(`${r.key} in (${values})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${values})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.join(',');
}

/** True when the pod's `Ready` condition is `True`. */
export function isPodReady(pod: PodLike): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** True when the pod is being deleted (it has a deletion timestamp). */
export function isPodTerminating(pod: PodLike): boolean {
  const ts = pod.metadata?.deletionTimestamp;
  return ts !== undefined && ts !== null && ts !== '';
}

/**
 * Why a pod yields no endpoints, or null when it serves: it must match the pool's selector, be
 * Ready, not be terminating, and have an IP (upstream's rules, plus the IP a pod only lacks
 * before it runs).
 */
export function podExclusionReason(pod: PodLike, pool: PoolView): string | null {
  if (!pod.metadata?.name) return 'no name';
  if (!selectorMatches(pool.selector, pod.metadata.labels)) return 'labels do not match the selector';
  if (isPodTerminating(pod)) return 'terminating';
  if (!isPodReady(pod)) return 'not Ready';
  if (!pod.status?.podIP) return 'no pod IP';
  return null;
}

/** The endpoint id of a pod's `rank`-th target port: `namespace/<pod>-rank-<rank>` (upstream's naming). */
export function endpointId(namespace: string, podName: string, rank: number): string {
  return `${namespace}/${podName}-rank-${rank}`;
}

/**
 * The endpoints a pod contributes to the pool: one per target port (`podIP:port`), named after
 * the pod with a `-rank-<i>` suffix per port, carrying the pod's labels (role filters read
 * `llm-d.ai/role`). None when the pod does not serve ({@link podExclusionReason}).
 */
export function podEndpoints(pod: PodLike, pool: PoolView): EndpointMetadata[] {
  if (podExclusionReason(pod, pool) !== null) return [];
  const name = pod.metadata?.name as string;
  const namespace = pod.metadata?.namespace || 'default';
  const address = pod.status?.podIP as string;
  const labels = Object.freeze({ ...(pod.metadata?.labels ?? {}) });
  return pool.targetPorts.map((port, rank) =>
    Object.freeze({ id: endpointId(namespace, name, rank), name, namespace, address, port, hostPort: formatHostPort(address, port), labels }),
  );
}

/** True when two pool views select the same pods (then the pod watch can stay open). */
export function sameSelector(a: PoolView, b: PoolView): boolean {
  return selectorQuery(a.selector) === selectorQuery(b.selector);
}

/** True when two pool views give the same endpoints for every pod. */
export function samePoolView(a: PoolView, b: PoolView): boolean {
  return sameSelector(a, b) && a.targetPorts.length === b.targetPorts.length && a.targetPorts.every((p, i) => p === b.targetPorts[i]);
}
