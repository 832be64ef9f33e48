import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { kvIndexerHelp, parseKvIndexerOptions, type KvIndexerOptions } from './options.js';

function run(argv: string[]): KvIndexerOptions {
  const command = parseKvIndexerOptions(argv);
  if (command.kind !== 'run') throw new Error('expected run');
  return command.options;
}

describe('kv-indexer options', () => {
  it('has the documented defaults', () => {
    expect(run([])).toEqual({
      zmqEndpoint: 'tcp://*:5557',
      endpointsFile: null,
      zmqPort: 5557,
      replayPort: null,
      blockSize: 16,
      hashSeed: '',
      tierWeights: { gpu: 1, cpu: 0.8 },
      indexBackend: 'memory',
      redisUrl: 'redis://127.0.0.1:6379',
      redisConnectTimeoutMs: 10_000,
      indexMaxBlocks: null,
      concurrency: 4,
      host: '0.0.0.0',
      httpPort: 8080,
      grpcPort: 50051,
      tokenizerPath: null,
      tokenizerPoolSize: 2,
      prefixCacheTokens: 2_000_000,
      logLevel: 'info',
    });
  });

  it.each<[string[], Partial<KvIndexerOptions>]>([
    [['--zmq-endpoint', 'tcp://127.0.0.1:6000'], { zmqEndpoint: 'tcp://127.0.0.1:6000' }],
    [['--zmq-endpoint=tcp://*:*'], { zmqEndpoint: 'tcp://*:*' }],
    [['--endpoints-file', 'e.yaml'], { endpointsFile: 'e.yaml', zmqEndpoint: null }],
    [['--endpoints-file', 'e.yaml', '--zmq-endpoint', 'tcp://*:5557'], { endpointsFile: 'e.yaml', zmqEndpoint: 'tcp://*:5557' }],
    [['--endpoints-file', 'e.yaml', '--zmq-port', '6001'], { zmqPort: 6001 }],
    [['--replay-port', '5558'], { replayPort: 5558 }],
    [['--block-size', '64', '--hash-seed', '42'], { blockSize: 64, hashSeed: '42' }],
    [['--tier-weights', 'GPU=1, cpu=0.5,disk=0'], { tierWeights: { gpu: 1, cpu: 0.5, disk: 0 } }],
    [['--index-backend', 'redis', '--redis-url', 'valkey://cache:6379'], { indexBackend: 'redis', redisUrl: 'valkey://cache:6379' }],
    [['--index-backend', 'redis', '--redis-connect-timeout', '1.5s'], { redisConnectTimeoutMs: 1500 }],
    [['--index-max-blocks', '1000'], { indexMaxBlocks: 1000 }],
    [['--concurrency', '8'], { concurrency: 8 }],
    [['--http-port', '0', '--grpc-port', '0', '--host', '127.0.0.1'], { httpPort: 0, grpcPort: null, host: '127.0.0.1' }],
    [['--tokenizer', '/models/granite', '--tokenizer-pool-size', '1'], { tokenizerPath: '/models/granite', tokenizerPoolSize: 1 }],
    [['--prefix-cache-tokens', '0'], { prefixCacheTokens: 0 }],
    [['--log-level', 'debug'], { logLevel: 'debug' }],
  ])('parses %j', (argv, expected) => {
    expect(run(argv)).toMatchObject(expected);
  });

  it.each([
    [['--zmq-endpoint', 'localhost:5557'], '--zmq-endpoint'],
    [['--zmq-port', '6001'], '--zmq-port'],
    [['--endpoints-file', 'e', '--zmq-port', '0'], '--zmq-port'],
    [['--replay-port', 'x'], '--replay-port'],
    [['--block-size', '0'], '--block-size'],
    [['--tier-weights', 'gpu'], '--tier-weights'],
    [['--tier-weights', 'gpu=-1'], '--tier-weights'],
    [['--tier-weights', ','], '--tier-weights'],
    [['--index-backend', 'etcd'], '--index-backend'],
    [['--redis-url', 'redis://x:1'], '--redis-url'],
    [['--index-backend', 'redis', '--redis-url', 'http://x'], '--redis-url'],
    [['--index-backend', 'redis', '--index-max-blocks', '5'], '--index-max-blocks'],
    [['--redis-connect-timeout', '1s'], '--redis-connect-timeout'],
    [['--index-backend', 'redis', '--redis-connect-timeout', 'soon'], '--redis-connect-timeout'],
    [['--concurrency', '0'], '--concurrency'],
    [['--http-port', '70000'], '--http-port'],
    [['--grpc-port', '-1'], '--grpc-port'],
    [['--tokenizer-pool-size', '0'], '--tokenizer-pool-size'],
    [['--log-level', 'loud'], '--log-level'],
    [['--no-such-flag'], '--no-such-flag'],
    [['stray'], 'stray'],
  ])('rejects %j naming %s', (argv, flag) => {
    let error: unknown;
    try {
      parseKvIndexerOptions(argv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(flag);
  });

  it('lists every flag in --help', () => {
    const command = parseKvIndexerOptions(['--help']);
    expect(command.kind).toBe('help');
    const help = kvIndexerHelp();
    for (const flag of [
      'zmq-endpoint', 'endpoints-file', 'zmq-port', 'replay-port', 'block-size', 'hash-seed', 'tier-weights', 'index-backend',
      'redis-url', 'redis-connect-timeout', 'index-max-blocks', 'concurrency', 'http-port', 'grpc-port', 'host', 'tokenizer', 'tokenizer-pool-size',
      'prefix-cache-tokens', 'log-level', 'help',
    ]) {
      expect(help).toMatch(new RegExp(`^  --${flag}\\b`, 'm'));
    }
  });
});
