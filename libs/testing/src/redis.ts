import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** A throw-away redis-server on a loopback port. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The loopback port it listens on. */
  readonly port: number;
  /** Stops the server, waits for it to exit and removes its directory. */
  stop(): Promise<void>;
}

/** How {@link startRedis} starts the server. */
export interface StartRedisOptions {
  /** The executable (default `redis-server` from PATH; `valkey-server` works too). */
  readonly binary?: string;
  /** Times to try again with another port when the one picked was taken in between (default 3). */
  readonly retries?: number;
}

const READY = 'Ready to accept connections';

/** A port that was free a moment ago: redis-server cannot be told to pick one and report it. */
/**
 * Starts `redis-server` without persistence (`--save '' --appendonly no`) in a temporary directory
 * on a free loopback port, and resolves once it logs that it accepts connections.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'llmd-redis-'));
    try {
      return await launch(binary, port, dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      const taken = err instanceof Error && /Address already in use/i.test(err.message);
      if (!taken || attempt >= (options.retries ?? 3)) throw err;
    }
  }
}

async function launch(binary: string, port: number, dir: string): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(`${binary} not found: install it with tools/install-system-packages.sh`, { cause: err })
          : new Error(`could not start ${binary}: ${err.message}`, { cause: err }),
      );
    });
    child.once('exit', (code, signal) => reject(new Error(`${binary} exited (${signal ?? code}) before it was ready: ${output.trim()}`)));
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(READY)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  // Keep draining the pipes so a chatty server never blocks on a full one.
  child.stdout.resume();
  child.stderr.resume();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  return { url: `redis://127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}
