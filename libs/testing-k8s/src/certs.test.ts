import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, generateControlPlaneCerts } from './certs.js';
import * as der from './der.js';

describe('der', () => {
  it.each([
    ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'],
    ['2.5.4.3', '0603550403'],
    ['1.3.6.1.5.5.7.3.1', '06082b06010505070301'],
  ])('encodes OID %s', (dotted, hex) => {
    expect(der.oid(dotted).toString('hex')).toBe(hex);
  });

  it.each([
    [[0], '03020780'],
    [[0, 5, 6], '03020186'],
    [[8], '0303070080'],
  ])('encodes named bits %j minimally', (bits, hex) => {
    expect(der.namedBits(bits).toString('hex')).toBe(hex);
  });

  it('keeps integers positive and minimal', () => {
    expect(der.unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])).toString('hex')).toBe('02017f');
    expect(der.unsignedInteger(Buffer.from([0x80])).toString('hex')).toBe('02020080');
    expect(der.smallInteger(2).toString('hex')).toBe('020102');
  });

  it('uses the long length form from 128 bytes', () => {
    const encoded = der.octetString(Buffer.alloc(300));
    expect(encoded.subarray(0, 4).toString('hex')).toBe('0482012c');
    expect(encoded.length).toBe(304);
  });

  it('writes UTCTime before 2050 and GeneralizedTime after', () => {
    expect(der.time(new Date('2026-01-02T03:04:05.678Z')).toString('latin1')).toBe('\x17\x0d260102030405Z');
    expect(der.time(new Date('2051-01-02T03:04:05Z')).toString('latin1')).toBe('\x18\x0f20510102030405Z');
  });
});

describe('generateControlPlaneCerts', () => {
  const certs = generateControlPlaneCerts();

  it('issues a serving certificate for the loopback address signed by the serving CA', () => {
    const ca = new X509Certificate(certs.servingCa.cert);
    const serving = new X509Certificate(certs.serving.cert);
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.checkHost('localhost')).toBe('localhost');
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serving.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(serving.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(serving.validTo).getTime()).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);
  });

  it('issues an admin client certificate in system:masters signed by the client CA', () => {
    const ca = new X509Certificate(certs.clientCa.cert);
    const admin = new X509Certificate(certs.admin.cert);
    expect(admin.verify(ca.publicKey)).toBe(true);
    expect(admin.verify(new X509Certificate(certs.servingCa.cert).publicKey)).toBe(false);
    expect(admin.subject.split('\n')).toEqual(['O=system:masters', 'CN=admin']);
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('pairs every certificate with its private key', () => {
    for (const pair of [certs.servingCa, certs.serving, certs.clientCa, certs.admin]) {
      expect(new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key))).toBe(true);
    }
    const signature = sign('sha256', Buffer.from('token'), createPrivateKey(certs.serviceAccount.key));
    expect(verify('sha256', Buffer.from('token'), createPublicKey(certs.serviceAccount.cert), signature)).toBe(true);
  });

  it('carries a TLS handshake with client authentication', async () => {
    const server = createServer(
      { cert: certs.serving.cert, key: certs.serving.key, ca: certs.clientCa.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(peer.subject.CN);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/', ca: certs.servingCa.cert, cert: certs.admin.cert, key: certs.admin.key },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('admin');
    } finally {
      server.close();
    }
  });

  it('rejects a client certificate from another CA', async () => {
    const stranger = createCertificateAuthority('stranger').issue({ commonName: 'mallory', usage: 'client' });
    const server = createServer({ cert: certs.serving.cert, key: certs.serving.key, ca: certs.clientCa.cert, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const outcome = await new Promise<string>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ca: certs.servingCa.cert, cert: stranger.cert, key: stranger.key }, (res) => {
          res.resume();
          resolve(`status ${res.statusCode}`);
        });
        req.on('error', (err) => resolve(`error ${err.message}`));
        req.end();
      });
      expect(outcome).toMatch(/^error /);
    } finally {
      server.close();
    }
  });
});
