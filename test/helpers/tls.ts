/**
 * Certificates and HTTPS servers for tests, all on 127.0.0.1. Certificates are
 * made with `selfsigned` (Node's own crypto, no openssl binary needed) and EC
 * keys, which are much faster to generate than RSA.
 */
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface TestCert {
  cert: string;
  key: string;
  /** "AB:CD:…" as Node reports `fingerprint256` for the peer certificate. */
  fingerprint256: string;
}

const LOOPBACK_SAN = {
  name: 'subjectAltName' as const,
  altNames: [
    { type: 7 as const, ip: '127.0.0.1' },
    { type: 2 as const, value: 'localhost' },
  ],
};

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  // A little in the past so that clock skew between steps never matters.
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
  return { notBeforeDate, notAfterDate };
}

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.toUpperCase();
}

/** A self-signed leaf for 127.0.0.1, like a controller's factory certificate. */
export async function makeSelfSignedCert(commonName = '127.0.0.1'): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      LOOPBACK_SAN,
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: fingerprintOf(pems.cert) };
}

/** A CA that can sign leaves, for tests of `ca` trust with a real chain. */
export async function makeCa(commonName = 'vns3-sdk test CA'): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: fingerprintOf(pems.cert) };
}

/** A leaf for 127.0.0.1 signed by `ca`. */
export async function makeLeafCert(ca: TestCert, commonName = '127.0.0.1'): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      LOOPBACK_SAN,
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: fingerprintOf(pems.cert) };
}

export type TestHandler = (req: IncomingMessage, res: ServerResponse, body: string) => unknown;

export interface TestHttpsServer {
  server: https.Server;
  port: number;
  /** "127.0.0.1:PORT", as the client names the controller. */
  host: string;
  /** Serve a different certificate from the next handshake on (live connections keep theirs). */
  setCert(cert: TestCert): void;
  /** Drops every connection, idle or busy, as a rebooting controller does. */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 with an ephemeral port. The handler receives
 * the whole request body as text.
 */
export async function startHttpsServer(cert: TestCert, handler: TestHandler): Promise<TestHttpsServer> {
  const server = https.createServer({ cert: cert.cert, key: cert.key, noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks).toString('utf8'))).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { name: 'TestHandlerError', message: String(err) } }));
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    host: `127.0.0.1:${port}`,
    setCert(next) {
      server.setSecureContext({ cert: next.cert, key: next.key });
    },
    dropConnections() {
      server.closeAllConnections();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes a VNS3-style JSON reply in one write. */
export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
