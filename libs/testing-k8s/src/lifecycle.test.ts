import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { poll, startControlPlane } from './index.js';
import { livePidsInGroup, refused } from './test-support/processes.js';

const ABANDONED_PLANE = fileURLToPath(new URL('./test-support/abandoned-plane.mjs', import.meta.url));

interface Abandoned {
  server: string;
  etcdUrl: string;
  dir: string;
  processGroups: { etcd: number; kubeApiserver: number };
}

// Each test starts and ends its own control plane, one at a time.
describe('control plane lifecycle', () => {
  const parents: string[] = [];
  const parentDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmd-k8s-lifecycle-'));
    parents.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of parents.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('stop() ends both process groups, frees the ports and removes the folder', async () => {
    const plane = await startControlPlane({ parentDir: parentDir() });
    const groups = [plane.processGroups.etcd, plane.processGroups.kubeApiserver];
    for (const group of groups) expect(livePidsInGroup(group).length).toBeGreaterThan(0);
    expect(existsSync(plane.kubeconfigPath)).toBe(true);
    expect(await refused(plane.server)).toBe(false);

    await plane.stop();
    for (const group of groups) expect(livePidsInGroup(group)).toEqual([]);
    expect(await refused(plane.server)).toBe(true);
    expect(await refused(plane.etcdUrl)).toBe(true);
    expect(existsSync(plane.dir)).toBe(false);
    await expect(plane.stop()).resolves.toBeUndefined();
  });

  it('stops at the end of an await using block', async () => {
    let groups: number[] = [];
    {
      await using plane = await startControlPlane({ parentDir: parentDir() });
      groups = [plane.processGroups.etcd, plane.processGroups.kubeApiserver];
    }
    for (const group of groups) expect(livePidsInGroup(group)).toEqual([]);
  });

  it.each([
    ['exits without calling stop()', 'exit'],
    ['is killed with SIGKILL', 'wait'],
  ])('leaves nothing running when the test process %s', async (_how, mode) => {
    const parent = parentDir();
    const child = spawn(process.execPath, [ABANDONED_PLANE, mode, parent], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting a control plane: ${stderr}`)));
    });
    const abandoned = JSON.parse(first) as Abandoned;
    const groups = [abandoned.processGroups.etcd, abandoned.processGroups.kubeApiserver];
    if (mode === 'wait') {
      for (const group of groups) expect(livePidsInGroup(group).length).toBeGreaterThan(0);
      child.kill('SIGKILL');
    }
    await exited;
    await poll(async () => groups.every((group) => livePidsInGroup(group).length === 0), {
      timeoutMs: 30_000,
      what: () => `the abandoned processes to end (${groups.map((g) => livePidsInGroup(g).join(' ')).join(' / ')})`,
    });
    // No port check here: by the time both groups are gone, a parallel test may have bound the freed
    // port, so the empty process groups are the evidence.
    // A clean exit runs the exit hook, which also removes the folder; SIGKILL leaves it behind.
    expect(readdirSync(parent)).toEqual(mode === 'exit' ? [] : [abandoned.dir.split('/').pop()]);
  });
});
