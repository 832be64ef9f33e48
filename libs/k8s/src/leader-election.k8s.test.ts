// Leader election between electors in this process, on a real Lease of a real API server.
import { silentLogger } from '@llmd/observability';
import { startTcpRelay, waitUntil } from '@llmd/testing';
import { getObject, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from './client.js';
import { LeaderElector, type Lease } from './leader-election.js';
import { testClient } from './test-support/cluster.js';

// Short timings so a test takes seconds; bounds below are derived from them, with a wide margin.
const timings = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
/** Takeover after a silent leader must happen within lease duration + a few retry periods; allow 5× that on a loaded machine. */
const TAKEOVER_TICKS = Math.ceil((5 * (timings.leaseDurationMs + 3 * timings.retryPeriodMs)) / 5);

let plane: ControlPlane;
beforeAll(async () => {
  plane = await startControlPlane();
}, 180_000);
afterAll(async () => {
  await plane?.stop();
});

function elector(client: KubeClient, name: string, identity: string, changes: boolean[] = []) {
  return new LeaderElector({ client, namespace: 'default', name, identity, logger: silentLogger(), onChange: (l) => changes.push(l), ...timings });
}

async function lease(name: string): Promise<Lease | undefined> {
  return (await getObject(plane.kubeConfig, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'default' } })) as Lease | undefined;
}

describe('LeaderElector', () => {
  it('elects exactly one, and a standby takes over once the leader stops renewing', async () => {
    const clients = [testClient(plane), testClient(plane)];
    const changesA: boolean[] = [];
    const a = elector(clients[0] as KubeClient, 'one-leader', 'a', changesA);
    const b = elector(clients[1] as KubeClient, 'one-leader', 'b');
    a.start();
    await waitUntil(() => a.isLeader, 'a to lead', TAKEOVER_TICKS);
    b.start();
    const l = await lease('one-leader');
    expect(l?.spec?.holderIdentity).toBe('a');
    expect(l?.spec?.leaseDurationSeconds).toBe(2);
    expect(l?.spec?.renewTime).toMatch(/\.\d{6}Z$/);
    // b keeps trying for a while and stays a standby.
    await waitUntil(() => b.observedHolder === 'a', 'b to see a holding the lease', TAKEOVER_TICKS);
    expect(b.isLeader).toBe(false);

    // a vanishes without releasing (a crash): b takes over after the lease runs out.
    await a.stop({ release: false });
    await waitUntil(() => b.isLeader, 'b to take over', TAKEOVER_TICKS);
    const after = await lease('one-leader');
    expect(after?.spec?.holderIdentity).toBe('b');
    expect(after?.spec?.leaseTransitions).toBe(1);
    expect(changesA).toEqual([true, false]);
    await b.stop();
    for (const c of clients) c.close();
  });

  it('hands the lease over on a clean stop', async () => {
    const clients = [testClient(plane), testClient(plane)];
    const a = elector(clients[0] as KubeClient, 'release', 'a');
    const b = elector(clients[1] as KubeClient, 'release', 'b');
    a.start();
    await waitUntil(() => a.isLeader, 'a to lead', TAKEOVER_TICKS);
    b.start();
    await waitUntil(() => b.observedHolder === 'a', 'b to see a', TAKEOVER_TICKS);
    await a.stop();
    expect((await lease('release'))?.spec?.holderIdentity === 'a').toBe(false);
    await waitUntil(() => b.isLeader, 'b to take the released lease', TAKEOVER_TICKS);
    await b.stop();
    for (const c of clients) c.close();
  });

  it('steps down when it cannot renew (API server unreachable), and another replica leads', async () => {
    const url = new URL(plane.server);
    await using relay = await startTcpRelay(url.hostname, Number(url.port));
    const cutOff = testClient(plane, relay.port);
    const direct = testClient(plane);
    const changes: boolean[] = [];
    const a = elector(cutOff, 'partition', 'a', changes);
    const b = elector(direct, 'partition', 'b');
    a.start();
    await waitUntil(() => a.isLeader, 'a to lead', TAKEOVER_TICKS);
    b.start();
    await relay.cut();
    await waitUntil(() => !a.isLeader, 'a to step down after its renew deadline', TAKEOVER_TICKS);
    await waitUntil(() => b.isLeader, 'b to take over', TAKEOVER_TICKS);
    // Back on the network, a finds b holding the lease and stays a standby.
    await relay.restore();
    await waitUntil(() => a.observedHolder === 'b', 'a to see b', TAKEOVER_TICKS);
    expect(a.isLeader).toBe(false);
    expect(changes).toEqual([true, false]);
    await Promise.all([a.stop(), b.stop()]);
    cutOff.close();
    direct.close();
  });

  it('tells why leadership ended: lost to another holder, or stopped', async () => {
    const url = new URL(plane.server);
    await using relay = await startTcpRelay(url.hostname, Number(url.port));
    const cutOff = testClient(plane, relay.port);
    const direct = testClient(plane);
    const events: string[] = [];
    const make = (client: KubeClient, who: string) =>
      new LeaderElector({
        client,
        namespace: 'default',
        name: 'reasons',
        logger: silentLogger(),
        onStartedLeading: () => events.push(`${who}:started`),
        onStoppedLeading: (reason) => events.push(`${who}:${reason}`),
        ...timings,
      });
    const a = make(cutOff, 'a');
    const b = make(direct, 'b');
    // Without an identity each gets its own, from the host name.
    expect(a.identity).not.toBe(b.identity);
    a.start();
    await waitUntil(() => a.isLeader, 'a to lead', TAKEOVER_TICKS);
    b.start();
    await relay.cut();
    await waitUntil(() => b.isLeader && !a.isLeader, 'b to take over', TAKEOVER_TICKS);
    await relay.restore();
    await Promise.all([a.stop(), b.stop()]);
    // a's step-down and b's takeover race on a loaded machine; each one's own order is fixed.
    expect(events.filter((e) => e.startsWith('a:'))).toEqual(['a:started', 'a:lost']);
    expect(events.filter((e) => e.startsWith('b:'))).toEqual(['b:started', 'b:stopped']);
    expect((await lease('reasons'))?.spec?.holderIdentity ?? '').toBe('');
    cutOff.close();
    direct.close();
  });

  it('refuses timings that cannot work', () => {
    const client = testClient(plane);
    expect(() => new LeaderElector({ client, namespace: 'default', name: 'x', identity: 'x', logger: silentLogger(), leaseDurationMs: 1000, renewDeadlineMs: 2000, retryPeriodMs: 100 })).toThrow(
      /longer than the renew deadline/,
    );
    client.close();
  });
});
