// The autoscaler against a real kube-apiserver: VariantAutoscaling objects and their status, the
// Deployments' /scale, ConfigMaps, broken inputs shown as conditions and logs, and scale to zero
// and back from zero through the real router's flow-control queue. No kube-controller-manager runs,
// so Deployments never get pods: simulated servers stand in for them (labelled as their pods in
// Prometheus), and the test starts or stops them when spec.replicas changes, as a Deployment would.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@llmd/observability';
import { metricValue, startPrometheus, startSimProcess, waitUntil, type PrometheusServer, type SimProcess } from '@llmd/testing';
import { getObject, startControlPlane, type ControlPlane } from '@llmd/testing-k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutoscaler, type Autoscaler } from '../app.js';
import { KubeClient, LeaderElector } from '@llmd/k8s';
import { parseAutoscalerOptions } from '../options.js';
import { startRouterProcess, type RouterProcess } from '../test-support/router.js';

const VA_CRD = fileURLToPath(new URL('../../../../config/crd/llm-d.ai_variantautoscalings.yaml', import.meta.url));
const NS = 'llm-d';
const SYSTEM = 'wva-system';

/** Log lines, kept for assertions. */
class LogSink extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
  has(pattern: RegExp): boolean {
    return this.lines.some((l) => pattern.test(JSON.stringify(l)));
  }
}

function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0' }] } } },
  };
}

function va(name: string, modelID: string, target: string, spec: Record<string, unknown> = {}) {
  return { apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: { name, namespace: NS }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, modelID, ...spec } };
}

interface VaStatus {
  desiredOptimizedAlloc?: { numReplicas: number; lastUpdate?: { reason?: string } };
  currentAlloc?: { numReplicas: number };
  actuation?: { applied: boolean };
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

let plane: ControlPlane;
let prometheus: PrometheusServer;
const sims = new Map<string, SimProcess>();

async function readVa(name: string): Promise<VaStatus> {
  const obj = await getObject(plane.kubeConfig, { apiVersion: 'llm-d.ai/v1alpha1', kind: 'VariantAutoscaling', metadata: { name, namespace: NS } });
  return ((obj as { status?: VaStatus } | undefined)?.status ?? {}) as VaStatus;
}

function condition(s: VaStatus, type: string): string {
  const c = s.conditions?.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : 'absent';
}

async function replicasOf(name: string): Promise<number> {
  const obj = (await getObject(plane.kubeConfig, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS } })) as unknown as { spec: { replicas: number } };
  return obj.spec.replicas;
}

/** Points Prometheus at every simulated pod (and the router, when given). */
async function retarget(router?: RouterProcess): Promise<void> {
  const targets = [...sims].map(([pod, sim]) => ({ url: sim.urls[0] as string, labels: { namespace: NS, pod } }));
  if (router) targets.push({ url: router.metricsUrl.replace(/\/metrics$/, ''), labels: { namespace: NS, pod: 'router-epp-0' } });
  await prometheus.setTargets(targets);
}

async function startPod(pod: string, model: string): Promise<void> {
  sims.set(pod, await startSimProcess(['--model', model, '--preset', 'qwen3-0.6b/h100', '--max-num-seqs', '8']));
}

async function startAutoscalerFor(args: string[], sink: LogSink): Promise<Autoscaler> {
  const command = parseAutoscalerOptions(
    ['--kubeconfig', plane.kubeconfigPath, '--config-namespace', SYSTEM, '--watch-namespace', NS, '--interval', '1h', '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0', '--saturation-window', '30s', '--rate-window', '30s', '--arrival-window', '10s', '--metrics-staleness', '15s', ...args],
    {},
  );
  if (command.kind !== 'run') throw new Error('unexpected help');
  return startAutoscaler(command.options, { logger: createLogger({ name: 'autoscaler', level: 'debug', destination: sink }) });
}

beforeAll(async () => {
  [plane, prometheus] = await Promise.all([startControlPlane({ crds: VA_CRD }), startPrometheus({ scrapeInterval: '1s' })]);
  await plane.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM } },
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([...sims.values()].map((s) => s.stop()));
  await prometheus?.stop();
  await plane?.stop();
}, 60_000);

