// The local stack: simulated model servers on localhost behind the router's standalone proxy, on the
// precise prefix-cache path (the servers publish KV events to the router). It
// starts both, sends a demo request through the router with the official OpenAI client, prints the
// answer and which server it was routed to, and keeps running until Ctrl-C (or exits with --once).
// Run from the repository root after a build: node tools/local-stack/src/main.ts [--once]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const simMain = `${root}apps/inference-sim/dist/main.js`;
const routerMain = `${root}apps/router/dist/main.js`;
const stateDir = `${root}.cache/local-stack`;
const once = process.argv.includes('--once');
// Opt-in: the autoscaler starts and stops the servers (see autoscale.ts); the default below is unchanged.
if (process.argv.includes('--autoscale')) await (await import('./autoscale.ts')).runAutoscaleStack({ once });
const model = 'Qwen/Qwen3-0.6B';
const servers = 4;
// Ports: the router's OpenAI proxy on BASE, its ext_proc/health/metrics on BASE+2/+3/+90, the KV-event
// socket the router binds on BASE+57, servers from BASE+100.
const base = Number(process.env.LOCAL_STACK_PORT ?? 8000);
const ports = { proxy: base, grpc: base + 2, grpcHealth: base + 3, metrics: base + 90, kvEvents: base + 57, sims: base + 100 };

// The precise prefix-cache path: the servers publish their KV events to the router, which knows
// which server holds which blocks and weighs that with queue and KV-cache load.
const routerConfig = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: {blockSizeTokens: 16}
    kvEventsConfig: {zmqEndpoint: "tcp://127.0.0.1:${ports.kvEvents}"}
- type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: prefix-cache-scorer, weight: 3}
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
`;
const children: ChildProcess[] = [];

function fail(message: string): never {
  console.error(`local-stack: ${message}`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(1);
}

/** Starts a node process and resolves with the first JSON log line whose `msg` is `ready`. */
function startLogged(script: string, args: string[], ready: string): Promise<Record<string, unknown>> {
  if (!existsSync(script)) fail(`${script} is missing: build first (pnpm nx run-many -t build -p inference-sim,router)`);
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.on('exit', (code) => reject(new Error(`${script} exited with code ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === ready) resolve(entry);
        } catch {
          // Not a JSON log line.
        }
      }
    });
  });
}

const stop = () => {
  for (const c of children) c.kill('SIGTERM');
};
process.on('SIGINT', () => {
  stop();
  process.exit(0);
});

// One process per server, each publishing its KV events to the router's socket (data-parallel ranks
// of one process would offset the event port by rank, as vLLM does).
const started = await Promise.all(
  Array.from({ length: servers }, (_, i) =>
    startLogged(
      simMain,
      [
        '--model', model, '--preset', 'qwen3-0.6b/h100', '--port', String(ports.sims + i), '--host', '127.0.0.1', '--seed', String(7 + i),
        '--hash-seed', '42', '--enable-kvcache', '--zmq-endpoint', `tcp://127.0.0.1:${ports.kvEvents}`,
      ],
      'simulator listening',
    ),
  ),
).catch((err: Error) => fail(err.message));
const urls = started.flatMap((s) => s.urls as string[]);

mkdirSync(stateDir, { recursive: true });
const endpointsFile = `${stateDir}/endpoints.yaml`;
writeFileSync(
  endpointsFile,
  ['endpoints:', ...urls.flatMap((u, i) => [`- name: sim-${i}`, '  namespace: default', '  address: "127.0.0.1"', `  port: ${new URL(u).port}`])].join('\n') + '\n',
);
const configFile = `${stateDir}/epp-config.yaml`;
writeFileSync(configFile, routerConfig);
await startLogged(
  routerMain,
  ['--config-file', configFile, '--endpoints-file', endpointsFile, '--host', '127.0.0.1', '--proxy-port', String(ports.proxy), '--grpc-port', String(ports.grpc), '--grpc-health-port', String(ports.grpcHealth), '--metrics-port', String(ports.metrics), '--secure-serving=false'],
  'router listening',
).catch((err: Error) => fail(err.message));

const proxy = `http://127.0.0.1:${ports.proxy}`;
console.log(`\nRouter (standalone proxy; precise prefix cache 3 from the servers' KV events, queue 2, KV 2): ${proxy}/v1`);
console.log(`  ext_proc gRPC 127.0.0.1:${ports.grpc} (plaintext), metrics http://127.0.0.1:${ports.metrics}/metrics`);
console.log(`Simulated model servers (${model}, engine model of an H100):`);
for (const url of urls) console.log(`  ${url}/v1   (metrics: ${url}/metrics)`);

const client = new OpenAI({ baseURL: `${proxy}/v1`, apiKey: 'not-needed' });
const question = 'In one sentence: why does a router care about the prefix cache?';
console.log(`\nDemo request through the router: "${question}"`);
const params = { model, messages: [{ role: 'user', content: question }], max_tokens: 40, ignore_eos: true };
const { data: answer, response } = await client.chat.completions.create(params as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
console.log(`Routed to ${response.headers.get('x-gateway-destination-endpoint-served')}`);
console.log(`Answer (${answer.usage?.completion_tokens} tokens of simulated text): ${answer.choices[0]?.message.content?.trim()}`);

if (once) {
  stop();
  process.exit(0);
}
console.log('\nThe stack is running. Try:');
console.log(`  curl -s ${proxy}/v1/completions -H 'content-type: application/json' -d '{"model":"${model}","prompt":"Hello","max_tokens":16}'`);
console.log('Press Ctrl-C to stop.');
