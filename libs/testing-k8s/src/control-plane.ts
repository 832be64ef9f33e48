import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { findControlPlaneBinaries, type ControlPlaneBinaries } from './binaries.js';
import { generateControlPlaneCerts } from './certs.js';
import { loadKubeConfig, renderKubeConfig } from './kubeconfig.js';
import { applyManifests, loadManifestFiles, patchStatus, type ApplyOptions, type PatchStatusOptions } from './manifests.js';
import { poll } from './poll.js';
import { startSupervised, type SupervisedProcess } from './process.js';
import { kubeFetch, type KubeObject, type ObjectRef } from './rest.js';

/** A running etcd and kube-apiserver with an admin kubeconfig. */
export interface ControlPlane extends AsyncDisposable {
  /** `https://127.0.0.1:<port>` of the API server. */
  readonly server: string;
  /** Kubeconfig file of the admin user (group `system:masters`), for tools and child processes. */
  readonly kubeconfigPath: string;
  /** The same admin kubeconfig, loaded. */
  readonly kubeConfig: KubeConfig;
  /** `http://127.0.0.1:<port>` of etcd. */
  readonly etcdUrl: string;
  /** Temporary folder holding data, certificates, kubeconfig and logs; removed by stop(). */
  readonly dir: string;
  /** Log files of the two processes (inside `dir`). */
  readonly logs: { readonly etcd: string; readonly kubeApiserver: string };
  /** Process group of each process; stop() leaves no process in either. */
  readonly processGroups: { readonly etcd: number; readonly kubeApiserver: number };
  /**
   * Installs the CustomResourceDefinitions found in these files or folders (other documents are
   * ignored) and resolves once each is established and served.
   */
  installCrds(pathsOrDirs: string | readonly string[], options?: ApplyOptions): Promise<void>;
  /** Server-side applies manifests (YAML text or objects) as admin; see `applyManifests`. */
  apply(manifests: string | KubeObject | readonly KubeObject[], options?: ApplyOptions): Promise<KubeObject[]>;
  /** Writes the status subresource of an object as admin; see `patchStatus`. */
  patchStatus(ref: ObjectRef, status: Record<string, unknown>, options?: PatchStatusOptions): Promise<KubeObject>;
  /**
   * A kubeconfig for another user, authenticated by a client certificate with this name and
   * groups; RBAC decides what it may do.
   */
  userKubeConfig(user: string, groups?: readonly string[]): KubeConfig;
  /** Stops both processes (API server first) and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

/** How {@link startControlPlane} starts the control plane. */
export interface StartControlPlaneOptions {
  /** Paths of the binaries (default: found by `findControlPlaneBinaries`). */
  readonly binaries?: ControlPlaneBinaries;
  /**
   * Milliseconds each process may take to become ready. Default: the envtest variable
   * `KUBEBUILDER_CONTROLPLANE_START_TIMEOUT` (a Go duration such as `90s`), else 120 s.
   */
  readonly startTimeoutMs?: number;
  /** Milliseconds each process may take to stop before it is killed (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Extra or replaced kube-apiserver flags, without the leading dashes: `{ 'feature-gates': 'X=true' }`. */
  readonly apiServerFlags?: Readonly<Record<string, string>>;
  /** CRD files or folders to install before returning. */
  readonly crds?: string | readonly string[];
  /** Folder in which the temporary folder is made (default the OS temp folder). */
  readonly parentDir?: string;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const PORT_RETRIES = 3;
const PORT_TAKEN = /address already in use/i;

/** Parses the Go durations envtest reads (`90s`, `2m`, `1m30s`, `1500ms`). */
export function parseGoDuration(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? 0), 0);
}

function defaultStartTimeout(): number {
  const fromEnv = process.env['KUBEBUILDER_CONTROLPLANE_START_TIMEOUT'];
  return (fromEnv === undefined ? undefined : parseGoDuration(fromEnv)) ?? DEFAULT_START_TIMEOUT_MS;
}