describe('VariantAutoscaling on a real API server', () => {
  let autoscaler: Autoscaler;
  const sink = new LogSink();

  beforeAll(async () => {
    await plane.apply([
      deployment('chat-h100', 1),
      deployment('dark', 2),
      va('chat-h100', 'test/chat', 'chat-h100', { variantCost: '40.0', accelerator: 'H100', minReplicas: 1, maxReplicas: 4 }),
      va('ghost', 'test/ghost', 'no-such-deployment'),
      va('dark', 'test/dark', 'dark', { minReplicas: 1, maxReplicas: 3 }),
    ]);
    await startPod('chat-h100-5d8f9c7b6-x2kq9', 'test/chat');
    await retarget();
    await waitUntil(async () => (await prometheus.query(`vllm:kv_cache_usage_perc{namespace="${NS}",model_name="test/chat"}`)).length === 1, 'the chat pod in Prometheus', 12_000);
    autoscaler = await startAutoscalerFor(['--prometheus-url', prometheus.url], sink);
  }, 120_000);

  afterAll(async () => {
    await autoscaler?.close();
  });

  it('writes the decision, the actuation and the three conditions to the status', async () => {
    await autoscaler.reconcileNow();
    const s = await readVa('chat-h100');
    expect(s.desiredOptimizedAlloc?.numReplicas).toBe(1);
    expect(s.currentAlloc?.numReplicas).toBe(1);
    expect(s.actuation?.applied).toBe(true);
    expect(condition(s, 'TargetResolved')).toBe('True/TargetFound');
    expect(condition(s, 'MetricsAvailable')).toBe('True/MetricsFound');
    expect(condition(s, 'OptimizationReady')).toBe('True/OptimizationSucceeded');
  });

  it('publishes wva_desired_replicas, wva_current_replicas and wva_desired_ratio for an HPA', async () => {
    const text = await (await fetch(autoscaler.metricsUrl as string)).text();
    const labels = { variant_name: 'chat-h100', namespace: NS, accelerator_type: 'H100' };
    expect(metricValue(text, 'wva_desired_replicas', labels)).toBe(1);
    expect(metricValue(text, 'wva_current_replicas', labels)).toBe(1);
    expect(metricValue(text, 'wva_desired_ratio', labels)).toBe(1);
    expect(metricValue(text, 'wva_desired_replicas', { variant_name: 'ghost' })).toBeUndefined();
    const health = await fetch(`${autoscaler.healthUrl}/readyz`);
    expect(health.status).toBe(200);
  });

  it('reports a missing target as TargetNotFound and does nothing else for it', async () => {
    const s = await readVa('ghost');
    expect(condition(s, 'TargetResolved')).toBe('False/TargetNotFound');
    expect(s.conditions?.find((c) => c.type === 'TargetResolved')?.message).toContain('no-such-deployment');
    expect(s.desiredOptimizedAlloc).toBeUndefined();
    expect(sink.has(/no-such-deployment not found/)).toBe(true);
  });

  it('never scales on missing metrics: MetricsMissing, and the Deployment keeps its replicas', async () => {
    const s = await readVa('dark');
    expect(condition(s, 'MetricsAvailable')).toBe('False/MetricsMissing');
    expect(condition(s, 'OptimizationReady')).toBe('False/MetricsUnavailable');
    expect(s.desiredOptimizedAlloc?.numReplicas).toBe(2);
    expect(await replicasOf('dark')).toBe(2);
    expect(sink.has(/no vllm:kv_cache_usage_perc and vllm:num_requests_waiting series for pods of dark/)).toBe(true);
  });

  it('tells stale metrics (a pod that stopped reporting) from missing ones, and holds meanwhile', async () => {
    await plane.apply([deployment('frozen', 1), va('frozen', 'test/frozen', 'frozen', { minReplicas: 1, maxReplicas: 3 })]);
    const pod = 'frozen-7c6d5b4a3-q8w7e';
    await startPod(pod, 'test/frozen');
    await retarget();
    await waitUntil(async () => (await prometheus.query(`vllm:kv_cache_usage_perc{pod="${pod}"}`)).length === 1, 'the frozen pod in Prometheus', 12_000);
    await autoscaler.reconcileNow();
    expect(condition(await readVa('frozen'), 'MetricsAvailable')).toBe('True/MetricsFound');
    // The server dies: Prometheus marks its series stale, but the last minute still shows its samples.
    await sims.get(pod)?.stop();
    await waitUntil(async () => (await prometheus.query(`vllm:kv_cache_usage_perc{pod="${pod}"}`)).length === 0, 'Prometheus to mark the series stale', 12_000);
    await autoscaler.reconcileNow();
    const s = await readVa('frozen');
    expect(condition(s, 'MetricsAvailable')).toBe('False/MetricsStale');
    expect(condition(s, 'OptimizationReady')).toBe('False/MetricsUnavailable');
    expect(s.desiredOptimizedAlloc?.numReplicas).toBe(1);
    expect(await replicasOf('frozen')).toBe(1);
    sims.delete(pod);
    await retarget();
  }, 60_000);

  it('shows a bad ConfigMap entry on the models it concerns, naming the key, and recovers when it is fixed', async () => {
    await plane.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'wva-saturation-scaling-config', namespace: SYSTEM, labels: { 'app.kubernetes.io/name': 'workload-variant-autoscaler' } },
      data: { default: 'kvCacheThreshold: 0.8\n', chat: 'model_id: test/chat\nkvCacheThreshold: 2\n', other: 'model_id: test/other\nqueueLengthThreshold: 7\n' },
    });
    await autoscaler.reconcileNow();
    let s = await readVa('chat-h100');
    expect(condition(s, 'OptimizationReady')).toBe('False/InvalidConfiguration');
    expect(s.conditions?.find((c) => c.type === 'OptimizationReady')?.message).toContain('wva-saturation-scaling-config/chat.kvCacheThreshold');
    expect(s.desiredOptimizedAlloc?.numReplicas).toBe(1);
    expect(sink.has(/invalid ConfigMap entry/)).toBe(true);
    // Hot reload: the fix applies on the next cycle, without a restart.
    await plane.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'wva-saturation-scaling-config', namespace: SYSTEM },
      data: { default: 'kvCacheThreshold: 0.8\n', chat: 'model_id: test/chat\nkvCacheThreshold: 0.7\n' },
    });
    await autoscaler.reconcileNow();
    s = await readVa('chat-h100');
    expect(condition(s, 'OptimizationReady')).toBe('True/OptimizationSucceeded');
  });

  it('shows an unreachable Prometheus as PrometheusError and holds every variant', async () => {
    const dead = new LogSink();
    const other = await startAutoscalerFor(['--prometheus-url', 'http://127.0.0.1:1'], dead);
    try {
      await other.reconcileNow();
      const s = await readVa('chat-h100');
      expect(condition(s, 'MetricsAvailable')).toBe('False/PrometheusError');
      expect(condition(s, 'OptimizationReady')).toBe('False/MetricsUnavailable');
      expect(s.desiredOptimizedAlloc?.numReplicas).toBe(1);
      expect(await replicasOf('chat-h100')).toBe(1);
      expect(dead.has(/unreachable/)).toBe(true);
    } finally {
      await other.close();
    }
    // The working autoscaler puts it right again.
    await autoscaler.reconcileNow();
    expect(condition(await readVa('chat-h100'), 'MetricsAvailable')).toBe('True/MetricsFound');
  });
});

