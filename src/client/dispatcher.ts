/**
 * The TLS side of a client: one keep-alive undici dispatcher per client, with the certificate
 * checks VNS3 needs (a self-signed certificate trusted as `ca`, or pinned by fingerprint).
 */
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { Vns3ValidationError } from './errors.js';

/** How a controller's certificate is trusted. */
export interface TlsOptions {
  /** PEM of a certificate (or CA) to trust instead of the system store. */
  ca?: string | Buffer;
  /** SHA-256 fingerprint of the controller's certificate: "AB:CD:…" or plain hex. */
  fingerprint256?: string;
  /** Turns chain and host name verification off; only an explicit `true` does. A pin is still enforced. */
  insecure?: boolean;
}

/** `createDispatcher`'s options: the trust settings and the pool size. */
export interface DispatcherOptions extends TlsOptions {
  /** Sockets per origin; controllers are small machines, and macros run many controllers in parallel. */
  connections?: number;
}

/** The `code` of a `Vns3ConnectionError` raised because the certificate does not match the pin. */
export const FINGERPRINT_MISMATCH = 'FINGERPRINT_MISMATCH';

/** Returns the canonical "AB:CD:…" form; throws `Vns3ValidationError` for anything but 32 hex bytes. */
export function normalizeFingerprint(input: string): string {
  const hex = typeof input === 'string' ? input.replace(/[:\s]/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new Vns3ValidationError(
      'fingerprint256',
      input,
      'must be a SHA-256 fingerprint: 32 bytes as hex, optionally colon separated',
    );
  }
  return hex.match(/../g)!.join(':');
}

/** Words for the OpenSSL codes a controller's certificate usually fails with. */
const CERT_PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is unknown',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is unknown',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'it is issued for another host name or address',
};

/**
 * A certificate the client refused, with the fingerprint the controller presented: the one thing a
 * user needs to trust a self-signed controller (after checking it on the controller) or to renew a
 * stale pin. Fingerprints are public, never secrets.
 */
export class CertificateError extends Error {
  constructor(
    readonly code: string,
    readonly fingerprint256: string | undefined,
    pin?: string,
  ) {
    const shown = fingerprint256 ?? '(none)';
    super(
      code === FINGERPRINT_MISMATCH
        ? `the controller presented a certificate with SHA-256 fingerprint ${shown}, not the pinned ${pin}; ` +
            'if its certificate was replaced on purpose, pass the new fingerprint as `fingerprint256`'
        : `the controller's TLS certificate is not trusted: ${CERT_PROBLEMS[code] ?? code} (${code}). ` +
            `It presented SHA-256 fingerprint ${shown}; after checking that on the controller, pass it as ` +
            '`fingerprint256`, or pass the controller\'s certificate (PEM) as `ca`',
    );
    this.name = 'CertificateError';
  }
}

/**
 * Builds the keep-alive dispatcher for one client.
 *
 * Pinning is done after the handshake, not in `checkServerIdentity`, because
 * Node only calls that when the chain verifies, and a controller's self-signed
 * certificate never does. TLS session resumption is off wherever a certificate
 * is checked: a resumed session skips verification and reports no peer
 * certificate, which would let a changed certificate through. Throws `Vns3ValidationError` for a
 * malformed `fingerprint256`.
 */
export function createDispatcher(options: DispatcherOptions = {}): Dispatcher {
  const pin = options.fingerprint256 === undefined ? undefined : normalizeFingerprint(options.fingerprint256);
  const insecure = options.insecure === true;
  // With only a pin, the chain cannot verify (self-signed), so the pin is the check.
  const verifyChain = !insecure && (pin === undefined || options.ca !== undefined);

  // The chain is verified by hand below (Node's `authorized` verdict, host name included) rather than by
  // `rejectUnauthorized: true`, so that a refusal can show the fingerprint the controller presented.
  const base = buildConnector({
    rejectUnauthorized: false,
    ca: options.ca,
    maxCachedSessions: insecure && pin === undefined ? null : 0,
  });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    base(connectOptions, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connection failed'), null);
        return;
      }
      const tls = socket as TLSSocket;
      const refusal = verifyChain && tls.authorized !== true
        ? new CertificateError(String(tls.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), peerFingerprint(tls))
        : pin !== undefined && peerFingerprint(tls) !== pin
          ? new CertificateError(FINGERPRINT_MISMATCH, peerFingerprint(tls), pin)
          : undefined;
      if (refusal) {
        // No error argument: the socket's listeners belong to undici and are gone by now.
        socket.destroy();
        callback(refusal, null);
        return;
      }
      callback(null, socket);
    });
  };

  return new Agent({
    connect,
    connections: options.connections ?? 8,
    keepAliveTimeout: 4_000,
  });
}

function peerFingerprint(socket: TLSSocket): string | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  return cert && typeof cert.fingerprint256 === 'string' ? cert.fingerprint256.toUpperCase() : undefined;
}