/** Ports that were free a moment ago; the binaries cannot be told to pick one and report it. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

// Control planes still running; the exit hook kills them if the test process ends without stop().
const running = new Set<{ kill(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const plane of running) plane.kill();
  });
}

function exitedMessage(proc: SupervisedProcess): string | undefined {
  const status = proc.exitStatus();
  if (status === undefined) return undefined;
  return `${proc.name} exited (${status.signal ?? `code ${status.code}`}) before it was ready; last lines of ${proc.logPath}:\n${proc.logTail()}`;
}

interface Started {
  readonly etcd: SupervisedProcess;
  readonly apiServer: SupervisedProcess;
  readonly etcdUrl: string;
  readonly server: string;
  readonly kubeConfigText: string;
}

/**
 * Starts etcd and kube-apiserver on free loopback ports in a new temporary folder, with
 * envtest's flags and freshly generated certificates (client-certificate authentication, RBAC),
 * waits until the API server is ready and the `default` namespace exists, and writes an admin
 * kubeconfig. Throws `MissingBinaryError` when the binaries have not been built.
 */
export async function startControlPlane(options: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = options.binaries ?? findControlPlaneBinaries();
  const startTimeoutMs = options.startTimeoutMs ?? defaultStartTimeout();
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'llmd-k8s-'));
  const certs = generateControlPlaneCerts();
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { mode: 0o700 });
  const files = {
    servingCa: join(certDir, 'serving-ca.crt'),
    servingCert: join(certDir, 'apiserver.crt'),
    servingKey: join(certDir, 'apiserver.key'),
    clientCa: join(certDir, 'client-cert-auth-ca.crt'),
    saPublic: join(certDir, 'sa-signer.pub'),
    saPrivate: join(certDir, 'sa-signer.key'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
  writeFileSync(files.servingCa, certs.servingCa.cert);
  writeFileSync(files.servingCert, certs.serving.cert);
  writeFileSync(files.servingKey, certs.serving.key, { mode: 0o600 });
  writeFileSync(files.clientCa, certs.clientCa.cert);
  writeFileSync(files.saPublic, certs.serviceAccount.cert);
  writeFileSync(files.saPrivate, certs.serviceAccount.key, { mode: 0o600 });

  installExitHook();
  let current: { etcd?: SupervisedProcess; apiServer?: SupervisedProcess } = {};
  const killAll = () => {
    current.apiServer?.killNow();
    current.etcd?.killNow();
    rmSync(dir, { recursive: true, force: true });
  };
  const guard = { kill: killAll };
  running.add(guard);

  const launch = async (attempt: number): Promise<Started> => {
    const [clientPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdArgs = [
      '--name=llmd-test',
      `--data-dir=${join(dir, `etcd-data-${attempt}`)}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=llmd-test=${peerUrl}`,
      // Test data is thrown away: skipping fsync makes etcd much faster on slow disks.
      '--unsafe-no-fsync=true',
    ];
    const etcd = startSupervised('etcd', binaries.etcd, etcdArgs, { cwd: dir, logPath: join(dir, 'etcd.log') });
    current = { etcd };
    await poll(
      async () => {
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(5_000) });
        const body = (await res.json()) as { health?: string };
        return res.ok && body.health === 'true';
      },
      { timeoutMs: startTimeoutMs, what: `etcd at ${etcdUrl}/health (log: ${etcd.logPath})`, abortIf: () => exitedMessage(etcd) },
    );

    const server = `https://127.0.0.1:${apiPort}`;
    const flags: Record<string, string> = {
      'etcd-servers': etcdUrl,
      'cert-dir': certDir,
      'tls-cert-file': files.servingCert,
      'tls-private-key-file': files.servingKey,
      'client-ca-file': files.clientCa,
      'secure-port': String(apiPort),
      'bind-address': '127.0.0.1',
      'advertise-address': '127.0.0.1',
      'service-cluster-ip-range': '10.0.0.0/24',
      'allow-privileged': 'true',
      // No controller manager runs, so no namespace ever gets a default ServiceAccount.
      'disable-admission-plugins': 'ServiceAccount',
      'authorization-mode': 'RBAC',
      'service-account-issuer': `${server}/`,
      'service-account-key-file': files.saPublic,
      'service-account-signing-key-file': files.saPrivate,
      ...options.apiServerFlags,
    };
    const apiServer = startSupervised(
      'kube-apiserver',
      binaries.kubeApiserver,
      Object.entries(flags).map(([name, value]) => `--${name}=${value}`),
      { cwd: dir, logPath: join(dir, 'kube-apiserver.log') },
    );
    current = { etcd, apiServer };
    const kubeConfigText = renderKubeConfig({
      server,
      caCert: certs.servingCa.cert,
      userName: 'admin',
      clientCert: certs.admin.cert,
      clientKey: certs.admin.key,
    });
    const kubeConfig = loadKubeConfig(kubeConfigText);
    let lastReadyz = '';
    await poll(
      async () => {
        const res = await kubeFetch(kubeConfig, { method: 'GET', path: '/readyz', timeoutMs: 10_000 });
        lastReadyz = `${res.status} ${typeof res.body === 'string' ? res.body.trim().split('\n').slice(-3).join(' ') : ''}`;
        return res.status === 200;
      },
      {
        timeoutMs: startTimeoutMs,
        intervalMs: 200,
        what: () => `kube-apiserver at ${server}/readyz (last answer: ${lastReadyz || 'none'}; log: ${apiServer.logPath})`,
        abortIf: () => exitedMessage(apiServer) ?? exitedMessage(etcd),
      },
    );
    // The API server creates the default namespace shortly after it reports ready.
    await poll(async () => (await kubeFetch(kubeConfig, { method: 'GET', path: '/api/v1/namespaces/default' })).status === 200, {
      timeoutMs: startTimeoutMs,
      what: 'the default namespace',
    });
    return { etcd, apiServer, etcdUrl, server, kubeConfigText };
  };

  let started: Started | undefined;
  try {
    for (let attempt = 0; started === undefined; attempt++) {
      try {
        started = await launch(attempt);
      } catch (err) {
        const logs = [current.etcd, current.apiServer].map((p) => p?.logTail(10) ?? '').join('\n');
        await Promise.all([current.apiServer?.stop(stopTimeoutMs), current.etcd?.stop(stopTimeoutMs)]);
        current = {};
        // Another process took a port between the probe and the bind: try new ports.
        if (!PORT_TAKEN.test(logs) || attempt + 1 >= PORT_RETRIES) throw err;
      }
    }
  } catch (err) {
    running.delete(guard);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const { etcd, apiServer, etcdUrl, server, kubeConfigText } = started;
  writeFileSync(files.kubeconfig, kubeConfigText, { mode: 0o600 });
  const kubeConfig = loadKubeConfig(kubeConfigText);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await apiServer.stop(stopTimeoutMs);
        await etcd.stop(stopTimeoutMs);
      } finally {
        running.delete(guard);
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  const plane: ControlPlane = {
    server,
    kubeconfigPath: files.kubeconfig,
    kubeConfig,
    etcdUrl,
    dir,
    logs: { etcd: etcd.logPath, kubeApiserver: apiServer.logPath },
    processGroups: { etcd: etcd.pgid, kubeApiserver: apiServer.pgid },
    installCrds: async (pathsOrDirs, applyOptions) => {
      const crds = (await loadManifestFiles(pathsOrDirs)).filter((o) => o.kind === 'CustomResourceDefinition');
      if (crds.length === 0) throw new Error(`no CustomResourceDefinition found in ${[pathsOrDirs].flat().join(', ')}`);
      await applyManifests(kubeConfig, crds, applyOptions);
    },
    apply: (manifests, applyOptions) => applyManifests(kubeConfig, manifests, applyOptions),
    patchStatus: (ref, status, patchOptions) => patchStatus(kubeConfig, ref, status, patchOptions),
    userKubeConfig: (user, groups = []) => {
      const cert = certs.clientAuthority.issue({ commonName: user, organizations: groups, usage: 'client' });
      return loadKubeConfig(renderKubeConfig({ server, caCert: certs.servingCa.cert, userName: user, clientCert: cert.cert, clientKey: cert.key }));
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  if (options.crds !== undefined) {
    try {
      await plane.installCrds(options.crds);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return plane;
}