describe('scale to zero and from zero through /scale', () => {
  let autoscaler: Autoscaler;
  let router: RouterProcess;
  const sink = new LogSink();
  const MODEL = 'test/idle';
  let nextPod = 0;

  /** What the Deployment controller would do: run as many pods as spec.replicas says. */
  async function followReplicas(): Promise<void> {
    const want = await replicasOf('idle');
    const pods = [...sims.keys()].filter((p) => p.startsWith('idle-'));
    for (const pod of pods.slice(want)) {
      await sims.get(pod)?.stop();
      sims.delete(pod);
    }
    for (let i = pods.length; i < want; i++) await startPod(`idle-6b7c9d-${nextPod++}`, MODEL);
    const live = [...sims].filter(([p]) => p.startsWith('idle-'));
    router.setEndpoints(live.map(([name, sim]) => ({ name, url: sim.urls[0] as string })));
    await retarget(router);
  }

  beforeAll(async () => {
    router = await startRouterProcess();
    await plane.apply([
      deployment('idle', 1),
      va('idle', MODEL, 'idle', { minReplicas: 0, maxReplicas: 2, variantCost: '10.0' }),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'wva-model-scale-to-zero-config', namespace: SYSTEM },
        data: { idle: `model_id: ${MODEL}\nenable_scale_to_zero: true\nretention_period: 8s\n` },
      },
    ]);
    await followReplicas();
    autoscaler = await startAutoscalerFor(['--prometheus-url', prometheus.url, '--actuation', 'direct', '--scale-from-zero-interval', '100ms'], sink);
  }, 120_000);

  afterAll(async () => {
    await autoscaler?.close();
    await router?.stop();
  });

  it('scales to zero after the retention period without requests', async () => {
    await waitUntil(async () => (await prometheus.query(`vllm:kv_cache_usage_perc{model_name="${MODEL}"}`)).length === 1, 'the idle pod in Prometheus', 12_000);
    // Right after start the autoscaler has not watched the model for a retention period: no scale to zero yet.
    await autoscaler.reconcileNow();
    expect((await readVa('idle')).desiredOptimizedAlloc?.numReplicas).toBe(1);
    let desired = 1;
    let cycles = 0;
    while (desired !== 0 && cycles < 40) {
      cycles++;
      await new Promise((r) => setTimeout(r, 1000));
      await autoscaler.reconcileNow();
      desired = (await readVa('idle')).desiredOptimizedAlloc?.numReplicas ?? -1;
    }
    expect(desired).toBe(0);
    expect(await replicasOf('idle')).toBe(0);
    expect((await readVa('idle')).desiredOptimizedAlloc?.lastUpdate?.reason).toContain('scale to zero');
    await followReplicas();
    await autoscaler.reconcileNow();
    expect(autoscaler.scaleFromZero.watching).toBe(1);
  }, 90_000);

  it('scales from zero when the router queues a request for the model, and the request is served', async () => {
    const answer = fetch(`${router.proxyUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 4 }),
    });
    await waitUntil(async () => (await replicasOf('idle')) === 1, 'the Deployment to be scaled to 1 through /scale', 12_000);
    // The decision is recorded right after the /scale write.
    await waitUntil(() => sink.has(/scaled from zero/), 'the scale-from-zero log line', 4000);
    expect((await readVa('idle')).desiredOptimizedAlloc?.lastUpdate?.reason).toContain('scale from zero');
    await followReplicas();
    const res = await answer;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ text: string }> };
    expect(body.choices).toHaveLength(1);
  }, 60_000);
});

describe('leader election on a Lease', () => {
  it('lets one replica lead, and hands over when it stops', async () => {
    const client = new KubeClient(plane.kubeConfig);
    const leading: string[] = [];
    const make = (name: string) =>
      new LeaderElector({
        client,
        namespace: SYSTEM,
        name: 'autoscaler-test-lease',
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 200,
        logger: createLogger({ name, level: 'silent' }),
        onChange: (now) => leading.push(`${name}:${now}`),
      });
    const a = make('a');
    const b = make('b');
    a.start();
    await waitUntil(() => a.isLeader, 'a to lead', 4000);
    b.start();
    // b keeps trying while a renews; it must not lead meanwhile.
    await waitUntil(async () => {
      const lease = (await getObject(plane.kubeConfig, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'autoscaler-test-lease', namespace: SYSTEM } })) as unknown as { spec: { holderIdentity: string; renewTime: string } };
      return lease.spec.holderIdentity === a.identity && Date.parse(lease.spec.renewTime) > Date.now() - 1000;
    }, 'a to renew', 4000);
    expect(b.isLeader).toBe(false);
    await a.stop();
    await waitUntil(() => b.isLeader, 'b to take over after a released the lease', 4000);
    expect(a.isLeader).toBe(false);
    await b.stop();
    client.close();
    expect(leading).toEqual(['a:true', 'a:false', 'b:true', 'b:false']);
  }, 30_000);
});
