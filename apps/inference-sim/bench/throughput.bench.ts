// Benchmark: one simulator process hosting N servers under many concurrent streams.
// Measures streamed tokens/s, client-side TTFT and inter-token latency, and compares them with the
// simulated timeline the engine model prescribes (the servers' own vllm:* histograms).
// Run: pnpm nx run inference-sim:bench   (or: node apps/inference-sim/bench/throughput.bench.ts [--json out.json])
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const servers = Number(args.get('servers') ?? 8);
const streams = Number(args.get('streams') ?? 256);
const seconds = Number(args.get('seconds') ?? 20);
const warmupSeconds = Number(args.get('warmup') ?? 5);
const promptTokens = Number(args.get('prompt-tokens') ?? 256);
const outputTokens = Number(args.get('output-tokens') ?? 128);
const preset = args.get('preset') ?? 'llama-3.1-8b/h100';
const model = args.get('model') ?? 'meta-llama/Llama-3.1-8B-Instruct';
const basePort = Number(args.get('port') ?? 18000);
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/throughput.json', import.meta.url));
const simMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const simArgs = [
  simMain, '--model', model, '--preset', preset, '--port', String(basePort), '--host', '127.0.0.1',
  '--data-parallel-size', String(servers), '--seed', '3', '--log-level', 'warn', '--max-num-seqs', '256',
];
const sim = spawn(process.execPath, simArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
const cleanup = () => sim.kill('SIGTERM');
process.on('exit', cleanup);

const agent = new http.Agent({ keepAlive: true, maxSockets: streams + 16 });
const urls = Array.from({ length: servers }, (_, i) => `http://127.0.0.1:${basePort + i}`);

async function waitHealthy(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await Promise.all(urls.map((u) => fetch(`${u}/health`).then((r) => r.ok, () => false)));
    if (ok.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('simulator did not become healthy');
}

async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(vllm:[a-z_]+(?:_sum|_count|_total)?)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && !line.includes('_bucket')) out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[2]));
  }
  return out;
}

async function timeline(): Promise<Map<string, number>> {
  const all = await Promise.all(urls.map(metrics));
  const sum = new Map<string, number>();
  for (const m of all) for (const [k, v] of m) sum.set(k, (sum.get(k) ?? 0) + v);
  return sum;
}

interface StreamStats { ttftMs: number[]; itlMs: number[]; tokensInWindow: number; requests: number }
const stats: StreamStats = { ttftMs: [], itlMs: [], tokensInWindow: 0, requests: 0 };
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
let stopping = false;

function oneRequest(url: string, n: number): Promise<void> {
  const prompt = Array.from({ length: promptTokens }, (_, i) => 1000 + ((n * 7919 + i * 31) % 120000));
  const body = JSON.stringify({ model, prompt, max_tokens: outputTokens, ignore_eos: true, stream: true });
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const times: number[] = [];
    const req = http.request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        const text = tail + chunk;
        let idx = 0;
        let events = 0;
        for (;;) {
          const j = text.indexOf('\n\n', idx);
          if (j === -1) break;
          if (text.startsWith('data: {', idx)) events++;
          idx = j + 2;
        }
        tail = text.slice(idx);
        for (let e = 0; e < events; e++) times.push(now);
        if (now >= windowStart && now < windowEnd) stats.tokensInWindow += events;
      });
      res.on('end', () => {
        const first = times[0];
        if (first !== undefined && sent >= windowStart && sent < windowEnd) {
          stats.ttftMs.push(first - sent);
          stats.requests++;
          if (times.length > 1) stats.itlMs.push(((times.at(-1) as number) - first) / (times.length - 1));
        }
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function streamLoop(index: number): Promise<void> {
  const url = urls[index % servers] as string;
  for (let n = index; !stopping; n += streams) await oneRequest(url, n);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

await waitHealthy();
const loops = Array.from({ length: streams }, (_, i) => streamLoop(i));
await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
const before = await timeline();
windowStart = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
windowEnd = performance.now();
const after = await timeline();
stopping = true;
await Promise.all(loops);

const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
const simTtftMs = (delta('vllm:time_to_first_token_seconds_sum') / delta('vllm:time_to_first_token_seconds_count')) * 1000;
const simItlMs = (delta('vllm:inter_token_latency_seconds_sum') / delta('vllm:inter_token_latency_seconds_count')) * 1000;
const clientTtft = mean(stats.ttftMs);
const clientItl = mean(stats.itlMs);
const report = {
  benchmark: 'inference-sim throughput',
  command: `node apps/inference-sim/bench/throughput.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  config: { servers, streams, seconds, promptTokens, outputTokens, preset, model },
  results: {
    streamedTokensPerSecond: Math.round(stats.tokensInWindow / ((windowEnd - windowStart) / 1000)),
    requestsCompleted: stats.requests,
    clientTtftMs: { mean: clientTtft, p50: pct(stats.ttftMs, 50), p99: pct(stats.ttftMs, 99) },
    clientInterTokenMs: { mean: clientItl, p50: pct(stats.itlMs, 50), p99: pct(stats.itlMs, 99) },
    engineTimelineTtftMs: simTtftMs,
    engineTimelineInterTokenMs: simItlMs,
    ttftDeviation: clientTtft / simTtftMs - 1,
    interTokenDeviation: clientItl / simItlMs - 1,
  },
  targets: { streamedTokensPerSecond: 5000, streams: 200, maxDeviation: 0.05 },
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
};
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
cleanup();
agent.destroy();
