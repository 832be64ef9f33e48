import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('the local stack', () => {
  it('starts four simulated servers behind the router, answers the demo request through it and exits with --once', async () => {
    // Below the ephemeral range, so the fixed ports of the stack do not meet other tests' port-0 sockets.
    const port = 10000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [main, '--once'], { env: { ...process.env, LOCAL_STACK_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain(`http://127.0.0.1:${port + 103}/v1`);
    expect(out).toMatch(new RegExp(`Routed to 127\\.0\\.0\\.1:(${[100, 101, 102, 103].map((o) => port + o).join('|')})\\b`));
    expect(out).toMatch(/Answer \(40 tokens of simulated text\): \S+/);
    expect(code).toBe(0);
  }, 120_000);

  it('with --autoscale, lets the autoscaler start the server the demo request is routed to', async () => {
    const port = 10000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [main, '--autoscale', '--once'], { env: { ...process.env, LOCAL_STACK_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain(`Autoscaler (local mode; Qwen/Qwen3-0.6B on a simulated H100, 0 to 4 servers): http://127.0.0.1:${port + 91}/metrics`);
    const server = /Simulated model servers the autoscaler started:\n {2}http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(out)?.[1];
    expect(server).toBeDefined();
    expect(out).toContain(`Routed to 127.0.0.1:${server}`);
    expect(out).toMatch(/Answer \(40 tokens of simulated text\): \S+/);
    expect(code).toBe(0);
  }, 120_000);
});
