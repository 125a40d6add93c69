/**
 * Input checks shared by the macros. They run before the first request, so that a typo in a
 * pipeline fails in milliseconds instead of after a controller was half configured. Each throws
 * Vns3ValidationError naming the field; secrets are checked but never shown.
 */
import { Vns3ValidationError } from '../../client/index.js';
import { isIp } from '../../net/index.js';

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A secret that must be a non-empty string (an API password, a UI password). */
export function checkSecret(field: string, value: unknown, controller?: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string', { secret: true, controller });
  }
  return value;
}

/** A token (keyset token) that must hold more than white space. */
export function checkToken(field: string, value: unknown, controller?: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string', { secret: true, controller });
  }
  return value;
}

/** A controller or topology name: one line, at most 255 characters. */
export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 255 || /[\r\n\0]/.test(value)) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty single-line string of at most 255 characters');
  }
  return value;
}

/** A peering id: a whole number of at least 1. */
export function checkPeerId(field: string, value: unknown, controller?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new Vns3ValidationError(field, value, 'must be a whole number of at least 1', { controller });
  }
  return value;
}

/** A finite number above 0 (or 0 and above with `allowZero`; whole with `integer`). */
export function checkPositive(field: string, value: unknown, options: { integer?: boolean; allowZero?: boolean } = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (options.allowZero ? value >= 0 : value > 0) &&
    (!options.integer || Number.isInteger(value));
  if (!ok) throw new Vns3ValidationError(field, value, `must be a ${options.integer ? 'whole ' : ''}number${options.allowZero ? '' : ' above 0'}`);
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
