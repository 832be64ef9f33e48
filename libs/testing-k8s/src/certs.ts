import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der.js';

/** Certificates outlive any test run by far: a week, as envtest does. */
const VALIDITY_MS = 7 * 24 * 3600 * 1000;
/** Backdated so a clock a little behind on either side still accepts them. */
const BACKDATE_MS = 3600 * 1000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** KeyUsage bit numbers (RFC 5280 section 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** Everything the API server and its admin client need for mutual TLS and service accounts. */
export interface ControlPlaneCerts {
  /** CA that signed the serving certificate: what clients trust. */
  readonly servingCa: PemPair;
  /** Serving certificate for `localhost` and `127.0.0.1`. */
  readonly serving: PemPair;
  /** CA the API server trusts for client certificates (`--client-ca-file`). */
  readonly clientCa: PemPair;
  /** Client certificate of the admin user (O=system:masters). */
  readonly admin: PemPair;
  /** Key pair that signs and verifies service account tokens (`cert` holds the public key PEM). */
  readonly serviceAccount: PemPair;
  /** The client CA itself, to issue certificates for more users. */
  readonly clientAuthority: CertificateAuthority;
}

/** What a leaf certificate says about its holder. */
export interface LeafOptions {
  /** Common name: the user name of a client certificate. */
  readonly commonName: string;
  /** Organizations: the groups of a client certificate. */
  readonly organizations?: readonly string[];
  /** DNS names and IP addresses of a serving certificate. */
  readonly hosts?: readonly string[];
  /** `server` for a serving certificate, `client` for a client certificate. */
  readonly usage: 'server' | 'client';
}

/** A certificate authority that can issue leaf certificates. */
export interface CertificateAuthority {
  readonly pem: PemPair;
  /** Issues a leaf certificate signed by this CA. */
  issue(options: LeafOptions): PemPair;
}

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function spki(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

/** SHA-1 of the public key bits, the usual key identifier (RFC 5280 section 4.2.1.2, method 1). */
function keyIdentifier(key: KeyObject): Buffer {
  // An EC P-256 SPKI is a fixed 26-byte header followed by the 65-byte uncompressed point.
  const info = spki(key);
  return createHash('sha1').update(info.subarray(info.length - 65)).digest();
}

function name(commonName: string, organizations: readonly string[] = []): Buffer {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.oid(type), der.utf8String(value)));
  return der.sequence(...organizations.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, commonName));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

function subjectAltNames(hosts: readonly string[]): Buffer {
  return der.sequence(
    ...hosts.map((host) => {
      if (isIP(host) === 4) return der.implicitPrimitive(7, Buffer.from(host.split('.').map(Number)));
      if (isIP(host) === 6) throw new Error(`IPv6 subject alternative names are not supported: ${host}`);
      return der.implicitPrimitive(2, Buffer.from(host, 'ascii'));
    }),
  );
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

interface CertificateFields {
  readonly subject: Buffer;
  readonly issuer: Buffer;
  readonly subjectKey: KeyObject;
  readonly signingKey: KeyObject;
  readonly extensions: readonly Buffer[];
}

/** Builds and signs an X.509 v3 certificate with ECDSA-SHA256. */
function certificate(fields: CertificateFields): string {
  const now = Date.now();
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(serial),
    algorithm,
    fields.issuer,
    der.sequence(der.time(new Date(now - BACKDATE_MS)), der.time(new Date(now + VALIDITY_MS))),
    fields.subject,
    spki(fields.subjectKey),
    der.explicit(3, der.sequence(...fields.extensions)),
  );
  const signature = sign('sha256', tbs, { key: fields.signingKey, dsaEncoding: 'der' });
  return pem('CERTIFICATE', der.sequence(tbs, algorithm, der.bitString(signature)));
}

/** Creates a self-signed ECDSA P-256 certificate authority. */
export function createCertificateAuthority(commonName: string): CertificateAuthority {
  const keys = newKeyPair();
  const caName = name(commonName, ['llm-d-ts tests']);
  const caKeyId = keyIdentifier(keys.publicKey);
  const caCert = certificate({
    subject: caName,
    issuer: caName,
    subjectKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true))),
      extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, der.octetString(caKeyId)),
    ],
  });

  const issue = (options: LeafOptions): PemPair => {
    const leafKeys = newKeyPair();
    const extensions = [
      extension(OID.basicConstraints, true, der.sequence()),
      extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature])),
      extension(OID.extKeyUsage, false, der.sequence(der.oid(options.usage === 'server' ? OID.serverAuth : OID.clientAuth))),
      extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, caKeyId))),
    ];
    if (options.hosts !== undefined && options.hosts.length > 0) {
      extensions.push(extension(OID.subjectAltName, false, subjectAltNames(options.hosts)));
    }
    const cert = certificate({
      subject: name(options.commonName, options.organizations),
      issuer: caName,
      subjectKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      extensions,
    });
    return { cert, key: privateKeyPem(leafKeys.privateKey) };
  };
  return { pem: { cert: caCert, key: privateKeyPem(keys.privateKey) }, issue };
}

/**
 * Generates the certificates of one control plane: a serving CA and a serving certificate for
 * the loopback address, a client CA and an admin client certificate in `system:masters` (which
 * RBAC lets do anything), and the service account signing key pair.
 */
export function generateControlPlaneCerts(adminUser = 'admin'): ControlPlaneCerts {
  const servingCa = createCertificateAuthority('llmd-test-serving-ca');
  const clientCa = createCertificateAuthority('llmd-test-client-ca');
  const serving = servingCa.issue({ commonName: 'localhost', hosts: ['localhost', '127.0.0.1'], usage: 'server' });
  const admin = clientCa.issue({ commonName: adminUser, organizations: ['system:masters'], usage: 'client' });
  const sa = newKeyPair();
  const serviceAccount: PemPair = {
    cert: sa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    key: privateKeyPem(sa.privateKey),
  };
  return { servingCa: servingCa.pem, serving, clientCa: clientCa.pem, admin, serviceAccount, clientAuthority: clientCa };
}
