// TLS on each leg and on the listener, and data-parallel ranks, against real simulators. A
// sidecar serving TLS in front of a simulator stands in for a model server that speaks https.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimProcess, type SimProcess } from '@llmd/testing';
import OpenAI, { APIError } from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simMetric, startTestSidecar, type TestSidecar } from './test-support/harness.js';
import { generateSelfSignedCertificate, type ServingCertificate } from './tls.js';

const model = 'Qwen/Qwen3-0.6B';
const label = { model_name: model };
const simArgs = (seed: number) => ['--model', model, '--preset', 'qwen3-0.6b/h100', '--mode', 'echo', '--seed', String(seed)];
const portOf = (url: string) => Number(new URL(url).port);
const hostPort = (url: string) => new URL(url).host;
const remoteDecodes = (url: string) => simMetric(url, 'vllm:request_success_total', { ...label, finish_reason: 'remote_decode' });

describe('TLS per leg', () => {
  let prefill: SimProcess, decode: SimProcess;
  let tlsFront: TestSidecar; // https in front of the prefill simulator (pass-through)
  let tlsDecoder: TestSidecar; // https in front of the decode simulator (pass-through)
  let cert: ServingCertificate;
  let certDir: string;

  beforeAll(async () => {
    [prefill, decode] = await Promise.all([startSimProcess(simArgs(31)), startSimProcess(simArgs(32))]);
    cert = await generateSelfSignedCertificate();
    certDir = mkdtempSync(join(tmpdir(), 'pd-cert-'));
    writeFileSync(join(certDir, 'tls.crt'), cert.cert);
    writeFileSync(join(certDir, 'tls.key'), cert.key);
    tlsFront = await startTestSidecar(portOf(prefill.urls[0] as string), ['--secure-serving', '--cert-path', certDir]);
    tlsDecoder = await startTestSidecar(portOf(decode.urls[0] as string), ['--secure-serving']);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([tlsFront?.close(), tlsDecoder?.close()]);
    await Promise.all([prefill?.stop(), decode?.stop()]);
  });

  const disaggregated = (sidecar: TestSidecar, maxTokens: number) =>
    new OpenAI({ baseURL: `${sidecar.url}/v1`, apiKey: 'unused', maxRetries: 0 }).completions.create(
      { model, prompt: `tls check ${maxTokens} `.repeat(40), max_tokens: maxTokens },
      { headers: { 'x-prefiller-host-port': hostPort(tlsFront.url) } },
    );

  it('serves the listener over TLS with the certificate of --cert-path, which a client can verify', async () => {
    expect(tlsFront.url.startsWith('https://')).toBe(true);
    const trusting = new Agent({ connect: { ca: cert.cert } });
    const ok = await request(`${tlsFront.url}/health`, { dispatcher: trusting });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    await trusting.close();
    const err = await request(`${tlsFront.url}/health`).catch((e: unknown) => e as Error);
    expect(String((err as Error).cause ?? err)).toMatch(/self[- ]signed|unable to verify|SELF_SIGNED/i);
  });

  it('sends the prefill leg over https with --enable-tls prefiller and --tls-insecure-skip-verify prefiller', async () => {
    await using sidecar = await startTestSidecar(portOf(decode.urls[0] as string), ['--enable-tls', 'prefiller', '--tls-insecure-skip-verify', 'prefiller']);
    const before = await remoteDecodes(prefill.urls[0] as string);
    const answer = await disaggregated(sidecar, 5);
    expect(answer.usage?.completion_tokens).toBe(5);
    expect(await remoteDecodes(prefill.urls[0] as string)).toBe(before + 1);
  });

  it('takes the 2025 flag names for the same setting', async () => {
    await using sidecar = await startTestSidecar(portOf(decode.urls[0] as string), ['--prefiller-use-tls', '--prefiller-tls-insecure-skip-verify']);
    const before = await remoteDecodes(prefill.urls[0] as string);
    expect((await disaggregated(sidecar, 3)).usage?.completion_tokens).toBe(3);
    expect(await remoteDecodes(prefill.urls[0] as string)).toBe(before + 1);
  });

  it('verifies the prefiller’s certificate unless told not to, and reports the failure as 502', async () => {
    await using sidecar = await startTestSidecar(portOf(decode.urls[0] as string), ['--enable-tls', 'prefiller']);
    const err = await disaggregated(sidecar, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    expect((err as APIError).code).toBe('prefill_failed');
    expect((err as APIError).message).toMatch(/self[- ]signed|unable to verify|SELF_SIGNED/i);
  });

  it('sends plain http to an https prefiller without --enable-tls and reports that cleanly', async () => {
    await using sidecar = await startTestSidecar(portOf(decode.urls[0] as string));
    const err = await disaggregated(sidecar, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    expect((err as APIError).code).toBe('prefill_failed');
  });

  it('reaches an https model server on the decode leg with --enable-tls decoder', async () => {
    await using sidecar = await startTestSidecar(portOf(tlsDecoder.url), ['--enable-tls', 'decoder', '--tls-insecure-skip-verify', 'decoder']);
    const client = new OpenAI({ baseURL: `${sidecar.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    expect((await client.completions.create({ model, prompt: 'decoder over tls', max_tokens: 3 })).usage?.completion_tokens).toBe(3);
    const before = await remoteDecodes(prefill.urls[0] as string);
    const both = await client.completions.create(
      { model, prompt: 'both legs over tls '.repeat(30), max_tokens: 4 },
      { headers: { 'x-prefiller-host-port': hostPort(prefill.urls[0] as string) } },
    );
    expect(both.usage?.completion_tokens).toBe(4);
    expect(await remoteDecodes(prefill.urls[0] as string)).toBe(before + 1);
  });

  it('refuses TLS 1.2 clients with --tls-min-version VersionTLS13', async () => {
    await using sidecar = await startTestSidecar(portOf(decode.urls[0] as string), ['--secure-serving', '--tls-min-version', 'VersionTLS13']);
    const tls12 = new Agent({ connect: { rejectUnauthorized: false, maxVersion: 'TLSv1.2' } });
    const tls13 = new Agent({ connect: { rejectUnauthorized: false } });
    const refused = await request(`${sidecar.url}/health`, { dispatcher: tls12 }).catch((e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(Error);
    const ok = await request(`${sidecar.url}/health`, { dispatcher: tls13 });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    await Promise.all([tls12.close(), tls13.close()]);
  });
});

/** Two consecutive free loopback ports (the simulator's data-parallel ranks take port and port+1). */
async function consecutiveFreePorts(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await free(base)) && (await free(base + 1))) return base;
  }
  throw new Error('no two consecutive free ports');
}

describe('data-parallel ranks', () => {
  it('listens on one port per rank and sends each rank’s requests to model-server-port + rank', async () => {
    const base = await consecutiveFreePorts();
    await using sim = await startSimProcess([...simArgs(41), '--data-parallel-size', '2', '--port', String(base)]);
    expect(sim.urls.map(portOf)).toEqual([base, base + 1]);
    await using sidecar = await startTestSidecar(base, ['--data-parallel-size', '2']);
    expect(sidecar.ports).toHaveLength(2);
    const count = (url: string) => simMetric(url, 'vllm:request_success_total', { ...label, finish_reason: 'length' });
    const [r0, r1] = [await count(sim.urls[0] as string), await count(sim.urls[1] as string)];
    const rank1 = new OpenAI({ baseURL: `${sidecar.urls[1]}/v1`, apiKey: 'unused', maxRetries: 0 });
    await rank1.completions.create({ model, prompt: 'to rank one', max_tokens: 2 });
    await rank1.completions.create({ model, prompt: 'to rank one again', max_tokens: 2 });
    expect([await count(sim.urls[0] as string), await count(sim.urls[1] as string)]).toEqual([r0, r1 + 2]);
  });
});
