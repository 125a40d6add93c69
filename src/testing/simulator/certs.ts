import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

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
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 365 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const fingerprint256 = new X509Certificate(pems.cert).fingerprint256;
  return { cert: pems.cert, key: pems.private, fingerprint256 };
}
