// Runs the helm binary that tools/envtest/build.sh builds, and parses what it renders.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEnvtestBinary } from '@llmd/testing-k8s';
import { parseAllDocuments, stringify } from 'yaml';

/** The repository's root folder. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The umbrella chart. */
export const CHART_DIR = join(REPO_ROOT, 'charts', 'llm-d');

/** Values files of the well-lit paths, by file name. */
export const EXAMPLES: readonly string[] = readdirSync(join(CHART_DIR, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Path of an example values file. */
export const examplePath = (name: string): string => join(CHART_DIR, 'examples', name);

/**
 * Path of the helm binary; throws `MissingBinaryError` (whose message names
 * `bash tools/envtest/build.sh`) when it has not been built.
 */
export function helmBinary(): string {
  return findEnvtestBinary('helm');
}

// Helm's own cache, config and data folders, kept out of the user's home and removed at exit.
const helmHome = mkdtempSync(join(tmpdir(), 'llmd-charts-helm-'));
process.once('exit', () => rmSync(helmHome, { recursive: true, force: true }));

function helmEnv(kubeconfig?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    // Without a kubeconfig of its own a command can never reach a real cluster by accident.
    KUBECONFIG: kubeconfig ?? join(helmHome, 'no-kubeconfig'),
  };
}

let valuesFiles = 0;

/** Writes values to a temporary values file (for values `--set` cannot express) and returns its path. */
export function valuesFile(values: Record<string, unknown>): string {
  const path = join(helmHome, `values-${++valuesFiles}.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}

/** Exit status and output of one helm command. */
export interface HelmResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm synchronously (template and lint take well under a second). */
export function helm(args: readonly string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', env: helmEnv(), maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs helm against the cluster of a kubeconfig, without blocking the event loop. */
export function helmAsync(args: readonly string[], kubeconfig: string): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(helmBinary(), [...args, '--kubeconfig', kubeconfig], { env: helmEnv(kubeconfig), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** What to render. */
export interface RenderOptions {
  /** Values files, in order. */
  readonly values?: readonly string[];
  /** `--set` assignments, in order. */
  readonly set?: readonly string[];
  readonly releaseName?: string;
  readonly namespace?: string;
}

/** The arguments of `helm template` for these options. */
export function templateArgs(options: RenderOptions = {}): string[] {
  const args = ['template', options.releaseName ?? 'llm-d', CHART_DIR, '--namespace', options.namespace ?? 'inference'];
  for (const file of options.values ?? []) args.push('--values', file);
  for (const assignment of options.set ?? []) args.push('--set', assignment);
  return args;
}

/** `helm template` output; throws with helm's message when rendering fails. */
export function renderText(options: RenderOptions = {}): string {
  const r = helm(templateArgs(options));
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** A Kubernetes object as rendered; the fields the tests read are typed below. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec?: unknown;
  readonly data?: Record<string, string>;
}

/** A probe's HTTP or TCP target. */
export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
  readonly tcpSocket?: { readonly port: number | string };
}

/** An environment variable of a container. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string }; readonly secretKeyRef?: { readonly name: string; readonly key: string } };
}

/** The container fields the tests read. */
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly ports?: { readonly name?: string; readonly containerPort: number }[];
  readonly resources?: { readonly requests?: Record<string, string | number>; readonly limits?: Record<string, string | number> };
  readonly securityContext?: Record<string, unknown>;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly restartPolicy?: string;
  readonly volumeMounts?: { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}

/** The Deployment fields the tests read. */
export interface Deployment extends Manifest {
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly template: {
      readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> };
      readonly spec: {
        readonly containers: Container[];
        readonly initContainers?: Container[];
        readonly serviceAccountName?: string;
        readonly volumes?: ({ readonly name: string } & Record<string, unknown>)[];
        readonly nodeSelector?: Record<string, string>;
        readonly tolerations?: Record<string, unknown>[];
      };
    };
  };
}

/** Parses a multi-document YAML stream into objects, dropping empty documents. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value as Manifest);
  }
  return out;
}

/** Renders the chart and parses the objects. */
export function render(options: RenderOptions = {}): Manifest[] {
  return parseManifests(renderText(options));
}

/** The one object of this kind and name; fails the test when there is none. */
export function find<T extends Manifest = Manifest>(objects: readonly Manifest[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as T;
}

/** Every object of this kind. */
export function all<T extends Manifest = Manifest>(objects: readonly Manifest[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** A container of a Deployment's pod (regular or init), by name. */
export function container(deployment: Deployment, name: string): Container {
  const pod = deployment.spec.template.spec;
  const found = [...pod.containers, ...(pod.initContainers ?? [])].find((c) => c.name === name);
  if (found === undefined) throw new Error(`Deployment ${deployment.metadata.name} has no container ${name}`);
  return found;
}

/** The value of `--name=value` among arguments, or undefined. */
export function flagValue(args: readonly string[] | undefined, name: string): string | undefined {
  const prefix = `--${name}=`;
  return args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}
