// The built entry point as a process: help, a bad flag, and a start that serves scores from events
// published to it. Needs `nx build kv-indexer` (the test target depends on it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { postJson, waitUntil } from '@llmd/testing';
import { describe, expect, it } from 'vitest';
import { recordedBlockStored, TestKvPublisher } from './test-support/publisher.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the app first (pnpm nx build kv-indexer)`);
}

/** Runs the entry point to completion. */
async function runToExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Starts the entry point and resolves with the ports of its `kv-indexer listening` log line. */
async function start(args: string[]): Promise<{ child: ChildProcess; ports: { http: number; grpc: number | null; zmq: string | null }; stop(): Promise<number | null> }> {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const ports = await new Promise<{ http: number; grpc: number | null; zmq: string | null }>((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`kv-indexer exited with code ${code}: ${stderr.trim()}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; ports?: { http: number; grpc: number | null; zmq: string | null } };
          if (entry.msg === 'kv-indexer listening' && entry.ports) resolve(entry.ports);
        } catch {
          // Not a JSON log line.
        }
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return closed;
  };
  return { child, ports, stop };
}

describe('node apps/kv-indexer/dist/main.js', () => {
  it('prints every flag with --help and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--zmq-endpoint');
    expect(stdout).toContain('--tokenizer-pool-size');
  });

  it.each([
    [['--block-size', 'x'], '--block-size'],
    [['--index-backend', 'redis', '--redis-url', 'redis://127.0.0.1:1'], '--redis-url'],
  ])('exits 2 naming the flag for %j', async (args, flag) => {
    const { code, stderr } = await runToExit(['--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain(`kv-indexer: ${flag}:`);
  });

  it('starts, logs its ports, scores a prompt from events published to it, and stops on SIGTERM', async () => {
    const BASE = recordedBlockStored('kvcm_kv_event_base_qwen3-0.6b_seed42.json');
    const indexer = await start(['--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--zmq-endpoint', 'tcp://127.0.0.1:*', '--tokenizer-pool-size', '1']);
    try {
      expect(indexer.ports.grpc).toBeNull();
      const url = `http://127.0.0.1:${indexer.ports.http}`;
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await using publisher = new TestKvPublisher('kv@10.0.0.7:8000@Qwen/Qwen3-0.6B', 'array');
      await publisher.connect(indexer.ports.zmq as string);
      await publisher.publish([BASE.event]);
      // The process applies the batch asynchronously: ask until it shows.
      let body: unknown;
      await waitUntil(async () => {
        body = (await postJson(`${url}/v1/scores`, { model: 'Qwen/Qwen3-0.6B', prompt: BASE.prompt })).body;
        return Object.keys((body as { scores: object }).scores).length > 0;
      }, 'the published batch to be scored');
      expect(body).toEqual({ scores: { '10.0.0.7:8000': 25 }, total_blocks: 25 });
    } finally {
      expect(await indexer.stop()).toBe(0);
    }
  });
});
