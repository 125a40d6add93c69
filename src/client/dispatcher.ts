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

class FingerprintMismatchError extends Error {
  readonly code = FINGERPRINT_MISMATCH;
  constructor(actual: string | undefined) {
    // The server's fingerprint is public and is what a user needs to fix a stale pin.
    super(`certificate fingerprint ${actual ?? '(none)'} does not match the pin`);
    this.name = 'FingerprintMismatchError';
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

  const base = buildConnector({
    rejectUnauthorized: verifyChain,
    ca: options.ca,
    maxCachedSessions: insecure && pin === undefined ? null : 0,
  });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    base(connectOptions, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connection failed'), null);
        return;
      }
      if (pin !== undefined) {
        const actual = peerFingerprint(socket as TLSSocket);
        if (actual !== pin) {
          const mismatch = new FingerprintMismatchError(actual);
          // No error argument: the socket's listeners belong to undici and are gone by now.
          socket.destroy();
          callback(mismatch, null);
          return;
        }
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
