/**
 * Self-signed X.509 certificates from Node's own crypto, for the simulator and the cloud emulators.
 * Node can make keys and sign but has no certificate builder, so the few DER structures a TLS
 * server certificate needs are encoded here (RFC 5280): no npm dependency, no openssl binary.
 * EC P-256 keys: generating RSA keys for 64 controllers would dominate start-up.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** What `makeSelfSigned` builds. */
export interface SelfSignedOptions {
  commonName: string;
  /** IP addresses (v4 or v6) and DNS names the certificate is valid for. */
  ips?: string[];
  dnsNames?: string[];
  /** Whether it may sign others (a controller's factory certificate is its own CA). */
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

/** A PEM certificate and its PKCS#8 PEM private key. */
export interface SelfSignedPems {
  cert: string;
  key: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  // UTCTime covers 1950-2049, which is all a test certificate needs.
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

/** A BIT STRING of flags, bit 0 first, with its count of unused trailing bits as DER wants. */
function bitFlags(bits: number[]): Buffer {
  let byte = 0;
  for (const b of bits) byte |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && (byte & (1 << unused)) === 0) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** Makes a self-signed certificate (ECDSA P-256, SHA-256) and its key, both PEM. */
export function makeSelfSigned(options: SelfSignedOptions): SelfSignedPems {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const name = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(options.commonName, 'utf8')))));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and minimal
  const altNames = [
    ...(options.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ...(options.dnsNames ?? []).map((dns) => tlv(0x82, Buffer.from(dns, 'ascii'))),
  ];
  const ca = options.ca === true;
  const extensions = [
    extension('2.5.29.19', true, ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
    // digitalSignature (0), keyEncipherment (2), keyCertSign (5)
    extension('2.5.29.15', true, bitFlags(ca ? [0, 5] : [0, 2])),
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
    ...(altNames.length > 0 ? [extension('2.5.29.17', false, seq(...altNames))] : []),
  ];
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ECDSA_SHA256,
    name,
    seq(utcTime(options.notBefore ?? new Date(now - 60_000)), utcTime(options.notAfter ?? new Date(now + 365 * 24 * 3600_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const base64 = der.toString('base64').match(/.{1,64}/g)!.join('\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
