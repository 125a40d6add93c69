/**
 * Input checks of the configuration macros. They run before the first
 * request, so that a typo in a pipeline fails in milliseconds instead of
 * after a controller was half configured. Secrets are checked but never shown.
 */
import { readFile, stat } from 'node:fs/promises';
import { Vns3ValidationError } from '../client/errors.js';
import type { components } from '../generated/vns3.js';
import { isCidr, isIp, isIPv4 } from '../net/index.js';

/** License text, or a file that holds it. */
export type LicenseInput = string | { file: string };

/** `PUT /license/parameters`: the license's defaults, or explicit addressing. */
export type LicenseParametersInput =
  | { default: true }
  | {
      default?: false;
      /** CIDR of the overlay network. */
      subnet?: string;
      /** Overlay addresses of the controllers, in id order (list or space-separated). */
      managers?: string | readonly string[];
      /** ASNs of the controllers, in id order (list or space-separated). */
      asns?: string | readonly number[];
      /** Overlay client addresses or `a-b` ranges (list or comma-separated). */
      clients?: string | readonly string[];
      /** An address of the subnet shared by all controllers. */
      my_manager_vip?: string;
    };

/** The body the controller takes (`PUT /license/parameters`), lists flattened the way it wants them. */
export type LicenseParametersBody = components['schemas']['LicenseParametersRequest'];

const MAX_LICENSE_BYTES = 512 * 1024;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

export function checkToken(field: string, value: unknown, controller?: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string', { secret: true, ...(controller ? { controller } : {}) });
  }
  return value;
}

export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 255 || /[\r\n\0]/.test(value)) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty single-line string of at most 255 characters');
  }
  return value;
}

export function checkPeerId(field: string, value: unknown, controller?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new Vns3ValidationError(field, value, 'must be a whole number of at least 1', controller ? { controller } : {});
  }
  return value;
}

export function checkPositive(field: string, value: unknown, opts: { integer?: boolean; allowZero?: boolean } = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (opts.allowZero ? value >= 0 : value > 0) &&
    (!opts.integer || Number.isInteger(value));
  if (!ok) throw new Vns3ValidationError(field, value, `must be a ${opts.integer ? 'whole ' : ''}number${opts.allowZero ? '' : ' above 0'}`);
  return value as number;
}

/** A keyset source is an address the fetching controller dials: an IP or a DNS name, no port, no scheme. */
export function checkSource(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const isDns = text.length > 0 && text.length <= 253 && !/^[\d.]+$/.test(text) && text.split('.').every((l) => DNS_LABEL.test(l));
  if (!isIp(text) && !isDns) {
    throw new Vns3ValidationError('source', value, 'must be the IP address or DNS name of the source controller');
  }
  return text;
}

/** Reads and checks the license before anything is sent; never puts its text in an error. */
export async function resolveLicense(input: unknown): Promise<string> {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (input !== null && typeof input === 'object' && typeof (input as { file?: unknown }).file === 'string') {
    const file = (input as { file: string }).file;
    text = await readLicenseFile(file);
  } else {
    throw new Vns3ValidationError('license', input === undefined ? undefined : typeof input, 'must be the license text or { file: path }');
  }
  if (text.trim().length === 0) throw new Vns3ValidationError('license', '', 'is empty');
  if (Buffer.byteLength(text) > MAX_LICENSE_BYTES) throw new Vns3ValidationError('license', '[redacted]', 'is too large to be a license', { secret: true });
  // A license is text; NUL bytes mean someone pointed us at a binary file.
  if (text.includes('\0')) throw new Vns3ValidationError('license', '[redacted]', 'is not text', { secret: true });
  return text;
}

async function readLicenseFile(file: string): Promise<string> {
  if (file.trim().length === 0) throw new Vns3ValidationError('license.file', file, 'must be a path');
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Vns3ValidationError('license.file', file, 'is not a regular file');
    if (info.size > MAX_LICENSE_BYTES) throw new Vns3ValidationError('license.file', file, 'is too large to be a license');
    return await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof Vns3ValidationError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'is not readable' : `cannot be read (${code ?? 'error'})`;
    throw new Vns3ValidationError('license.file', file, reason);
  }
}

const splitWords = (v: string | readonly (string | number)[], sep: RegExp): string[] =>
  (typeof v === 'string' ? v.split(sep) : v.map(String)).map((s) => s.trim()).filter(Boolean);

/** Checks license parameters and builds the request body without touching the caller's object. */
export function licenseParametersBody(input: unknown): LicenseParametersBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new Vns3ValidationError('licenseParameters', input, 'must be { default: true } or explicit addressing');
  }
  const p = input as Record<string, unknown>;
  const known = new Set(['default', 'subnet', 'managers', 'asns', 'clients', 'my_manager_vip']);
  for (const key of Object.keys(p)) {
    if (!known.has(key)) throw new Vns3ValidationError(`licenseParameters.${key}`, p[key], 'is not a license parameter');
  }
  if (p.default !== undefined && typeof p.default !== 'boolean') {
    throw new Vns3ValidationError('licenseParameters.default', p.default, 'must be true or false');
  }
  const body: LicenseParametersBody = {};
  if (p.default === true) body.default = true;
  if (p.subnet !== undefined) {
    if (!isCidr(p.subnet)) throw new Vns3ValidationError('licenseParameters.subnet', p.subnet, 'must be an IPv4 CIDR');
    body.subnet = p.subnet as string;
  }
  const list = (field: string, sep: RegExp, check: (s: string) => boolean, reason: string): string[] | undefined => {
    const v = p[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Vns3ValidationError(`licenseParameters.${field}`, v, 'must be a string or a list');
    const items = splitWords(v as string | string[], sep);
    if (items.length === 0) throw new Vns3ValidationError(`licenseParameters.${field}`, v, 'is empty');
    const bad = items.find((s) => !check(s));
    if (bad !== undefined) throw new Vns3ValidationError(`licenseParameters.${field}`, bad, reason);
    return items;
  };
  const managers = list('managers', /[\s,]+/, isIPv4, 'must be IPv4 addresses');
  if (managers) body.managers = managers.join(' ');
  const asns = list('asns', /[\s,]+/, (s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 4294967295, 'must be ASNs from 1 to 4294967295');
  if (asns) body.asns = asns.join(' ');
  const isRange = (s: string): boolean => isIPv4(s) || (s.split('-').length === 2 && s.split('-').every(isIPv4));
  const clients = list('clients', /[\s,]+/, isRange, 'must be IPv4 addresses or a-b ranges');
  if (clients) body.clients = clients.join(',');
  if (p.my_manager_vip !== undefined) {
    if (!isIPv4(p.my_manager_vip)) throw new Vns3ValidationError('licenseParameters.my_manager_vip', p.my_manager_vip, 'must be an IPv4 address');
    body.my_manager_vip = p.my_manager_vip as string;
  }
  const explicit = body.subnet !== undefined || body.managers !== undefined || body.asns !== undefined || body.clients !== undefined;
  if (body.default !== true && !explicit) {
    throw new Vns3ValidationError('licenseParameters', input, 'needs default: true or at least one of subnet, managers, asns, clients');
  }
  if (managers && asns && managers.length !== asns.length) {
    throw new Vns3ValidationError('licenseParameters.asns', p.asns, 'must have one ASN per manager address');
  }
  return body;
}
