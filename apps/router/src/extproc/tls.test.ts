import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '@llmd/observability';
import { describe, expect, it } from 'vitest';
import { createExtProcServer } from './server.js';
import { ExtProcCall, extProcClient, FakeDirector, headersMsg } from './test-support/ext-proc-harness.js';
import { generateSelfSignedCertificate } from './tls.js';

const ready = { ready: () => true };
const get = headersMsg('request_headers', { ':method': 'GET', ':path': '/v1/models' }, true);

describe('ext_proc TLS', () => {
  it('generates a self-signed certificate at start-up that a client trusting it can use', async () => {
    const director = new FakeDirector();
    await using server = createExtProcServer({ director, logger: silentLogger(), secure: true, healthState: ready });
    expect(server.certificate).toBeNull();
    const port = await server.listen(0, '127.0.0.1');
    expect(server.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    using client = extProcClient(port, grpc.credentials.createSsl(Buffer.from(server.certificate as string)));
    const { replies, status } = await new ExtProcCall(client).exchange(get);
    expect(status.code).toBe(grpc.status.OK);
    expect(replies.map((r) => r.response)).toEqual(['request_headers']);
    expect(director.calls).toHaveLength(1);
  });

  it('serves the certificate from --cert-path, and a client trusting another one is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'extproc-tls-'));
    try {
      const [mine, other] = await Promise.all([generateSelfSignedCertificate(), generateSelfSignedCertificate()]);
      await writeFile(join(dir, 'tls.crt'), mine.cert);
      await writeFile(join(dir, 'tls.key'), mine.key);
      const director = new FakeDirector();
      await using server = createExtProcServer({ director, logger: silentLogger(), secure: true, certPath: dir, healthState: ready });
      const port = await server.listen(0, '127.0.0.1');
      expect(server.certificate).toBe(mine.cert);

      using trusting = extProcClient(port, grpc.credentials.createSsl(Buffer.from(mine.cert)));
      expect((await new ExtProcCall(trusting).exchange(get)).status.code).toBe(grpc.status.OK);

      using distrusting = extProcClient(port, grpc.credentials.createSsl(Buffer.from(other.cert)));
      expect((await new ExtProcCall(distrusting).exchange(get)).status.code).toBe(grpc.status.UNAVAILABLE);
      expect(director.calls).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves plaintext with secure=false', async () => {
    await using server = createExtProcServer({ director: new FakeDirector(), logger: silentLogger(), secure: false, healthState: ready });
    using client = extProcClient(await server.listen(0, '127.0.0.1'));
    expect((await new ExtProcCall(client).exchange(get)).status.code).toBe(grpc.status.OK);
    expect(server.certificate).toBeNull();
  });
});
