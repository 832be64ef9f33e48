// Benchmark: aggregated versus disaggregated (P/D) serving of a long-prompt workload on the same
// simulated hardware. Four simulated GPUs either serve everything (aggregated, behind the router)
// or split into two prefill and two decode pods (each decode pod behind its own sidecar, the router
// running the P/D config). The same open-loop Poisson arrivals of the same prompts go to both;
// the official OpenAI client streams every answer and measures time to first token and the gaps
// between tokens. Run after a build (`pnpm nx run pd-sidecar:bench` builds first):
//   node apps/pd-sidecar/bench/pd.bench.ts [--rates 2,6] [--seconds 30] [--prompt-tokens 6000]
//     [--output-tokens 128] [--preset llama-3.1-8b/h100] [--seed 1] [--json out.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { startNodeProcess, startRouterProcess, startSidecarProcess, writeEndpointsFile, type NodeProcess } from '../src/test-support/processes.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const num = (name: string, fallback: number) => {
  const v = Number(args.get(name) ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${args.get(name)}`);
  return v;
};
const rates = (args.get('rates') ?? '2,6').split(',').map((r) => {
  const v = Number(r);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--rates: expected positive numbers, got ${r}`);
  return v;
});
const seconds = num('seconds', 30);
const promptTokens = num('prompt-tokens', 6000);
const outputTokens = num('output-tokens', 128);
const seed = num('seed', 1);
const preset = args.get('preset') ?? 'llama-3.1-8b/h100';
const model = 'meta-llama/Llama-3.1-8B-Instruct';
const jsonOut = args.get('json') ?? fileURLToPath(new URL('../dist/bench/pd.json', import.meta.url));
const SIM_MAIN = fileURLToPath(new URL('../../inference-sim/dist/main.js', import.meta.url));
const ROLE = 'llm-d.ai/role';

const children: NodeProcess[] = [];
process.on('exit', () => children.forEach((c) => c.child.kill('SIGTERM')));

/** Deterministic generator (mulberry32) for arrivals and prompts. */
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The workload: arrival offsets (ms) of a Poisson process and one distinct token-id prompt per request. */
function workload(rate: number): Array<{ atMs: number; prompt: number[] }> {
  const random = rng(seed);
  const out: Array<{ atMs: number; prompt: number[] }> = [];
  for (let t = 0; ; ) {
    t += (-Math.log(1 - random()) / rate) * 1000;
    if (t > seconds * 1000) break;
    // Distinct from the first token on: nothing is shared between prompts, so every prefill is cold.
    out.push({ atMs: t, prompt: Array.from({ length: promptTokens }, () => 1000 + Math.floor(random() * 100_000)) });
  }
  return out;
}

const SIM_FLAGS = ['--model', model, '--preset', preset, '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'];

async function startSim(i: number): Promise<NodeProcess & { hostPort: string }> {
  const p = await startNodeProcess(SIM_MAIN, [...SIM_FLAGS, '--seed', String(seed * 10 + i)], 'simulator listening');
  children.push(p);
  return Object.assign(p, { hostPort: new URL((p.ready.urls as string[])[0] as string).host });
}

const SCORERS = `- type: prefix-cache-scorer
- type: queue-scorer
- type: max-score-picker`;
const AGGREGATED_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
${SCORERS}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer, weight: 1}, {pluginRef: max-score-picker}]
`;
const PD_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
${SCORERS}
- type: prefill-filter
- type: decode-filter
- type: disagg-profile-handler
  parameters: {deciders: {prefill: prefix-based-pd-decider}}
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: 256}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer, weight: 1}, {pluginRef: max-score-picker}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer, weight: 1}, {pluginRef: max-score-picker}]
`;

interface Sample {
  ttftMs: number | null;
  gapsMs: number[];
  tokens: number;
  error: string | null;
}

async function one(client: OpenAI, prompt: number[]): Promise<Sample> {
  const started = performance.now();
  let last = started;
  let ttftMs: number | null = null;
  const gapsMs: number[] = [];
  let tokens = 0;
  try {
    const params = { model, prompt, max_tokens: outputTokens, ignore_eos: true, stream: true } as unknown as OpenAI.CompletionCreateParamsStreaming;
    const stream = await client.completions.create(params);
    for await (const chunk of stream) {
      if ((chunk.choices[0]?.text ?? '') === '') continue;
      const now = performance.now();
      if (ttftMs === null) ttftMs = now - started;
      else gapsMs.push(now - last);
      last = now;
      tokens++;
    }
    return { ttftMs, gapsMs, tokens, error: null };
  } catch (err) {
    return { ttftMs, gapsMs, tokens, error: (err as Error).message };
  }
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

const round = (x: number) => Math.round(x * 100) / 100;
const dist = (xs: readonly number[]) => ({ p50: round(percentile(xs, 50)), p90: round(percentile(xs, 90)), p99: round(percentile(xs, 99)), mean: round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)) });

