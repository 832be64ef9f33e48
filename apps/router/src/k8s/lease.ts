/** The Lease upstream's llm-d router elects on: one per pool, in the pool's namespace. */
export function leaderElectionLeaseName(poolNamespace: string, poolName: string): string {
  return `epp-${poolNamespace}-${poolName}.llm-d.ai`;
}
