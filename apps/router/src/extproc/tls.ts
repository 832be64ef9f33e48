import { generateSelfSignedCertificate as selfSigned, readCertificateDir as readDir, type ServingCertificate } from '@llmd/cli';

export type { ServingCertificate };

/**
 * A fresh self-signed certificate, as upstream's `--secure-serving` makes when no `--cert-path`
 * is given. Envoy does not verify it (the InferencePool's EPP cluster skips verification), but
 * the SANs cover localhost so a local client can pin and verify it.
 */
export function generateSelfSignedCertificate(): Promise<ServingCertificate> {
  return selfSigned('llm-d-router');
}

/** Reads `tls.crt` and `tls.key` of `--cert-path` (a mounted Kubernetes TLS secret). */
export function readCertificateDir(dir: string): Promise<ServingCertificate> {
  return readDir(dir, '--cert-path');
}
