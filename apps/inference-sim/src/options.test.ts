import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseDurationMs } from '@llmd/cli';
import { helpText, parseOptions, type SimOptions } from './options.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): SimOptions => {
  const parsed = parseOptions(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed.options;
};

describe('parseOptions', () => {
  it('applies defaults', () => {
    const o = run(['--model', 'm']);
    expect(o).toMatchObject({
      model: 'm',
      servedModelNames: ['m'],
      port: 8000,
      mode: 'random',
      blockSize: 16,
      maxNumSeqs: 1024,
      maxNumBatchedTokens: 8192,
      maxWaitingQueueLength: 1000,
      latencyCalculator: 'roofline',
      preset: 'llama-3.1-8b/h100',
      enableKvcache: false,
      zmqEndpoint: 'tcp://localhost:5557',
      eventBatchSize: 16,
      maxLoras: 1,
      dataParallelSize: 1,
      failureInjectionRate: 0,
    });
    expect(o.hashSeed).toBeUndefined();
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('accepts --flag value, --flag=value, booleans and lists', () => {
    const o = run(['--model=m', '--port', '9000', '--enable-kvcache', '--served-model-name', 'a', 'b', '--use-vllm-map-event-format=true', '--mode', 'echo']);
    expect(o).toMatchObject({ port: 9000, enableKvcache: true, servedModelNames: ['a', 'b'], useVllmMapEventFormat: true, mode: 'echo' });
  });

  it('takes flags over environment over config file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-opts-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'model: from-file\nport: 8001\nmax-num-seqs: 7\nhash-seed: "1"\ntime-to-first-token: 2s\n');
    const o = run(['--config', file, '--port', '8002'], { PYTHONHASHSEED: '42' });
    expect(o).toMatchObject({ model: 'from-file', port: 8002, maxNumSeqs: 7, hashSeed: '42', timeToFirstTokenMs: 2000 });
    expect(run(['--config', file], { SIM_MODEL: 'from-env' }).model).toBe('from-env');
  });

  it.each([
    ['20', 20],
    ['250us', 0.25],
    ['1.5s', 1500],
    ['1m30s', 90_000],
  ])('parses the duration %s', (text, ms) => {
    expect(parseDurationMs(text, 'x')).toBe(ms);
  });

  it('reads LoRA modules in both vLLM forms', () => {
    const o = run(['--model', 'm', '--lora-modules', 'a=/p/a', '{"name":"b","path":"/p/b","base_model_name":"m"}']);
    expect(o.loraModules).toEqual([
      { name: 'a', path: '/p/a', baseModelName: null },
      { name: 'b', path: '/p/b', baseModelName: 'm' },
    ]);
  });

  it("reads vLLM's --kv-events-config", () => {
    const o = run(['--model', 'm', '--kv-events-config', '{"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://*:5557","topic":"kv@1.2.3.4:8000@m","replay_endpoint":"tcp://*:5558"}']);
    expect(o).toMatchObject({ enableKvcache: true, zmqEndpoint: 'tcp://*:5557', kvEventsTopic: 'kv@1.2.3.4:8000@m', kvEventsReplayEndpoint: 'tcp://*:5558' });
  });

  it('picks the legacy latency calculator as upstream does', () => {
    expect(run(['--model', 'm', '--latency-calculator', '', '--prefill-time-per-token', '1']).latencyCalculator).toBe('per-token');
    expect(run(['--model', 'm', '--latency-calculator', '', '--time-to-first-token', '10']).latencyCalculator).toBe('constant');
  });

  it('accepts and ignores vLLM engine flags', () => {
    const parsed = parseOptions(['--model', 'm', '--tensor-parallel-size', '2', '--enforce-eager'], {});
    expect(parsed.kind === 'run' && parsed.ignoredFlags).toEqual(['tensor-parallel-size', 'enforce-eager']);
  });

  it('reads pod identity from the downward-API environment', () => {
    expect(run(['--model', 'm'], { POD_NAME: 'p', POD_NAMESPACE: 'ns', POD_IP: '10.0.0.1' })).toMatchObject({ podName: 'p', podNamespace: 'ns', podIp: '10.0.0.1' });
  });

  it.each([
    [['--port', '1'], '--model'],
    [['--model', 'm', '--bogus', '1'], '--bogus'],
    [['--model', 'm', '--port', 'eighty'], '--port'],
    [['--model', 'm', '--port', '70000'], '--port'],
    [['--model', 'm', '--mode', 'loud'], '--mode'],
    [['--model', 'm', '--failure-types', 'meteor'], '--failure-types[0]'],
    [['--model', 'm', '--failure-injection-rate', '101'], '--failure-injection-rate'],
    [['--model', 'm', '--time-to-first-token', 'soon'], '--time-to-first-token'],
    [['--model', 'm', '--enable-kvcache=maybe'], '--enable-kvcache'],
    [['--model', 'm', '--linear-coefficients', '1,2'], '--linear-coefficients'],
    [['--model', 'm', '--lora-modules', '{"path":"/x"}'], '--lora-modules[0].name'],
    [['--model', 'm', '--kv-events-config', '{"endpoint":5}'], '--kv-events-config.endpoint'],
    [['--model', 'm', '--max-num-seqs'], '--max-num-seqs'],
  ])('rejects %j naming %s', (argv, key) => {
    let error: unknown;
    try {
      parseOptions(argv as string[], {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
  });

  it('rejects an unknown config-file key by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-opts-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'model: m\nmax-num-sequences: 3\n');
    expect(() => parseOptions(['--config', file], {})).toThrowError(/max-num-sequences: unknown key/);
  });

  it('lists every upstream flag in --help', () => {
    const parsed = parseOptions(['--help'], {});
    expect(parsed.kind).toBe('help');
    const text = helpText();
    for (const flag of [
      'model', 'port', 'served-model-name', 'max-num-seqs', 'max-num-batched-tokens', 'max-model-len', 'time-to-first-token',
      'inter-token-latency', 'prefill-time-per-token', 'kv-cache-transfer-latency', 'enable-kvcache', 'kv-cache-size', 'block-size',
      'hash-seed', 'zmq-endpoint', 'event-batch-size', 'lora-modules', 'max-loras', 'mode', 'seed', 'failure-injection-rate',
      'failure-types', 'data-parallel-size', 'config',
    ]) {
      expect(text).toContain(`--${flag}`);
    }
  });
});
