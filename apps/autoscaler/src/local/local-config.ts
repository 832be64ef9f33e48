// The local mode's file: VariantAutoscalings, the simulated workloads they target, and the
// upstream ConfigMaps' data. Re-read every cycle, so edits apply like ConfigMap edits.
import { readFileSync } from 'node:fs';
import { ConfigError } from '@llmd/cli';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const workload = z
  .object({
    /** The name a VariantAutoscaling's scaleTargetRef.name points at; pods are named `<name>-local-<n>`. */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS-1123 name'),
    /** Replicas started with the autoscaler. */
    replicas: z.number().int().min(0).default(1),
    /** Simulator arguments (model, preset, …); --host and --port are added. */
    args: z.array(z.string()).default([]),
  })
  .strict();

const schema = z
  .object({
    /** Namespace the objects are taken to live in. */
    namespace: z.string().min(1).default('default'),
    /** The simulator entry point (default: the built apps/inference-sim). */
    simulator: z.string().min(1).optional(),
    /** The router's endpoints file, rewritten whenever replicas start or stop. */
    endpointsFile: z.string().min(1).optional(),
    /** Routers' metrics URLs, for the flow-control queue (scale from zero). */
    routerMetricsUrls: z.array(z.string().url()).default([]),
    /** How often each simulated server is scraped, ms. */
    scrapeIntervalMs: z.number().int().min(50).default(1000),
    variantAutoscalings: z.array(z.record(z.string(), z.unknown())).default([]),
    workloads: z.array(workload).default([]),
    /** ConfigMap name → data (e.g. wva-saturation-scaling-config → {default: "…"}). */
    configMaps: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  })
  .strict();

/** A parsed local-mode file. */
export type LocalConfig = z.output<typeof schema>;
/** One simulated workload. */
export type LocalWorkload = z.output<typeof workload>;

/** Reads and validates the file; errors name `<file>: <field>`. */
export function readLocalConfig(path: string): LocalConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--local-config', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseLocalConfig(text, path);
}

/** Parses the file's text. */
export function parseLocalConfig(text: string, where = 'local config'): LocalConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(where, `not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const result = schema.safeParse(doc ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${where}: ${issue?.path.join('.') || '(file)'}`, issue?.message ?? 'invalid');
  }
  const names = new Set<string>();
  for (const [i, w] of result.data.workloads.entries()) {
    if (names.has(w.name)) throw new ConfigError(`${where}: workloads.${i}.name`, `duplicate workload ${w.name}`);
    names.add(w.name);
  }
  return result.data;
}
