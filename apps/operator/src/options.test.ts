import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES, operatorHelp, parseOperatorOptions } from './options.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const c = parseOperatorOptions(argv, env);
  if (c.kind !== 'run') throw new Error('expected run');
  return c.options;
};

describe('parseOperatorOptions', () => {
  it('has controller-runtime-like defaults', () => {
    const o = run(['--kubeconfig', '/k']);
    expect(o).toMatchObject({
      kubeconfig: '/k',
      watchNamespace: null,
      host: '0.0.0.0',
      metricsPort: 8080,
      concurrency: 2,
      resyncPeriodMs: 600_000,
      images: DEFAULT_IMAGES,
      leaderElection: { enabled: false, id: 'llmd-operator.llm-d.ai', namespace: 'default', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    });
  });

  it('reads the cluster from KUBECONFIG, or in a pod from the service account', () => {
    expect(run([], { KUBECONFIG: '/a:/b' }).kubeconfig).toBe('/a');
    expect(run([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).kubeconfig).toBeNull();
    expect(() => run([])).toThrow(/--kubeconfig: no cluster/);
  });

  it('takes the leader identity and Lease namespace from the pod', () => {
    const o = run(['--kubeconfig', '/k', '--leader-elect', '--watch-namespace', 'team'], { POD_NAME: 'op-0', POD_NAMESPACE: 'llm-d-system' });
    expect(o.leaderElection).toMatchObject({ enabled: true, identity: 'op-0', namespace: 'llm-d-system' });
    expect(run(['--kubeconfig', '/k', '--watch-namespace', 'team']).leaderElection.namespace).toBe('team');
  });

  it('parses durations and images', () => {
    const o = run(['--kubeconfig', '/k', '--leader-election-lease-duration', '30s', '--resync-period', '1m', '--router-image', 'reg.example.com/router:1.2']);
    expect(o.leaderElection.leaseDurationMs).toBe(30_000);
    expect(o.resyncPeriodMs).toBe(60_000);
    expect(o.images.router).toBe('reg.example.com/router:1.2');
  });

  it.each([
    [['--kubeconfig', '/k', '--max-concurrent-reconciles', '0'], '--max-concurrent-reconciles'],
    [['--kubeconfig', '/k', '--watch-namespace', 'Team'], '--watch-namespace'],
    [['--kubeconfig', '/k', '--leader-election-renew-deadline', '20s'], '--leader-election-renew-deadline'],
    [['--kubeconfig', '/k', '--router-image', 'has space'], '--router-image'],
    [['--kubeconfig', '/k', '--no-such-flag'], '--no-such-flag'],
    [['--kubeconfig', '/k', 'stray'], 'stray'],
  ])('rejects %j naming %s', (argv, key) => {
    let err: unknown;
    try {
      run(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
  });

  it('lists every flag in --help', () => {
    expect(parseOperatorOptions(['--help'], {})).toEqual({ kind: 'help', text: operatorHelp() });
    for (const flag of ['--kubeconfig', '--watch-namespace', '--leader-elect', '--leader-election-id', '--leader-election-namespace', '--metrics-port', '--max-concurrent-reconciles', '--pd-sidecar-image']) {
      expect(operatorHelp()).toContain(flag);
    }
  });
});
