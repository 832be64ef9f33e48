import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { ConfigError } from './flags.js';

/** A PEM certificate chain and its private key. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

/**
 * Reads `tls.crt` and `tls.key` from a directory (a mounted Kubernetes TLS secret). A file that
 * cannot be read is a {@link ConfigError} naming `flag`, the flag that gave the directory.
 */
export async function readCertificateDir(dir: string, flag: string): Promise<ServingCertificate> {
  try {
    const [cert, key] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
    return { cert, key };
  } catch (cause) {
    throw new ConfigError(flag, `cannot read tls.crt and tls.key in ${dir}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A fresh self-signed serving certificate, as upstream servers make one when TLS is on and no
 * certificate is given: clients must skip verification or pin it. Its SANs cover localhost and the
 * loopback addresses; EC P-256 keeps start-up fast.
 */
export async function generateSelfSignedCertificate(commonName: string): Promise<ServingCertificate> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'llm-d' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
