import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedis } from './index.js';

/** Sends one inline command over a fresh connection and returns the first `lines` lines of the reply. */
async function command(port: number, line: string, lines = 1): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  try {
    return await new Promise<string[]>((resolve, reject) => {
      let reply = '';
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        reply += chunk.toString('utf8');
        const parts = reply.split('\r\n');
        if (parts.length > lines) resolve(parts.slice(0, lines));
      });
      socket.write(`${line}\r\n`);
    });
  } finally {
    socket.destroy();
  }
}

/** Whether a TCP connection to the port is refused. */
async function refused(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  return new Promise<boolean>((resolve) => {
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('startRedis', () => {
  it('serves on a loopback port without persistence, then stops', async () => {
    const redis = await startRedis();
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await command(redis.port, 'PING')).toEqual(['+PONG']);
      // Arrays of [name, value]: appendonly off and no snapshot schedule.
      expect(await command(redis.port, 'CONFIG GET appendonly', 5)).toEqual(['*2', '$10', 'appendonly', '$2', 'no']);
      expect(await command(redis.port, 'CONFIG GET save', 5)).toEqual(['*2', '$4', 'save', '$0', '']);
    } finally {
      await redis.stop();
    }
    expect(await refused(redis.port)).toBe(true);
  });

  it('stops at the end of an await using block', async () => {
    let port = 0;
    {
      await using redis = await startRedis();
      port = redis.port;
      expect(await command(port, 'PING')).toEqual(['+PONG']);
    }
    expect(await refused(port)).toBe(true);
  });

  it('says how to install a missing binary', async () => {
    await expect(startRedis({ binary: 'redis-server-that-does-not-exist' })).rejects.toThrow(/install it with tools\/install-system-packages\.sh/);
  });
});
