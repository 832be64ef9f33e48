// The sample manifests in deploy/ are what the README tells users to apply: they must parse with the
// project's own schemas and parsers, and the HPA and KEDA samples must point at a variant that exists.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VariantAutoscalingSchema } from '@llmd/k8s-api';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { WVA_METRICS } from './actuation/metrics.js';
import { parseQueueingConfig } from './config/queueing-config.js';
import { parseSaturationConfig } from './config/saturation-config.js';
import { parseScaleToZeroConfig } from './config/scale-to-zero-config.js';
import { applyControllerConfigMap, parseAutoscalerOptions } from './options.js';

const read = (name: string) => parseAllDocuments(readFileSync(fileURLToPath(new URL(`../deploy/${name}`, import.meta.url)), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);

describe('deploy samples', () => {
  const vas = read('variantautoscaling.yaml');

  it('VariantAutoscalings validate against the CRD schema', () => {
    expect(vas).toHaveLength(2);
    for (const va of vas) expect(VariantAutoscalingSchema.safeParse(va).success).toBe(true);
  });

  it('ConfigMaps parse with the autoscaler\'s own parsers', () => {
    const byName = new Map(read('configmaps.yaml').map((cm) => [(cm.metadata as { name: string }).name, cm.data as Record<string, string>]));
    expect(() => parseSaturationConfig(byName.get('wva-saturation-scaling-config') ?? {})).not.toThrow();
    expect(() => parseScaleToZeroConfig(byName.get('wva-model-scale-to-zero-config') ?? {})).not.toThrow();
    expect(() => parseQueueingConfig(byName.get('wva-queueing-model-config') ?? {})).not.toThrow();
    const run = parseAutoscalerOptions([]);
    if (run.kind !== 'run') throw new Error('help');
    const o = applyControllerConfigMap(run.options, byName.get('wva-variantautoscaling-config') ?? {});
    expect(o.intervalMs).toBe(60_000);
    expect(o.prometheus.url).toBe('https://prometheus-k8s.monitoring.svc:9091');
  });

  it('the HPA and the ScaledObject scale a variant\'s target on its wva_desired_replicas', () => {
    const targets = new Map(vas.map((va) => [(va.metadata as { name: string }).name, ((va.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name)]));
    const [hpa] = read('hpa.yaml') as Array<{ spec: { scaleTargetRef: { name: string }; metrics: Array<{ external: { metric: { name: string; selector: { matchLabels: { variant_name: string } } }; target: { averageValue: string } } }> } }>;
    const m = hpa?.spec.metrics[0]?.external;
    expect(m?.metric.name).toBe(WVA_METRICS.desiredReplicas);
    expect(m?.target.averageValue).toBe('1');
    expect(targets.get(m?.metric.selector.matchLabels.variant_name as string)).toBe(hpa?.spec.scaleTargetRef.name);
    const [keda] = read('keda-scaledobject.yaml') as Array<{ spec: { scaleTargetRef: { name: string }; triggers: Array<{ metadata: { query: string } }> } }>;
    const variant = /variant_name="([^"]+)"/.exec(keda?.spec.triggers[0]?.metadata.query ?? '')?.[1] as string;
    expect(keda?.spec.triggers[0]?.metadata.query).toContain(WVA_METRICS.desiredReplicas);
    expect(targets.get(variant)).toBe(keda?.spec.scaleTargetRef.name);
  });
});
