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
  if (typeof value !== 'string' || value.length === 0 || hasControl(value)) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string without control characters', { secret: true, controller });
  }
  return value;
}

/** A token (keyset token) that must hold more than white space. */
export function checkToken(field: string, value: unknown, controller?: string): string {
  if (typeof value !== 'string' || value.trim().length === 0 || hasControl(value)) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string without control characters', { secret: true, controller });
  }
  return value;
}

/** A controller or topology name: one line, at most 255 characters. */
export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 255 || hasControl(value)) {
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

/** Longest duration a timer can hold (2^31−1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

// Any C0 control character or DEL: a line break in a header, a rule or a name splits it in two.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const CONTROL_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** True when the text holds a control character (line break, NUL, …; a tab too unless `allowTab`). */
export function hasControl(text: string, allowTab = false): boolean {
  return (allowTab ? CONTROL_BUT_TAB : CONTROL).test(text);
}

/**
 * A duration in milliseconds: a number above 0 (or 0 and above with `allowZero`) and at most
 * 2^31−1; `Infinity` only with `allowInfinity` (a wait that ends by its signal).
 */
export function checkDuration(field: string, value: unknown, options: { allowZero?: boolean; allowInfinity?: boolean; controller?: string } = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (options.allowZero ? value >= 0 : value > 0) &&
    (value <= MAX_DURATION_MS || (options.allowInfinity === true && value === Infinity));
  if (!ok) {
    const range = `${options.allowZero ? '0' : 'above 0'} to ${MAX_DURATION_MS} ms${options.allowInfinity ? ' (or Infinity to wait until the signal aborts)' : ''}`;
    throw new Vns3ValidationError(field, value, `must be a number of milliseconds, ${range}`, { controller: options.controller });
  }
  return value;
}

/** A flag: `true` or `false`, nothing else (`'yes'` and `1` are refused rather than read as false). */
export function checkBoolean(field: string, value: unknown, controller?: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new Vns3ValidationError(field, value, 'must be true or false', { controller });
  return value;
}

/** The options of a macro that are flags, each checked with {@link checkBoolean}. */
export function checkFlags(options: object | undefined, fields: readonly string[], controller?: string): void {
  for (const field of fields) checkBoolean(field, (options as Record<string, unknown> | undefined)?.[field], controller);
}

/** A list of clients a bulk macro works on: a non-empty array (an empty mesh "succeeding" hides a bug upstream). */
export function checkClients(clients: unknown, field = 'clients'): void {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw new Vns3ValidationError(field, Array.isArray(clients) ? [] : clients, 'must be a non-empty array of clients');
  }
  clients.forEach((c, i) => {
    if (c === null || typeof c !== 'object' || typeof (c as { host?: unknown }).host !== 'string') {
      throw new Vns3ValidationError(`${field}[${i}]`, typeof c, 'must be a client made by createClient');
    }
  });
}

/** Text that goes into the controller as one token or line: a string, not empty, no control character, at most `max`. */
export function checkText(field: string, value: unknown, options: { max?: number; pattern?: RegExp; hint?: string; controller?: string } = {}): string {
  const { max = 255, pattern, hint, controller } = options;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max || hasControl(value) || (pattern !== undefined && !pattern.test(value))) {
    throw new Vns3ValidationError(field, value, hint ?? `must be a non-empty single-line string of at most ${max} characters`, { controller });
  }
  return value;
}

/** A peer or source address the controller dials: an IP address or a DNS name (no port, scheme or space). */
export function checkAddress(field: string, value: unknown, controller?: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const isDns = text.length > 0 && text.length <= 253 && !/^[\d.]+$/.test(text) && text.replace(/\.$/, '').split('.').every((l) => DNS_LABEL.test(l));
  if (typeof value !== 'string' || hasControl(value) || (!isIp(text) && !isDns)) {
    throw new Vns3ValidationError(field, value, 'must be an IP address or a DNS name', { controller });
  }
  return text;
}

/** A URL the controller downloads from: http or https only (never file:, javascript:, data:). */
export function checkHttpUrl(field: string, value: unknown, controller?: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' && !hasControl(value) ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new Vns3ValidationError(field, redactUrl(value), 'must be an http:// or https:// URL', { controller });
  }
  return value as string;
}

/** The text with any `user:password@` of a URL replaced, for showing in errors and events. */
export function redactUrl(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1[redacted]@');
}

/** A route interface: a name such as eth0, tun0 or vti1, or `_notset`. */
export const INTERFACE = /^(?:_notset|[A-Za-z0-9][A-Za-z0-9_.:@-]{0,31})$/;
/** A routing table name. */
export const TABLE = /^[A-Za-z0-9_-]{1,64}$/;
const ROUTE_FIELDS = new Set(['cidr', 'description', 'interface', 'gateway', 'advertise', 'metric', 'table', 'tunnel']);

/**
 * Checks the shape of every desired route before anything is read or written: an object with a
 * string `cidr`, string (single-line) text fields, `advertise` strictly boolean, `metric` and
 * `tunnel` whole numbers, no unknown field. Values are checked again after substitution.
 */
export function checkRouteShapes<T>(desired: unknown, controller?: string): readonly T[] {
  if (!Array.isArray(desired)) throw new Vns3ValidationError('routes', desired, 'must be an array of routes', { controller });
  desired.forEach((spec: unknown, i) => {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new Vns3ValidationError(`routes[${i}]`, spec, 'must be a route object', { controller });
    const r = spec as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!ROUTE_FIELDS.has(key)) throw new Vns3ValidationError(`routes[${i}].${key}`, r[key], 'is not a route field', { controller });
    }
    if (typeof r.cidr !== 'string') throw new Vns3ValidationError(`routes[${i}].cidr`, r.cidr, 'must be a CIDR string such as "10.0.0.0/16"', { controller });
    for (const f of ['description', 'interface', 'gateway', 'table'] as const) {
      const v = r[f];
      if (v !== undefined && (typeof v !== 'string' || hasControl(v) || v.length > 255)) {
        throw new Vns3ValidationError(`routes[${i}].${f}`, v, 'must be a single-line string of at most 255 characters', { controller });
      }
    }
    checkBoolean(`routes[${i}].advertise`, r.advertise, controller);
    for (const f of ['metric', 'tunnel'] as const) {
      const v = r[f];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)) {
        throw new Vns3ValidationError(`routes[${i}].${f}`, v, 'must be a whole number from 0 to 65535', { controller });
      }
    }
  });
  return desired as readonly T[];
}

