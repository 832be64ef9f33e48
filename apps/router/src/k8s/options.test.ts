import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { parseRouterOptions, routerHelp, type RouterOptions } from '../options.js';
import { microTime, validateLeaseTimings } from '@llmd/k8s';
import { leaderElectionLeaseName } from './lease.js';
import { inferencePoolResource } from './pool.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): RouterOptions {
  const cmd = parseRouterOptions(argv, env);
  if (cmd.kind !== 'run') throw new Error('expected run');
  return cmd.options;
}

describe('Kubernetes flags', () => {
  it('defaults as upstream', () => {
    const o = run(['--pool-name', 'p']);
    expect(o).toMatchObject({
      poolName: 'p',
      poolNamespace: 'default',
      poolGroup: 'inference.networking.k8s.io',
      kubeconfig: null,
      inCluster: null,
      leaderElection: false,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  it('takes the namespace from the flag, then NAMESPACE, then POD_NAMESPACE', () => {
    expect(run(['--pool-namespace', 'a'], { NAMESPACE: 'b', POD_NAMESPACE: 'c' }).poolNamespace).toBe('a');
    expect(run([], { NAMESPACE: 'b', POD_NAMESPACE: 'c' }).poolNamespace).toBe('b');
    expect(run([], { POD_NAMESPACE: 'c' }).poolNamespace).toBe('c');
  });

  it('takes the kubeconfig from the flag, else the first file of KUBECONFIG, and notices a pod', () => {
    expect(run(['--kubeconfig', '/k'], { KUBECONFIG: '/e' }).kubeconfig).toBe('/k');
    expect(run([], { KUBECONFIG: ':/e1:/e2' }).kubeconfig).toBe('/e1');
    expect(run([], { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }).inCluster).toEqual({ host: '10.0.0.1', port: '443' });
  });

  it('reads leader election and its timings', () => {
    const o = run(['--ha-enable-leader-election', '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '500ms']);
    expect([o.leaderElection, o.leaseDurationMs, o.renewDeadlineMs, o.retryPeriodMs]).toEqual([true, 4000, 3000, 500]);
  });

  it.each([
    [['--leader-elect-lease-duration', '5s', '--leader-elect-renew-deadline', '5s'], '--leader-elect-lease-duration'],
    [['--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '2s'], '--leader-elect-renew-deadline'],
    [['--leader-elect-lease-duration', '500ms', '--leader-elect-renew-deadline', '300ms', '--leader-elect-retry-period', '100ms'], '--leader-elect-lease-duration'],
    [['--leader-elect-retry-period', 'soon'], '--leader-elect-retry-period'],
    [['--pool-group', 'example.com'], '--pool-group'],
  ])('refuses %j naming %s', (argv, flag) => {
    let err: unknown;
    try {
      run(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(flag);
  });

  it('lists the flags in --help', () => {
    const help = routerHelp();
    for (const flag of ['--pool-name', '--kubeconfig', '--ha-enable-leader-election', '--leader-elect-lease-duration', '--leader-elect-renew-deadline', '--leader-elect-retry-period']) {
      expect(help).toContain(flag);
    }
  });
});

describe('leader-election conventions', () => {
  it('names the lease after the pool, as upstream', () => {
    expect(leaderElectionLeaseName('ns1', 'pool-a')).toBe('epp-ns1-pool-a.llm-d.ai');
  });

  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(new Date('2026-03-04T05:06:07.089Z'))).toBe('2026-03-04T05:06:07.089000Z');
  });

  it('refuses timings client-go refuses', () => {
    expect(() => validateLeaseTimings(15_000, 10_000, 2_000)).not.toThrow();
    expect(() => validateLeaseTimings(10_000, 10_000, 2_000)).toThrow(/longer than the renew deadline/);
    expect(() => validateLeaseTimings(15_000, 2_000, 2_000)).toThrow(/retry period/);
  });
});

describe('inferencePoolResource', () => {
  it('reads v1 from the GA group and v1alpha2 from the x-k8s.io group', () => {
    expect(inferencePoolResource('inference.networking.k8s.io').version).toBe('v1');
    expect(inferencePoolResource('inference.networking.x-k8s.io').version).toBe('v1alpha2');
    expect(() => inferencePoolResource('example.com')).toThrow(/--pool-group/);
  });
});
