// Bad values stop `helm template` (and so `helm install`) with a message naming the key: type and
// range errors from values.schema.json, cross-component checks from the templates.
import { describe, expect, it } from 'vitest';
import { examplePath, helm, templateArgs } from './test-support/helm.js';

function refused(set: readonly string[], values: readonly string[] = []): string {
  const r = helm(templateArgs({ set, values }));
  expect(r.status, `helm template accepted ${set.join(' ')}`).not.toBe(0);
  return r.stderr;
}

describe('values.schema.json', () => {
  it.each([
    [['router.epp.replicas=-1'], /at '\/router\/epp\/replicas'.*minimum/],
    [['router.epp.replicas=two'], /\/router\/epp\/replicas/],
    [['router.epp.replicass=2'], /\/router\/epp.*replicass/],
    [['global.preset=fastest'], /\/global\/preset/],
    [['global.modelName=org/model@v1'], /\/global\/modelName/],
    [['global.poolName=Not_A_Name'], /\/global\/poolName/],
    [['global.kvCache.index=redis'], /\/global\/kvCache\/index/],
    [['global.kvCache.blockSize=0'], /\/global\/kvCache\/blockSize/],
    [['router.inferencePool.failureMode=Open'], /\/router\/inferencePool\/failureMode/],
    [['router.modelServers.targetPorts[0].number=70000'], /\/router\/modelServers\/targetPorts\/0\/number/],
    [['router.epp.standaloneProxy.enabled=true', 'router.epp.standaloneProxy.port=9002'], /\/router\/epp\/standaloneProxy\/port/],
    [['router.epp.presetOptions.affinityThreshold=1.5'], /\/router\/epp\/presetOptions\/affinityThreshold/],
    [['router.inferenceObjectives[0].priority=1'], /\/router\/inferenceObjectives\/0.*name/],
    [['router.httpRoute.pathPrefix=v1'], /\/router\/httpRoute\/pathPrefix/],
    [['model-servers.engine=sglang'], /\/model-servers\/engine/],
    [['model-servers.modelArtifacts.uri=s3://bucket/model'], /\/model-servers\/modelArtifacts\/uri/],
    [['model-servers.accelerator.type=quantum'], /\/model-servers\/accelerator\/type/],
    [['model-servers.decode.parallelism.tensor=0'], /\/model-servers\/decode\/parallelism\/tensor/],
    [['model-servers.decode.replicas=-2'], /\/model-servers\/decode\/replicas/],
    [['model-servers.routing.proxy.connector=carrier-pigeon'], /\/model-servers\/routing\/proxy\/connector/],
    [['kv-indexer.index.backend=etcd'], /\/kv-indexer\/index\/backend/],
    [['kv-indexer.redis.url=http://redis:6379'], /\/kv-indexer\/redis\/url/],
    [['autoscaling=true'], /additional properties 'autoscaling'/],
    [['autoscaler.actuation=sometimes'], /\/autoscaler\/actuation/],
    [['autoscaler.interval=soon'], /\/autoscaler\/interval/],
    [['autoscaler.prometheus.url=prometheus:9090'], /\/autoscaler\/prometheus\/url/],
    [['operator.replicas=0'], /\/operator\/replicas/],
    [['operator.resyncPeriod=often'], /\/operator\/resyncPeriod/],
    [['model-servers.autoscaling.maxReplicas=0'], /\/model-servers\/autoscaling\/maxReplicas/],
  ])('refuses %j', (set, message) => {
    expect(refused(set)).toMatch(message);
  });
});

describe('checks across components', () => {
  it.each([
    [['global.kvCache.index=kv-indexer'], /global\.kvCache\.index.*kv-indexer\.enabled is false/],
    [['kv-indexer.enabled=true'], /kv-indexer\.enabled is true but global\.kvCache\.index/],
    [['global.preset=pd', 'model-servers.routing.proxy.enabled=true'], /model-servers\.prefill\.create is false/],
    [['global.preset=pd', 'model-servers.prefill.create=true'], /model-servers\.routing\.proxy\.enabled is false/],
    [['router.modelServers.targetPorts[0].number=8080'], /router\.modelServers\.targetPorts\[0\]\.number \(8080\) differs from model-servers\.routing\.servicePort \(8000\)/],
    [['router.modelServers.matchLabels.app=other'], /router\.modelServers\.matchLabels: app=other/],
    [['router.epp.flags.pool-name=other'], /router\.epp\.flags\.pool-name: the chart sets this flag itself/],
    [['router.httpRoute.enabled=true'], /router\.httpRoute\.parentRefs/],
    [['router.epp.pluginsConfigFile=missing.yaml'], /router\.epp\.pluginsConfigFile: "missing\.yaml"/],
    [['router.epp.pluginsCustomConfig.a\\.yaml=plugins: []', 'router.epp.pluginsCustomConfig.b\\.yaml=plugins: []'], /router\.epp\.pluginsConfigFile: several/],
    [['model-servers.routing.proxy.enabled=true', 'model-servers.routing.proxy.enableSsrfProtection=true'], /model-servers\.routing\.proxy\.prefillAllowlist/],
    [['model-servers.routing.proxy.enabled=true', 'model-servers.routing.proxy.targetPort=8000'], /model-servers\.routing\.proxy\.targetPort/],
    [['global.kvCache.index=kv-indexer', 'kv-indexer.enabled=true', 'kv-indexer.replicas=2'], /kv-indexer\.replicas: more than one replica needs kv-indexer\.index\.backend redis/],
    [['global.kvCache.index=kv-indexer', 'kv-indexer.enabled=true', 'kv-indexer.index.backend=redis'], /kv-indexer\.redis\.url/],
    [['autoscaler.enabled=true'], /autoscaler\.prometheus\.url: the autoscaler reads its metrics from Prometheus/],
    [['operator.enabled=true', 'operator.flags.leader-elect=true'], /operator\.flags\.leader-elect: the chart sets this flag itself/],
    [['autoscaler.enabled=true', 'autoscaler.prometheus.url=http://p:9090', 'autoscaler.flags.actuation=direct'], /autoscaler\.flags\.actuation/],
  ])('refuses %j', (set, message) => {
    expect(refused(set)).toMatch(message);
  });

  it('accepts the same components once they agree', () => {
    const r = helm(templateArgs({ set: ['global.kvCache.index=kv-indexer', 'kv-indexer.enabled=true', 'kv-indexer.index.backend=redis', 'kv-indexer.redis.url=redis://valkey:6379', 'kv-indexer.replicas=2'] }));
    expect(r.status, r.stderr).toBe(0);
  });

  it('accepts router.modelServers.matchLabels the model servers carry', () => {
    const r = helm(templateArgs({ set: ['router.modelServers.matchLabels.tier=gold', 'model-servers.decode.podLabels.tier=gold'] }));
    expect(r.status, r.stderr).toBe(0);
  });

  it('refuses a bad value set over an example file', () => {
    expect(refused(['router.epp.replicas=0'], [examplePath('optimized-baseline.yaml')])).toMatch(/\/router\/epp\/replicas/);
  });
});
