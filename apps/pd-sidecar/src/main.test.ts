// The built entry point as a process: usage errors exit 2 with one line naming the flag, a
// signal stops it cleanly.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SIDECAR_MAIN, startSidecarProcess } from './test-support/processes.js';

function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIDECAR_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pd-sidecar main', () => {
  it('prints help and exits 0', async () => {
    const { code, stdout } = await runMain(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--kv-connector');
  });

  it.each([
    [['--kv-connector', 'mooncake'], 'pd-sidecar: --kv-connector: the mooncake connector is not implemented'],
    [['--enable-ssrf-protection'], 'pd-sidecar: --enable-ssrf-protection: needs the allowed prefill targets'],
    [['--port', 'eighty'], 'pd-sidecar: --port:'],
    [['--secure-serving=false', '--port', '0', '--enable-ssrf-protection', '--prefill-allowlist-file', '/nonexistent/endpoints.yaml'], 'pd-sidecar: --prefill-allowlist-file: cannot read'],
    [['--port', '0', '--cert-path', '/nonexistent'], 'pd-sidecar: --cert-path: cannot read tls.crt and tls.key'],
  ])('rejects %j with exit code 2', async (args, message) => {
    const { code, stderr } = await runMain(['--host', '127.0.0.1', ...args]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')[0]).toContain(message);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const sidecar = await startSidecarProcess(1, []);
    const exited = new Promise<number | null>((resolve) => sidecar.child.once('exit', (code) => resolve(code)));
    sidecar.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
