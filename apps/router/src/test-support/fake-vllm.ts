import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a fake model server reports on /metrics. */
export interface FakeMetrics {
  waiting: number;
  running?: number;
  kv: number;
  runningLoras?: string[];
  maxLoras?: number;
}

/**
 * A model server that only answers `GET /metrics` with vLLM's exposition format and the values a
 * test sets: the router's scraper reads it exactly as it reads vLLM.
 */
export class FakeVllm implements AsyncDisposable {
  readonly #server: Server;
  metrics: FakeMetrics;
  port = 0;

  private constructor(metrics: FakeMetrics) {
    this.metrics = metrics;
    this.#server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      const m = this.metrics;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# TYPE vllm:num_requests_waiting gauge',
          `vllm:num_requests_waiting{model_name="m"} ${m.waiting}`,
          `vllm:num_requests_running{model_name="m"} ${m.running ?? 0}`,
          `vllm:kv_cache_usage_perc{model_name="m"} ${m.kv}`,
          `vllm:lora_requests_info{max_lora="${m.maxLoras ?? 4}",running_lora_adapters="${(m.runningLoras ?? []).join(',')}",waiting_lora_adapters=""} 1.7e9`,
          'vllm:cache_config_info{block_size="16",num_gpu_blocks="1000"} 1',
          '',
        ].join('\n'),
      );
    });
  }

  /** Starts a fake on a free loopback port. */
  static async start(metrics: FakeMetrics): Promise<FakeVllm> {
    const f = new FakeVllm(metrics);
    await new Promise<void>((resolve) => f.#server.listen(0, '127.0.0.1', resolve));
    f.port = (f.#server.address() as { port: number }).port;
    return f;
  }

  /** `127.0.0.1:<port>`. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Writes an endpoints file for `file-discovery` listing the given `host:port`s (names ep-0, ep-1, …). */
export function writeEndpointsFile(hostPorts: readonly string[], labels: (i: number) => Record<string, string> = () => ({})): string {
  const dir = mkdtempSync(join(tmpdir(), 'router-endpoints-'));
  const file = join(dir, 'endpoints.yaml');
  const lines = [hostPorts.length === 0 ? 'endpoints: []' : 'endpoints:'];
  hostPorts.forEach((hp, i) => {
    const [address, port] = hp.split(':');
    lines.push(`- name: ep-${i}`, '  namespace: default', `  address: "${address}"`, `  port: ${port}`);
    const l = labels(i);
    if (Object.keys(l).length > 0) {
      lines.push('  labels:');
      for (const [k, v] of Object.entries(l)) lines.push(`    ${k}: "${v}"`);
    }
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
