// Benchmark: latency the sidecar adds. The same open-loop load (default 200 requests/s for 10 s,
// non-streamed completions of one token) goes to a simulated server directly, then through the
// sidecar without a prefill header (pass-through), and the latency distributions are compared.
// A second part streams long answers (default 256 tokens) and compares the gaps between SSE events.
// Run after a build:
//   node apps/pd-sidecar/bench/overhead.bench.ts [--rate 200] [--seconds 10] [--json out.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNodeProcess, startSidecarProcess, type NodeProcess } from '../src/test-support/processes.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const rate = Number(args.get('rate') ?? 200);
const seconds = Number(args.get('seconds') ?? 10);
const streamTokens = Number(args.get('stream-tokens') ?? 256);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/overhead.json', import.meta.url));
const SIM_MAIN = fileURLToPath(new URL('../../inference-sim/dist/main.js', import.meta.url));
const model = 'Qwen/Qwen3-0.6B';

const children: NodeProcess[] = [];
process.on('exit', () => children.forEach((c) => c.child.kill('SIGTERM')));

const sim = await startNodeProcess(SIM_MAIN, ['--model', model, '--preset', 'qwen3-0.6b/h100', '--host', '127.0.0.1', '--port', '0', '--seed', '1'], 'simulator listening');
children.push(sim);
const simUrl = (sim.ready.urls as string[])[0] as string;
const sidecar = await startSidecarProcess(Number(new URL(simUrl).port), []);
children.push(sidecar);

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const short = JSON.stringify({ model, prompt: Array.from({ length: 64 }, (_, i) => 1000 + i), max_tokens: 1 });

function post(url: string, body: string, onChunk?: () => void): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => onChunk?.());
      res.on('end', () => resolve(performance.now() - t0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}
const round = (x: number) => Math.round(x * 1000) / 1000;
const dist = (xs: readonly number[]) => ({ p50: round(percentile(xs, 50)), p90: round(percentile(xs, 90)), p99: round(percentile(xs, 99)), n: xs.length });

async function openLoop(url: string): Promise<number[]> {
  for (let i = 0; i < 200; i++) await post(url, short); // warm-up
  const n = Math.round(rate * seconds);
  const t0 = performance.now();
  return Promise.all(
    Array.from({ length: n }, (_, i) => new Promise<number>((resolve, reject) => setTimeout(() => post(url, short).then(resolve, reject), Math.max(0, (i * 1000) / rate - (performance.now() - t0))))),
  );
}

async function streamGaps(url: string): Promise<number[]> {
  const body = JSON.stringify({ model, prompt: Array.from({ length: 64 }, (_, i) => 2000 + i), max_tokens: streamTokens, ignore_eos: true, stream: true });
  const gaps: number[] = [];
  for (let r = 0; r < 8; r++) {
    let last: number | null = null;
    await post(url, body, () => {
      const now = performance.now();
      if (last !== null) gaps.push(now - last);
      last = now;
    });
  }
  return gaps;
}

const direct = await openLoop(simUrl);
const through = await openLoop(sidecar.url);
const directGaps = await streamGaps(simUrl);
const throughGaps = await streamGaps(sidecar.url);
const report = {
  benchmark: 'pd-sidecar-overhead',
  command: `node apps/pd-sidecar/bench/overhead.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  node: process.version,
  settings: { rate_per_s: rate, seconds, request: 'non-streamed /v1/completions, 64 prompt tokens, 1 output token', stream_tokens: streamTokens },
  latency_ms: { direct: dist(direct), through_sidecar: dist(through), added_p50: round(percentile(through, 50) - percentile(direct, 50)) },
  stream_event_gap_ms: { direct: dist(directGaps), through_sidecar: dist(throughGaps) },
};
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
process.exit(0);
