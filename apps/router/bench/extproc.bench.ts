// Benchmark: ext_proc requests per second of one router process (one core). A load generator in this
// process drives many concurrent Process streams, each a full exchange: request headers, request body,
// response headers, response body. Run after a build:
//   node apps/router/bench/extproc.bench.ts [--seconds 10] [--concurrency 64] [--json out.json]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { externalProcessorClient } from '../dist/extproc/index.js';
import { benchArgs, percentile, writeReport } from './common.ts';

const args = benchArgs();
const seconds = Number(args.get('seconds') ?? 10);
const concurrency = Number(args.get('concurrency') ?? 64);
const endpointCount = Number(args.get('endpoints') ?? 8);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/extproc.json', import.meta.url));
const routerMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));

// Model servers that only report metrics (the router never sends them traffic in ext_proc mode).
const metricsText = (i: number) =>
  `vllm:num_requests_waiting{model_name="m"} ${i % 3}\nvllm:num_requests_running{model_name="m"} 1\nvllm:kv_cache_usage_perc{model_name="m"} 0.${i}\nvllm:cache_config_info{block_size="16",num_gpu_blocks="30000"} 1\n`;
const servers = await Promise.all(
  Array.from({ length: endpointCount }, (_, i) => new Promise<{ port: number; close: () => void }>((resolve) => {
    const s = createServer((_req, res) => res.end(metricsText(i)));
    s.listen(0, '127.0.0.1', () => resolve({ port: (s.address() as { port: number }).port, close: () => s.close() }));
  })),
);
const dir = mkdtempSync(join(tmpdir(), 'extproc-bench-'));
const file = join(dir, 'endpoints.yaml');
writeFileSync(file, `endpoints:\n${servers.map((s, i) => `- name: ep-${i}\n  address: "127.0.0.1"\n  port: ${s.port}\n`).join('')}`);

// The router is pinned to one core (taskset, where available); the load generator runs on the other.
const pin = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0'] : [];
const routerArgs = [routerMain, '--endpoints-file', file, '--host', '127.0.0.1', '--grpc-port', '0', '--grpc-health-port', '0', '--metrics-port', '0', '--secure-serving=false', '--log-level', 'info'];
const router = spawn(pin[0] ?? process.execPath, pin.length > 0 ? [...pin.slice(1), process.execPath, ...routerArgs] : routerArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
const grpcPort = await new Promise<number>((resolve, reject) => {
  let buf = '';
  router.on('exit', (c) => reject(new Error(`router exited ${c}`)));
  router.stdout?.on('data', (c: Buffer) => {
    buf += c.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as { msg?: string; ports?: { grpc: number } };
        if (e.msg === 'router listening' && e.ports) resolve(e.ports.grpc);
      } catch {
        // not JSON
      }
    }
  });
});
await new Promise((r) => setTimeout(r, 500)); // let the first scrapes land

const Client = externalProcessorClient();
const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
const hdr = (h: Record<string, string>) => ({ headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) });
const respBody = Buffer.from(JSON.stringify({ id: 'x', object: 'text_completion', choices: [{ text: 'ok' }], usage: { prompt_tokens: 40, completion_tokens: 2, total_tokens: 42 } }));

function exchange(i: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { Process(): grpc.ClientDuplexStream<unknown, { request_headers?: unknown; immediate_response?: unknown }> }).Process();
    let replies = 0;
    call.on('data', (r) => {
      replies++;
      if (r.immediate_response) reject(new Error('unexpected immediate response'));
      if (replies === 2) {
        call.write({ response_headers: { headers: hdr({ ':status': '200', 'content-type': 'application/json' }) } });
        call.write({ response_body: { body: respBody, end_of_stream: true } });
        call.end();
      }
    });
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => (s.code === 0 ? resolve(performance.now() - t0) : reject(new Error(s.details))));
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt: `request ${i} ${'lorem ipsum '.repeat(40)}`, max_tokens: 16 }));
    call.write({ request_headers: { headers: hdr({ ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json', 'x-request-id': `r-${i}` }) } });
    call.write({ request_body: { body, end_of_stream: true } });
  });
}

let done = 0;
let n = 0;
const latencies: number[] = [];
let measuring = false;
const deadline = { warm: performance.now() + 2000, end: performance.now() + 2000 + seconds * 1000 };
async function worker(): Promise<void> {
  while (performance.now() < deadline.end) {
    const ms = await exchange(n++);
    if (measuring) {
      done++;
      latencies.push(ms);
    }
  }
}
const workers = Array.from({ length: concurrency }, worker);
await new Promise((r) => setTimeout(r, 2000));
measuring = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - start) / 1000;
await Promise.all(workers);
client.close();
router.kill('SIGTERM');
for (const s of servers) s.close();

writeReport(jsonOut, {
  benchmark: 'ext_proc requests per second, one router process',
  command: `node apps/router/bench/extproc.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  config: { seconds, concurrency, endpoints: endpointCount, exchange: 'request headers + body, response headers + JSON body', routerPinnedToOneCore: pin.length > 0 },
  target: { requestsPerSecond: 2000 },
  results: { requestsPerSecond: Math.round(done / elapsed), exchangeLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } },
  machine: { node: process.version },
});
