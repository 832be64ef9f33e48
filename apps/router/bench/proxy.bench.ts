// Benchmark: latency the standalone proxy adds. Sends the same open-loop load (default 500 requests/s
// for 10 s, non-streamed completions of one token) to a simulated server directly, then through the
// router's proxy, and compares the latency distributions. Run after a build:
//   node apps/router/bench/proxy.bench.ts [--rate 500] [--seconds 10] [--json out.json]
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, percentile, startProcess, stopProcesses, writeReport } from './common.ts';

const args = benchArgs();
const rate = Number(args.get('rate') ?? 500);
const seconds = Number(args.get('seconds') ?? 10);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/proxy.json', import.meta.url));
const simMain = fileURLToPath(new URL('../../inference-sim/dist/main.js', import.meta.url));
const routerMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const { entry: sim } = await startProcess(simMain, ['--model', 'Qwen/Qwen3-0.6B', '--preset', 'qwen3-0.6b/h100', '--host', '127.0.0.1', '--port', '0', '--seed', '1'], 'simulator listening');
const simUrl = (sim.urls as string[])[0] as string;
const dir = mkdtempSync(join(tmpdir(), 'proxy-bench-'));
const file = join(dir, 'endpoints.yaml');
writeFileSync(file, `endpoints:\n- name: sim-0\n  address: "127.0.0.1"\n  port: ${new URL(simUrl).port}\n`);
const { entry: router } = await startProcess(routerMain, ['--endpoints-file', file, '--host', '127.0.0.1', '--proxy-port', '0', '--grpc-port', '0', '--grpc-health-port', '0', '--metrics-port', '0', '--secure-serving=false'], 'router listening');
const proxyUrl = `http://127.0.0.1:${(router.ports as { proxy: number }).proxy}`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const body = JSON.stringify({ model: 'Qwen/Qwen3-0.6B', prompt: Array.from({ length: 64 }, (_, i) => 1000 + i), max_tokens: 1 });

function once(url: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Open-loop load: one request every 1/rate s for `seconds`, latencies of all of them. */
async function phase(url: string): Promise<number[]> {
  for (let i = 0; i < 200; i++) await once(url); // warm connections and caches
  const latencies: Promise<number>[] = [];
  const interval = 1000 / rate;
  const startAt = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = startAt + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    latencies.push(once(url));
  }
  return Promise.all(latencies);
}

const direct = await phase(simUrl);
const proxied = await phase(proxyUrl);
agent.destroy();
const summary = (xs: number[]) => ({ p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99) });
writeReport(jsonOut, {
  benchmark: 'latency added by the standalone proxy',
  command: `node apps/router/bench/proxy.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  config: { rate, seconds, request: 'non-streamed completion, 64 prompt tokens, 1 output token, qwen3-0.6b/h100 simulator' },
  target: { addedP50Ms: 1 },
  results: { directMs: summary(direct), proxiedMs: summary(proxied), addedP50Ms: percentile(proxied, 50) - percentile(direct, 50) },
  machine: { node: process.version },
});
stopProcesses();
