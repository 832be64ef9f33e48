// The local stack with autoscaling (`bash tools/local-stack.sh --autoscale`): the router (precise
// prefix-cache routing plus flow control) in front of simulated servers that the autoscaler, in
// local mode, starts and stops as the load asks. One server to begin with, up to four under load,
// none after five minutes without requests; a request for the model while it has no server waits in
// the router's flow-control queue until the autoscaler has started one (scale from zero).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const routerMain = `${root}apps/router/dist/main.js`;
const autoscalerMain = `${root}apps/autoscaler/dist/main.js`;
const stateDir = `${root}.cache/local-stack`;
const model = 'Qwen/Qwen3-0.6B';
const maxServers = 4;

/** Ports from LOCAL_STACK_PORT (default 8000), as the default mode lays them out, plus the autoscaler's. */
function portsFrom(base: number) {
  return { proxy: base, grpc: base + 2, grpcHealth: base + 3, metrics: base + 90, autoscaler: base + 91, kvEvents: base + 57 };
}

/**
 * Precise prefix-cache routing as in the default mode, plus flow control gated by in-flight requests.
 * The gate is high (512 per server) so that load reaches the servers, whose queues and KV caches the
 * autoscaler reads; with no server at all, every request waits in the router.
 */
function routerConfig(kvEventsPort: number): string {
  return `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: concurrency-detector
  parameters: {maxConcurrency: 512}
- type: precise-prefix-cache-producer
  parameters:
    tokenProcessorConfig: {blockSizeTokens: 16}
    kvEventsConfig: {zmqEndpoint: "tcp://127.0.0.1:${kvEventsPort}"}
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
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
`;
}

/** Starts the autoscaling stack, sends the demo request, and runs until Ctrl-C (or exits with `once`). */
export async function runAutoscaleStack(options: { once: boolean }): Promise<never> {
  const ports = portsFrom(Number(process.env.LOCAL_STACK_PORT ?? 8000));
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  const fail = (message: string): never => {
    console.error(`local-stack: ${message}`);
    stop();
    process.exit(1);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stop();
      process.exit(0);
    });
  }
  const startLogged = (script: string, args: string[], ready: string): Promise<Record<string, unknown>> => {
    if (!existsSync(script)) fail(`${script} is missing: build first (pnpm nx run-many -t build -p inference-sim,router,autoscaler)`);
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
  };

  mkdirSync(stateDir, { recursive: true });
  const endpointsFile = `${stateDir}/endpoints.yaml`;
  const configFile = `${stateDir}/epp-config.yaml`;
  const localConfig = `${stateDir}/autoscaling.yaml`;
  // The router first, with no endpoint: the autoscaler writes them as it starts servers.
  writeFileSync(endpointsFile, 'endpoints: []\n');
  writeFileSync(configFile, routerConfig(ports.kvEvents));
  await startLogged(
    routerMain,
    ['--config-file', configFile, '--endpoints-file', endpointsFile, '--host', '127.0.0.1', '--proxy-port', String(ports.proxy), '--grpc-port', String(ports.grpc), '--grpc-health-port', String(ports.grpcHealth), '--metrics-port', String(ports.metrics), '--secure-serving=false'],
    'router listening',
  ).catch((err: Error) => fail(err.message));

  // The autoscaler's local-mode file: one VariantAutoscaling, the simulated workload it sizes, and
  // the upstream ConfigMaps' data (here with the upstream defaults and scale to zero after 5 minutes).
  writeFileSync(
    localConfig,
    JSON.stringify(
      {
        namespace: 'local',
        endpointsFile,
        routerMetricsUrls: [`http://127.0.0.1:${ports.metrics}/metrics`],
        variantAutoscalings: [
          {
            metadata: { name: 'qwen3-0-6b-h100' },
            spec: { scaleTargetRef: { kind: 'Deployment', name: 'qwen3-0-6b-h100' }, modelID: model, variantCost: '10.0', accelerator: 'H100', minReplicas: 0, maxReplicas: maxServers },
          },
        ],
        workloads: [
          {
            name: 'qwen3-0-6b-h100',
            replicas: 1,
            args: ['--model', model, '--preset', 'qwen3-0.6b/h100', '--hash-seed', '42', '--enable-kvcache', '--zmq-endpoint', `tcp://127.0.0.1:${ports.kvEvents}`],
          },
        ],
        configMaps: {
          'wva-saturation-scaling-config': { default: 'kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n' },
          'wva-model-scale-to-zero-config': { default: 'enable_scale_to_zero: true\nretention_period: 5m\n' },
        },
      },
      null,
      2,
    ),
  );
  await startLogged(
    autoscalerMain,
    ['--local-config', localConfig, '--interval', '15s', '--saturation-window', '30s', '--rate-window', '1m', '--arrival-window', '30s', '--metrics-bind-address', `127.0.0.1:${ports.autoscaler}`, '--health-probe-bind-address', '0'],
    'autoscaler started',
  ).catch((err: Error) => fail(err.message));

  const proxy = `http://127.0.0.1:${ports.proxy}`;
  const servers = readFileSync(endpointsFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('port:'))
    .map((l) => `http://127.0.0.1:${l.split(':')[1]?.trim()}`);
  console.log(`\nRouter (standalone proxy; precise prefix cache, queue and KV scorers; flow control): ${proxy}/v1`);
  console.log(`  metrics http://127.0.0.1:${ports.metrics}/metrics`);
  console.log(`Autoscaler (local mode; ${model} on a simulated H100, 0 to ${maxServers} servers): http://127.0.0.1:${ports.autoscaler}/metrics`);
  console.log('Simulated model servers the autoscaler started:');
  for (const url of servers) console.log(`  ${url}/v1   (metrics: ${url}/metrics)`);

  const client = new OpenAI({ baseURL: `${proxy}/v1`, apiKey: 'not-needed' });
  const question = 'In one sentence: why does an autoscaler watch the KV cache?';
  console.log(`\nDemo request through the router: "${question}"`);
  const params = { model, messages: [{ role: 'user', content: question }], max_tokens: 40, ignore_eos: true };
  const { data: answer, response } = await client.chat.completions.create(params as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  console.log(`Routed to ${response.headers.get('x-gateway-destination-endpoint-served')}`);
  console.log(`Answer (${answer.usage?.completion_tokens} tokens of simulated text): ${answer.choices[0]?.message.content?.trim()}`);
  if (options.once) {
    stop();
    process.exit(0);
  }
  console.log('\nThe stack is running. Keep many long requests going to see the autoscaler add servers:');
  console.log(`  for i in $(seq 300); do curl -s ${proxy}/v1/completions -H 'content-type: application/json' -d '{"model":"${model}","prompt":"Hello","max_tokens":3000,"ignore_eos":true}' >/dev/null & done`);
  console.log(`  watch -n2 "curl -s http://127.0.0.1:${ports.autoscaler}/metrics | grep '^wva_'; cat ${endpointsFile}"`);
  console.log('With no requests for 5 minutes it stops every server; the next request starts one again.');
  console.log('Press Ctrl-C to stop.');
  // Runs until Ctrl-C: the children keep the process alive, and this promise never settles.
  return new Promise<never>(() => undefined);
}
