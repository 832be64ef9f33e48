// Two router processes (the built app) on one InferencePool of a real kube-apiserver + etcd, with
// leader election: only the leader is ready; killing it makes the standby ready within the lease.
// The routers run as a user with only the RBAC rules the README lists.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postJson, startSimProcess, waitUntil, type SimProcess } from '@llmd/testing';
import { getObject, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServingStatus } from '../extproc/health.js';
import type { Lease } from '@llmd/k8s';
import { leaderElectionLeaseName } from './lease.js';
import { ROUTER_CRDS, createNamespace, podManifest, poolV1, setPodStatus } from './test-support/cluster.js';
import { startRouterProcess, type RouterProcess } from './test-support/router-process.js';

const ns = 'router-ha';
const model = 'Qwen/Qwen3-0.6B';
const LEASE_MS = 3000;
const leaseFlags = ['--leader-elect-lease-duration', `${LEASE_MS}ms`, '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '250ms'];
/** The standby must lead within a lease duration plus a few retry periods of the leader's death; allow 6× on a loaded machine (in 5 ms ticks, plus check time). */
const TAKEOVER_TICKS = Math.ceil((6 * (LEASE_MS + 4 * 250)) / 5);
const STARTUP_TICKS = 12_000;

/** The RBAC rules the router needs (as in apps/router/README.md). */
const ROUTER_ROLE = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: llm-d-router, namespace: ${ns}}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [inference.networking.k8s.io, inference.networking.x-k8s.io]
  resources: [inferencepools]
  verbs: [get, list, watch]
- apiGroups: [llm-d.ai, inference.networking.x-k8s.io]
  resources: [inferenceobjectives, inferencemodelrewrites]
  verbs: [get, list, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch, create, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: llm-d-router, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: llm-d-router}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: llm-d-routers}
