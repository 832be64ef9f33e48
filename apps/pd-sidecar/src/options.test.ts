import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@llmd/cli';
import { describe, expect, it } from 'vitest';
import { parseSidecarOptions, sidecarHelp, type SidecarOptions } from './options.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): { options: SidecarOptions; notices: string[] } {
  const parsed = parseSidecarOptions(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return parsed;
}

function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseSidecarOptions(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

const yamlFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'pd-options-')), 'sidecar.yaml');
  writeFileSync(file, text);
  return file;
};

describe('parseSidecarOptions', () => {
  it('has upstream’s defaults', () => {
    const { options } = run([]);
    expect(options).toMatchObject({
      host: '0.0.0.0',
      port: 8000,
      modelServerHost: 'localhost',
      modelServerPort: 8200,
      dataParallelSize: 1,
      kvConnector: 'nixlv2',
      enableSsrfProtection: false,
      enablePrefillerSampling: false,
      prefiller: { enabled: false, insecureSkipVerify: false },
      decoder: { enabled: false, insecureSkipVerify: false },
      secureServing: true,
      certPath: null,
      tlsMinVersion: 'TLSv1.2',
      prefillMaxRetries: 0,
      prefillRetryBackoffMs: 200,
      metricsPort: null,
      logLevel: 'info',
    });
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('takes the deployment example’s 2025 command line (single-dash Go flags too)', () => {
    const { options, notices } = run(['--port=8000', '--vllm-port=8200', '--connector=nixlv2', '--secure-proxy=false', '-prefiller-use-tls', '-decoder-tls-insecure-skip-verify']);
    expect(options).toMatchObject({ port: 8000, modelServerPort: 8200, secureServing: false, prefiller: { enabled: true }, decoder: { insecureSkipVerify: true } });
    expect(notices.join('\n')).toContain('--vllm-port is deprecated');
    expect(notices.join('\n')).toContain('--secure-proxy is deprecated');
  });

  it.each([
    [['--enable-tls', 'prefiller,decoder'], { prefiller: { enabled: true, insecureSkipVerify: false }, decoder: { enabled: true, insecureSkipVerify: false } }],
    [['--enable-tls', 'prefiller', '--enable-tls', 'decoder', '--tls-insecure-skip-verify', 'decoder'], { prefiller: { enabled: true, insecureSkipVerify: false }, decoder: { enabled: true, insecureSkipVerify: true } }],
    [['--enable-tls', 'prefiller', 'decoder'], { prefiller: { enabled: true }, decoder: { enabled: true } }],
  ])('reads TLS stages from %j', (argv, expected) => {
    expect(run(argv).options).toMatchObject(expected);
  });

  it('prefers --model-server-port to --vllm-port, and flags to the YAML configuration', () => {
    expect(run(['--vllm-port', '9001', '--model-server-port', '9002']).options.modelServerPort).toBe(9002);
    const file = yamlFile('port: 8100\nmodel-server-port: 8300\nenable-ssrf-protection: true\nprefill-allowlist: ["10.0.0.1:8000", "10.0.0.2"]\nprefill-max-retries: 2\nprefill-retry-backoff: 50ms\nenable-tls: [decoder]\n');
    const { options } = run(['--configuration-file', file, '--port', '8111']);
    expect(options).toMatchObject({ port: 8111, modelServerPort: 8300, enableSsrfProtection: true, prefillAllowlist: ['10.0.0.1:8000', '10.0.0.2'], prefillMaxRetries: 2, prefillRetryBackoffMs: 50, decoder: { enabled: true } });
    expect(run(['--configuration', '{port: 8085, model-server-port: 8203}']).options).toMatchObject({ port: 8085, modelServerPort: 8203 });
  });

  it('reads the upstream environment variables, below flags and YAML', () => {
    const env = { INFERENCE_POOL: 'llm-d/pool-a', ENABLE_PREFILLER_SAMPLING: 'true' };
    expect(run([], env).options).toMatchObject({ inferencePool: { namespace: 'llm-d', name: 'pool-a' }, enablePrefillerSampling: true });
    expect(run(['--inference-pool', 'pool-b', '--enable-prefiller-sampling=false'], env).options).toMatchObject({ inferencePool: { namespace: 'default', name: 'pool-b' }, enablePrefillerSampling: false });
    expect(run([], { INFERENCE_POOL_NAMESPACE: 'ns', INFERENCE_POOL_NAME: 'old' }).options.inferencePool).toEqual({ namespace: 'ns', name: 'old' });
  });

  it('maps Go cipher-suite names to OpenSSL ones', () => {
    expect(run(['--tls-cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384']).options.tlsCiphers).toBe('ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384');
  });

  it.each([
    [['--kv-connector', 'sglang'], '--kv-connector', 'sglang connector is not implemented'],
    [['--kv-connector', 'shared-storage'], '--kv-connector', 'not implemented'],
    [['--kv-connector', 'nixl'], '--kv-connector', 'must be one of: nixlv2, shared-storage, sglang, mooncake, offloading'],
    [['--connector', 'lmcache'], '--connector', 'lmcache connector is not implemented'],
    [['--connector', 'nixlv2', '--kv-connector', 'nixlv2'], '--connector', 'not both'],
    [['--ec-connector', 'ec-nixl'], '--ec-connector', 'not implemented'],
    [['--ec-connector', 'other'], '--ec-connector', 'must be one of'],
    [['--enable-p2p-pull'], '--enable-p2p-pull', 'not implemented'],
    [['--enable-speculative-prefill'], '--enable-speculative-prefill', 'not implemented'],
    [['--decode-chunk-size', '256'], '--decode-chunk-size', 'not implemented'],
    [['--enable-ssrf-protection'], '--enable-ssrf-protection', 'give --prefill-allowlist or --prefill-allowlist-file'],
    [['--enable-ssrf-protection', '--inference-pool', 'ns/pool'], '--enable-ssrf-protection', 'InferencePool ns/pool needs a Kubernetes pod watch'],
    [['--inference-pool', 'a/b/c'], '--inference-pool', 'not multiple slashes'],
    [['--inference-pool', 'ns/'], '--inference-pool', 'empty namespace or name'],
    [['--pool-group', 'inference.networking.x-k8s.io'], '--pool-group', 'must be "inference.networking.k8s.io"'],
    [['--enable-tls', 'prefill'], '--enable-tls', 'stages must be one of: prefiller, decoder, encoder'],
    [['--tls-insecure-skip-verify', 'decode'], '--tls-insecure-skip-verify', 'stages must be one of'],
    [['--tls-min-version', 'VersionTLS11'], '--tls-min-version', ''],
    [['--tls-cipher-suites', 'TLS_FOO'], '--tls-cipher-suites', 'unknown cipher suite "TLS_FOO"'],
    [['--prefill-max-retries', '2', '--prefill-retry-backoff', '0'], '--prefill-retry-backoff', 'must be positive'],
    [['--prefill-retry-backoff', 'soon'], '--prefill-retry-backoff', 'not a duration'],
    [['--port', '70000'], '--port', ''],
    [['--port', '65535', '--data-parallel-size', '2'], '--port', 'exceeds maximum port value'],
    [['--model-server-port', 'x'], '--model-server-port', ''],
    [['--secure-serving=true', '--secure-proxy=false'], '--secure-proxy', 'conflicts with --secure-serving'],
    [['--configuration', 'a: [', '--port', '1'], '--configuration', 'invalid YAML'],
    [['--configuration', 'no-such-key: 1'], '--configuration: no-such-key', 'unknown key'],
    [['--configuration', 'port: lots'], '--configuration: port', ''],
    [['--configuration', 'x', '--configuration-file', 'y'], '--configuration', 'mutually exclusive'],
    [['--configuration-file', '/nonexistent/sidecar.yaml'], '--configuration-file', 'cannot read'],
    [['--no-such-flag'], '--no-such-flag', 'unknown flag'],
    [['stray'], 'stray', 'unexpected argument'],
  ])('rejects %j naming %s', (argv, key, message) => {
    const err = errorOf(argv);
    expect(err.key).toBe(key);
    expect(err.message).toContain(message);
  });

  it('notes settings that have no effect here', () => {
    const { notices } = run(['--mooncake-bootstrap-port', '9000', '--tracing', '--enable-tls', 'encoder', '--prefill-allowlist', '10.0.0.1:8000', '--zap-encoder', 'json']);
    const text = notices.join('\n');
    expect(text).toContain('--mooncake-bootstrap-port has no effect');
    expect(text).toContain('--tracing is accepted');
    expect(text).toContain('encoder TLS stage has no effect');
    expect(text).toContain('--enable-ssrf-protection is off');
    expect(text).toContain('--zap-encoder');
  });

  it('prints every flag in --help', () => {
    const parsed = parseSidecarOptions(['--help']);
    expect(parsed.kind).toBe('help');
    const help = sidecarHelp();
    for (const flag of ['--port', '--model-server-port', '--kv-connector', '--enable-ssrf-protection', '--prefill-allowlist-file', '--enable-tls', '--prefill-max-retries', '--secure-serving', '--cert-path']) {
      expect(help).toContain(flag);
    }
  });
});
