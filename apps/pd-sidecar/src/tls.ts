import { generateSelfSignedCertificate as selfSigned, type ServingCertificate } from '@llmd/cli';

export { readCertificateDir } from '@llmd/cli';
export type { ServingCertificate };

/** The sidecar's own self-signed certificate for `--secure-proxy` without `--cert-path` (for testing). */
export function generateSelfSignedCertificate(): Promise<ServingCertificate> {
  return selfSigned('llm-d-pd-sidecar');
}
