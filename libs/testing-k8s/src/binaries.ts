import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The command that builds every binary this package looks for. */
export const BUILD_COMMAND = 'bash tools/envtest/build.sh';

/** The binaries `tools/envtest/build.sh` puts in `.cache/envtest/bin`. */
export type EnvtestBinary = 'kube-apiserver' | 'etcd' | 'helm' | 'kubeconform';

/** Environment variables that name one binary directly, as controller-runtime's envtest reads them. */
const DIRECT_ENV: Partial<Record<EnvtestBinary, string>> = {
  'kube-apiserver': 'TEST_ASSET_KUBE_APISERVER',
  etcd: 'TEST_ASSET_ETCD',
};

/** Thrown when a binary is in none of the places searched; the message says how to build it. */
export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
  /** The binary that was looked for. */
  readonly binary: EnvtestBinary;
  /** Every path tried, in order. */
  readonly searched: readonly string[];

  constructor(binary: EnvtestBinary, searched: readonly string[]) {
    super(
      `${binary} not found (looked in: ${searched.length > 0 ? searched.join(', ') : 'nowhere'}). ` +
        `Build the test binaries with \`${BUILD_COMMAND}\` from the repository root ` +
        `(tools/test-all.sh does this), or point ${DIRECT_ENV[binary] ?? 'KUBEBUILDER_ASSETS'} at one.`,
    );
    this.binary = binary;
    this.searched = searched;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder at or above `start` holding `tools/envtest/build.sh`, if any. */
export function findRepoRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tools', 'envtest', 'build.sh'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * `<repo>/.cache/envtest/bin`, where the repository is found by walking up from the working
 * directory, then from this file; undefined outside a checkout.
 */
export function envtestBinDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findRepoRoot(process.cwd()) ?? findRepoRoot(here);
  return root === undefined ? undefined : join(root, '.cache', 'envtest', 'bin');
}

/** Where {@link findEnvtestBinary} looks. */
export interface FindBinaryOptions {
  /** Environment to read the variables from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** The repository's binary folder (default {@link envtestBinDir}); null to skip it. */
  readonly binDir?: string | null;
}

/**
 * The path of a test binary. Looks at, in order: the binary's own variable
 * (`TEST_ASSET_KUBE_APISERVER`, `TEST_ASSET_ETCD`), `$KUBEBUILDER_ASSETS/<name>`, then
 * `<repo>/.cache/envtest/bin/<name>`. Throws {@link MissingBinaryError} when none is executable.
 */
export function findEnvtestBinary(binary: EnvtestBinary, options: FindBinaryOptions = {}): string {
  const env = options.env ?? process.env;
  const candidates: string[] = [];
  const direct = DIRECT_ENV[binary];
  const directPath = direct === undefined ? undefined : env[direct];
  if (directPath) candidates.push(directPath);
  if (env['KUBEBUILDER_ASSETS']) candidates.push(join(env['KUBEBUILDER_ASSETS'], binary));
  const binDir = options.binDir === undefined ? envtestBinDir() : options.binDir;
  if (binDir !== undefined && binDir !== null) candidates.push(join(binDir, binary));
  const found = candidates.find(isExecutable);
  if (found === undefined) throw new MissingBinaryError(binary, candidates);
  return resolve(found);
}

/** Paths of the two binaries a control plane runs. */
export interface ControlPlaneBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
}

/** Finds kube-apiserver and etcd with {@link findEnvtestBinary}. */
export function findControlPlaneBinaries(options: FindBinaryOptions = {}): ControlPlaneBinaries {
  return { kubeApiserver: findEnvtestBinary('kube-apiserver', options), etcd: findEnvtestBinary('etcd', options) };
}
