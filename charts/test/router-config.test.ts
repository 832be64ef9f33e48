// The EndpointPickerConfig the chart renders is one the router accepts: the rendered ConfigMap file
// that the Deployment's --config-file names is checked by the router's own loader
// (`--validate-config-only`), with the router's flags as rendered.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES, REPO_ROOT, container, examplePath, find, flagValue, render, valuesFile, type Deployment, type RenderOptions } from './test-support/helm.js';

const ROUTER_MAIN = join(REPO_ROOT, 'apps', 'router', 'dist', 'main.js');

let dir: string;
beforeAll(() => {
  if (!existsSync(ROUTER_MAIN)) throw new Error(`${ROUTER_MAIN} is missing: build the router first (\`pnpm nx build router\`; \`pnpm nx test charts\` does it)`);
  dir = mkdtempSync(join(tmpdir(), 'llmd-charts-config-'));
});
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/**
 * Renders, writes the ConfigMap's files where the pod would see them (a folder standing in for
 * /config), and runs the router with the rendered arguments that concern its configuration.
 */
function validate(options: RenderOptions): { status: number | null; stdout: string; stderr: string } {
  const objects = render(options);
  const args = container(find<Deployment>(objects, 'Deployment', 'llm-d-epp'), 'router').args ?? [];
  const configDir = mkdtempSync(join(dir, 'config-'));
  for (const [file, text] of Object.entries(find(objects, 'ConfigMap', 'llm-d-epp').data ?? {})) writeFileSync(join(configDir, file), text);
  const configFile = flagValue(args, 'config-file');
  expect(configFile).toMatch(/^\/config\/[^/]+$/);
  // Flags that start servers or reach a cluster are left out; the config-related ones are kept.
  const kept = args.filter((a) => !/^--(pool-|grpc-|metrics-port|proxy-port|ha-enable-leader-election|config-file)/.test(a));
  const r = spawnSync(process.execPath, [ROUTER_MAIN, '--validate-config-only', `--config-file=${join(configDir, (configFile as string).slice('/config/'.length))}`, ...kept], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const custom = (text: string) => valuesFile({ router: { epp: { pluginsCustomConfig: { 'mine.yaml': text } } } });

describe('the router loads the rendered config', () => {
  it.each([
    ['default values', {}, /default: queue-scorer×2 → kv-cache-utilization-scorer×2 → prefix-cache-scorer×3 → max-score-picker/],
    ...EXAMPLES.filter((name) => name !== 'operator.yaml').map((name) => [`examples/${name}`, { values: [examplePath(name)] }, /configuration is valid/] as const),
  ] as [string, RenderOptions, RegExp][])('%s', (_label, options, expected) => {
    const r = validate(options);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/configuration is valid/);
    expect(r.stdout).toMatch(expected);
  });

  it.each([
    ['optimized-baseline', /profile handler single-profile-handler[\s\S]*default: prefix-cache-affinity-filter → token-load-scorer×1 → max-score-picker/],
    ['precise-prefix-cache', /default: prefix-cache-scorer×3 → queue-scorer×2 → kv-cache-utilization-scorer×2 → max-score-picker/],
    ['pd', /profile handler disagg-profile-handler[\s\S]*prefill: prefill-filter →[\s\S]*decode: decode-filter →/],
  ])('preset %s builds the expected profiles', (preset, expected) => {
    const set = [`global.preset=${preset}`, ...(preset === 'pd' ? ['model-servers.prefill.create=true', 'model-servers.routing.proxy.enabled=true'] : [])];
    const r = validate({ set });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(expected);
  });

  it('preset precise-prefix-cache with a kv-indexer and a shared Redis index loads too', () => {
    expect(validate({ set: ['global.preset=precise-prefix-cache', 'router.epp.presetOptions.redisAddress=valkey:6379'] }).status).toBe(0);
    expect(validate({ set: ['global.preset=precise-prefix-cache', 'global.kvCache.index=kv-indexer', 'kv-indexer.enabled=true'] }).status).toBe(0);
  });

  it('loads an inline pluginsCustomConfig', () => {
    const r = validate({ values: [custom('plugins: [{type: queue-scorer}, {type: random-picker}]')] });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/default: queue-scorer×1 → random-picker/);
  });

  it('reports a custom config the router refuses, naming the key', () => {
    const r = validate({ values: [custom('plugins: [{type: load-aware-scorer, parameters: {treshold: 5}}]')] });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/plugins\[0\].*treshold/);
  });
});