`;

let plane: ControlPlane;
let sim: SimProcess;
let kubeconfig: string;
const routers = new Map<string, RouterProcess>();

async function startReplica(name: string): Promise<RouterProcess> {
  const r = await startRouterProcess(
    [
      '--pool-name', 'pool', '--pool-namespace', ns, '--kubeconfig', kubeconfig, '--ha-enable-leader-election', ...leaseFlags,
      '--host', '127.0.0.1', '--grpc-port', '0', '--grpc-health-port', '0', '--metrics-port', '0', '--proxy-port', '0', '--secure-serving=false',
      '--refresh-metrics-interval', '50ms',
    ],
    { POD_NAME: name },
  );
  routers.set(name, r);
  return r;
}

/**
 * Readiness as both probes see it; they must agree. The two are read one after the other, so a read
 * that straddles a change of leader can see them differ: such a pair is read again, and only a
 * disagreement that persists fails the test.
 */
async function ready(r: RouterProcess): Promise<boolean> {
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const [http, grpc] = await Promise.all([r.httpReady(), r.grpcHealth('readiness')]);
    if (http === (grpc === ServingStatus.SERVING)) return http;
    last = `/readyz says ${http} but gRPC readiness says ${grpc}`;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(last);
}

async function holder(): Promise<string> {
  const lease = (await getObject(plane.kubeConfig, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaderElectionLeaseName(ns, 'pool'), namespace: ns } })) as Lease | undefined;
  return lease?.spec?.holderIdentity ?? '';
}

beforeAll(async () => {
  [plane, sim] = await Promise.all([startControlPlane({ crds: ROUTER_CRDS }), startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--seed', '1'])]);
  await createNamespace(plane, ns);
  await plane.apply(ROUTER_ROLE);
  kubeconfig = join(plane.dir, 'router-kubeconfig');
  writeFileSync(kubeconfig, plane.userKubeConfig('router', ['llm-d-routers']).exportConfig());
  // The model server "pod": the simulator on 127.0.0.1, found through the pool's target port.
  const simPort = Number(new URL(sim.urls[0] as string).port);
  await plane.apply(poolV1(ns, 'pool', { app: 'sim' }, [simPort]));
  await plane.apply(podManifest(ns, 'sim-0', { app: 'sim', 'llm-d.ai/role': 'decode' }));
}, 240_000);

afterAll(async () => {
  await Promise.all([...routers.values()].map((r) => r.kill()));
  await Promise.all([sim?.stop(), plane?.stop()]);
});

describe('two router replicas with leader election', () => {
  it('makes exactly one ready (the lease holder) and serves pods once Ready', async () => {
    const [a, b] = await Promise.all([startReplica('router-a'), startReplica('router-b')]);
    await waitUntil(async () => (await Promise.all([ready(a), ready(b)])).filter(Boolean).length === 1, 'exactly one ready replica', STARTUP_TICKS);
    const leader = (await ready(a)) ? a : b;
    const standby = leader === a ? b : a;
    const leaderName = leader === a ? 'router-a' : 'router-b';
    expect(await holder()).toMatch(new RegExp(`^${leaderName}_`));
    // Liveness stays SERVING on the standby; readiness and the ext_proc service name do not.
    expect(await standby.grpcHealth('liveness')).toBe(ServingStatus.SERVING);
    expect(await standby.grpcHealth('readiness')).toBe(ServingStatus.NOT_SERVING);
    expect(await standby.grpcHealth('envoy.service.ext_proc.v3.ExternalProcessor')).toBe(ServingStatus.NOT_SERVING);
    expect(await leader.grpcHealth('envoy.service.ext_proc.v3.ExternalProcessor')).toBe(ServingStatus.SERVING);

    // The pod is not Ready yet: no endpoint to route to.
    const url = `http://127.0.0.1:${leader.ports.proxy}/v1/completions`;
    expect((await postJson(url, { model, prompt: 'hello', max_tokens: 2 })).status).toBe(503);
    // Ready with the simulator's address: the leader routes to it.
    await setPodStatus(plane, ns, 'sim-0', '127.0.0.1', true);
    const simHostPort = new URL(sim.urls[0] as string).host;
    await waitUntil(async () => (await postJson(url, { model, prompt: 'hello', max_tokens: 2 })).status === 200, 'a request routed to the Ready pod', STARTUP_TICKS);
    const served = await postJson(url, { model, prompt: 'hello again', max_tokens: 2 });
    expect(served.headers.get('x-gateway-destination-endpoint-served')).toBe(simHostPort);
    // The standby's datastore is warm too (haPopulateNonLeaderDatastore): its proxy routes the same way.
    const viaStandby = await postJson(`http://127.0.0.1:${standby.ports.proxy}/v1/completions`, { model, prompt: 'standby', max_tokens: 2 });
    expect(viaStandby.status).toBe(200);
    // NotReady again: the pod leaves.
    await setPodStatus(plane, ns, 'sim-0', '127.0.0.1', false);
    await waitUntil(async () => (await postJson(url, { model, prompt: 'hello', max_tokens: 2 })).status === 503, 'the NotReady pod dropped', STARTUP_TICKS);
    await setPodStatus(plane, ns, 'sim-0', '127.0.0.1', true);
  }, 120_000);

  it('makes the standby ready within the lease duration after the leader is killed, and keeps one leader when it returns', async () => {
    const leaderName = (await ready(routers.get('router-a') as RouterProcess)) ? 'router-a' : 'router-b';
    const leader = routers.get(leaderName) as RouterProcess;
    const standbyName = leaderName === 'router-a' ? 'router-b' : 'router-a';
    const standby = routers.get(standbyName) as RouterProcess;
    expect(await ready(standby)).toBe(false);

    await leader.kill(); // SIGKILL: the lease is not released.
    await waitUntil(() => ready(standby), `${standbyName} ready after ${leaderName} was killed`, TAKEOVER_TICKS);
    expect(await holder()).toMatch(new RegExp(`^${standbyName}_`));
    expect(await standby.grpcHealth('envoy.service.ext_proc.v3.ExternalProcessor')).toBe(ServingStatus.SERVING);
    // The new leader serves from the datastore it kept warm.
    expect((await postJson(`http://127.0.0.1:${standby.ports.proxy}/v1/completions`, { model, prompt: 'after failover', max_tokens: 2 })).status).toBe(200);

    // The killed replica comes back as a standby: still exactly one ready.
    const back = await startReplica(leaderName);
    // Once it has read the pool and pods (it routes), it is contending too, and must not be ready.
    await waitUntil(async () => (await postJson(`http://127.0.0.1:${back.ports.proxy}/v1/completions`, { model, prompt: 'warm', max_tokens: 2 })).status === 200, 'the restarted replica warm', STARTUP_TICKS);
    expect(await ready(back)).toBe(false);
    expect(await ready(standby)).toBe(true);
    expect(await holder()).toMatch(new RegExp(`^${standbyName}_`));
  }, 120_000);

  it('hands over at once on a clean shutdown (the lease is released)', async () => {
    const names = [...routers.keys()].filter((n) => routers.get(n)?.child.exitCode === null && routers.get(n)?.child.signalCode === null);
    const states = await Promise.all(names.map(async (n) => [n, await ready(routers.get(n) as RouterProcess)] as const));
    const leaderName = states.find(([, r]) => r)?.[0] as string;
    const other = states.find(([n]) => n !== leaderName)?.[0] as string;
    await (routers.get(leaderName) as RouterProcess).stop();
    // Released: the holder is cleared before the process exits.
    expect((await holder()).startsWith(`${leaderName}_`)).toBe(false);
    await waitUntil(() => ready(routers.get(other) as RouterProcess), `${other} ready after a clean shutdown`, TAKEOVER_TICKS);
  }, 60_000);
});
