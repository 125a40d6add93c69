import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Simulated licenses. A real license is an opaque signed text; ours is a base64 JSON payload with an
 * HMAC, so that a controller accepts exactly the texts a simulator issued and refuses anything else
 * (edited, truncated or foreign text) the way a controller does.
 */
export interface LicenseTerms {
  topology: string;
  /** Number of controllers (peer ids 1 … controllers). */
  controllers: number;
  /** Number of overlay clients. */
  clients: number;
  serial: string;
  issuedAt: string;
}

const BEGIN = '-----BEGIN VNS3 SIMULATOR LICENSE-----';
const END = '-----END VNS3 SIMULATOR LICENSE-----';
// A fixed key: license files written by one `vns3-sim` run stay valid in the next.
const SIGNING_KEY = 'vns3-sdk simulator license key';

function sign(payload: string): string {
  return createHmac('sha256', SIGNING_KEY).update(payload).digest('hex');
}

export function issueLicense(options: { controllers?: number; clients?: number; topology?: string } = {}): string {
  const terms: LicenseTerms = {
    topology: options.topology ?? `sim-topology-${randomUUID().slice(0, 8)}`,
    controllers: options.controllers ?? 4,
    clients: options.clients ?? 100,
    serial: randomUUID(),
    issuedAt: new Date().toISOString(),
  };
  const payload = Buffer.from(JSON.stringify(terms)).toString('base64');
  const lines = payload.match(/.{1,64}/g) ?? [];
  return [BEGIN, ...lines, `Signature: ${sign(payload)}`, END, ''].join('\n');
}

/** Returns the terms of a license this simulator issued, or undefined for any other text. */
export function verifyLicense(text: string): LicenseTerms | undefined {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== BEGIN || lines[lines.length - 1] !== END) return undefined;
  const signatureLine = lines[lines.length - 2] ?? '';
  if (!signatureLine.startsWith('Signature: ')) return undefined;
  const payload = lines.slice(1, -2).join('');
  const given = Buffer.from(signatureLine.slice('Signature: '.length), 'hex');
  const expected = Buffer.from(sign(payload), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const terms = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as LicenseTerms;
    if (!Number.isInteger(terms.controllers) || terms.controllers < 1) return undefined;
    return terms;
  } catch {
    return undefined;
  }
}
