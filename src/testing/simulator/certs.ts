import { X509Certificate } from 'node:crypto';
import { makeSelfSigned } from '../x509.js';

/** A controller's TLS identity: what a real VNS3 has out of the box (self-signed) and what clients pin. */
export interface SimCertificate {
  /** PEM certificate; pass as `ca` to trust it. */
  cert: string;
  /** PEM private key (simulation only). */
  key: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex, as `fingerprint256` in the client options. */
  fingerprint256: string;
}

/**
 * Makes a self-signed certificate valid for 127.0.0.1 and ::1 (so hostname checks pass when a client
 * trusts it as its CA). EC P-256 keys: generating RSA keys for 64 controllers would dominate start-up.
 */
export async function makeCertificate(commonName: string): Promise<SimCertificate> {
  const pems = makeSelfSigned({ commonName, ips: ['127.0.0.1', '::1'], dnsNames: ['localhost'], ca: true });
  const fingerprint256 = new X509Certificate(pems.cert).fingerprint256;
  return { cert: pems.cert, key: pems.key, fingerprint256 };
}