/** The router's `llm_d_epp_pd_decision_total` by decision type. */
async function decisions(routerMetrics: string): Promise<{ 'prefill-decode': number; 'decode-only': number }> {
  const text = await (await fetch(routerMetrics)).text();
  const value = (type: string) => Number(new RegExp(`llm_d_epp_pd_decision_total\\{[^}]*decision_type="${type}"[^}]*\\} (\\S+)`).exec(text)?.[1] ?? 0);
  return { 'prefill-decode': value('prefill-decode'), 'decode-only': value('decode-only') };
}

async function runLoad(proxy: string, routerMetrics: string, label: string, rate: number) {
  const client = new OpenAI({ baseURL: `${proxy}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
  // Warm-up: connections, JIT, first scrape; not measured.
  await Promise.all(Array.from({ length: 4 }, (_, i) => one(client, Array.from({ length: 64 }, (_, k) => 500 + i * 64 + k))));
  const decisionsBefore = await decisions(routerMetrics);
  const jobs = workload(rate);
  const t0 = performance.now();
  const results = await Promise.all(
    jobs.map(
      (job) =>
        new Promise<Sample>((resolve) => {
          setTimeout(() => resolve(one(client, job.prompt)), Math.max(0, job.atMs - (performance.now() - t0)));
        }),
    ),
  );
  const wall = (performance.now() - t0) / 1000;
  const ok = results.filter((r) => r.error === null);
  const decisionsAfter = await decisions(routerMetrics);
  const report = {
    requests: results.length,
    errors: results.length - ok.length,
    first_error: results.find((r) => r.error !== null)?.error ?? null,
    ttft_ms: dist(ok.map((r) => r.ttftMs as number)),
    itl_ms: dist(ok.flatMap((r) => r.gapsMs)),
    output_tokens_per_s: round(ok.reduce((a, r) => a + r.tokens, 0) / wall),
    pd_decisions: {
      'prefill-decode': decisionsAfter['prefill-decode'] - decisionsBefore['prefill-decode'],
      'decode-only': decisionsAfter['decode-only'] - decisionsBefore['decode-only'],
    },
  };
  console.error(`${label}: ${JSON.stringify(report)}`);
  return report;
}

async function aggregated(rate: number) {
  const sims = await Promise.all([0, 1, 2, 3].map(startSim));
  const file = writeEndpointsFile(sims.map((s, i) => ({ name: `sim-${i}`, hostPort: s.hostPort })));
  const router = await startRouterProcess(AGGREGATED_CONFIG, file);
  children.push(router);
  try {
    return await runLoad(router.proxy, router.metrics, `aggregated (4 servers), ${rate}/s`, rate);
  } finally {
    await router.stop();
    await Promise.all(sims.map((s) => s.stop()));
  }
}

async function disaggregated(rate: number) {
  const sims = await Promise.all([0, 1, 2, 3].map(startSim));
  const [p0, p1, d0, d1] = sims as [NodeProcess & { hostPort: string }, NodeProcess & { hostPort: string }, NodeProcess & { hostPort: string }, NodeProcess & { hostPort: string }];
  const prefillEntries = [p0, p1].map((s, i) => ({ name: `prefill-${i}`, hostPort: s.hostPort, labels: { [ROLE]: 'prefill' } }));
  const file = writeEndpointsFile(prefillEntries);
  const sidecars = await Promise.all(
    [d0, d1].map((d) => startSidecarProcess(Number(d.hostPort.split(':')[1]), ['--enable-ssrf-protection', '--prefill-allowlist-file', file])),
  );
  children.push(...sidecars);
  writeEndpointsFile([...prefillEntries, ...sidecars.map((s, i) => ({ name: `decode-${i}`, hostPort: new URL(s.url).host, labels: { [ROLE]: 'decode' } }))], file);
  const router = await startRouterProcess(PD_CONFIG, file);
  children.push(router);
  try {
    return await runLoad(router.proxy, router.metrics, `disaggregated (2 prefill + 2 decode), ${rate}/s`, rate);
  } finally {
    await router.stop();
    await Promise.all(sidecars.map((s) => s.stop()));
    await Promise.all(sims.map((s) => s.stop()));
  }
}

const settings = { rates_per_s: rates, seconds, prompt_tokens: promptTokens, output_tokens: outputTokens, preset, model, seed, arrivals: 'poisson, open loop', client: 'openai SDK, streaming /v1/completions' };
console.error(`workload: ${JSON.stringify(settings)}`);
const report = {
  benchmark: 'pd',
  command: `node apps/pd-sidecar/bench/pd.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  node: process.version,
  settings,
  runs: [] as Array<{ rate_per_s: number; aggregated: Awaited<ReturnType<typeof aggregated>>; disaggregated: Awaited<ReturnType<typeof disaggregated>> }>,
};
for (const rate of rates) report.runs.push({ rate_per_s: rate, aggregated: await aggregated(rate), disaggregated: await disaggregated(rate) });
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
process.exit(0);
