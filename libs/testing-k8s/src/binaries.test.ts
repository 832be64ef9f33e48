import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MissingBinaryError, envtestBinDir, findControlPlaneBinaries, findEnvtestBinary, findRepoRoot, parseGoDuration, startControlPlane } from './index.js';

const scratch: string[] = [];
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmd-k8s-binaries-'));
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a shell script and makes it executable. */
function script(dir: string, name: string, body: string, executable = true): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, executable ? 0o755 : 0o644);
  return path;
}

describe('findEnvtestBinary', () => {
  it('names the build script when a binary is nowhere', () => {
    const empty = scratchDir();
    let error: unknown;
    try {
      findEnvtestBinary('kube-apiserver', { env: { KUBEBUILDER_ASSETS: empty }, binDir: join(empty, 'bin') });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MissingBinaryError);
    expect((error as MissingBinaryError).message).toContain('bash tools/envtest/build.sh');
    expect((error as MissingBinaryError).searched).toEqual([join(empty, 'kube-apiserver'), join(empty, 'bin', 'kube-apiserver')]);
  });

  it('prefers the variable of the binary, then KUBEBUILDER_ASSETS, then the repository cache', () => {
    const root = scratchDir();
    const direct = script(join(root, 'direct'), 'my-etcd', 'exit 0');
    const assets = join(root, 'assets');
    script(assets, 'etcd', 'exit 0');
    const cache = join(root, 'cache');
    script(cache, 'etcd', 'exit 0');
    expect(findEnvtestBinary('etcd', { env: { TEST_ASSET_ETCD: direct, KUBEBUILDER_ASSETS: assets }, binDir: cache })).toBe(direct);
    expect(findEnvtestBinary('etcd', { env: { KUBEBUILDER_ASSETS: assets }, binDir: cache })).toBe(join(assets, 'etcd'));
    expect(findEnvtestBinary('etcd', { env: {}, binDir: cache })).toBe(join(cache, 'etcd'));
  });

  it('skips files that are not executable', () => {
    const root = scratchDir();
    script(join(root, 'assets'), 'kube-apiserver', 'exit 0', false);
    script(join(root, 'cache'), 'kube-apiserver', 'exit 0');
    expect(findEnvtestBinary('kube-apiserver', { env: { KUBEBUILDER_ASSETS: join(root, 'assets') }, binDir: join(root, 'cache') })).toBe(join(root, 'cache', 'kube-apiserver'));
  });

  it('finds the cache folder of this repository', () => {
    const root = findRepoRoot(process.cwd());
    expect(root).toBeDefined();
    expect(existsSync(join(root ?? '', 'tools', 'envtest', 'build.sh'))).toBe(true);
    expect(envtestBinDir()).toBe(join(root ?? '', '.cache', 'envtest', 'bin'));
    expect(findRepoRoot(tmpdir())).toBeUndefined();
  });

  it('finds both control plane binaries or says which is missing', () => {
    const root = scratchDir();
    const etcd = script(join(root, 'bin'), 'etcd', 'exit 0');
    const find = () => findControlPlaneBinaries({ env: { TEST_ASSET_ETCD: etcd }, binDir: join(root, 'bin') });
    expect(find).toThrow(MissingBinaryError);
    expect(find).toThrow(/^kube-apiserver not found/);
    script(join(root, 'bin'), 'kube-apiserver', 'exit 0');
    expect(find()).toEqual({ etcd, kubeApiserver: join(root, 'bin', 'kube-apiserver') });
  });
});

describe('startControlPlane with a failing binary', () => {
  it('reports the exit and the end of the log, and cleans up', async () => {
    const root = scratchDir();
    const etcd = script(join(root, 'bin'), 'etcd', 'echo "etcd: cannot open the data folder" >&2\nexit 3');
    const kubeApiserver = script(join(root, 'bin'), 'kube-apiserver', 'exit 0');
    const parentDir = join(root, 'planes');
    mkdirSync(parentDir);
    await expect(startControlPlane({ binaries: { etcd, kubeApiserver }, parentDir, startTimeoutMs: 60_000 })).rejects.toThrow(
      /etcd exited \(code 3\) before it was ready;[^]*cannot open the data folder/,
    );
    expect(readdirSync(parentDir)).toEqual([]);
  });

  it('gives up on a binary that never becomes ready, within the start timeout', async () => {
    const root = scratchDir();
    const etcd = script(join(root, 'bin'), 'etcd', 'exec sleep 600');
    const kubeApiserver = script(join(root, 'bin'), 'kube-apiserver', 'exit 0');
    await expect(startControlPlane({ binaries: { etcd, kubeApiserver }, startTimeoutMs: 500, stopTimeoutMs: 1_000 })).rejects.toThrow(
      /gave up after \d+ s waiting for etcd at http:\/\/127\.0\.0\.1:\d+\/health/,
    );
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['90s', 90_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1500ms', 1_500],
    ['1.5s', 1_500],
    ['1h', 3_600_000],
  ])('reads %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each(['', '90', 'soon', '5s later'])('refuses %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});
