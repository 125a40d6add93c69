/**
 * Parsers for single HA settings, as they arrive from vars.yml (YAML values) or
 * from `HAENV_` variables (always strings): each coerces both forms to one
 * type or throws `BadValue` with a reason phrased for the operator. The
 * caller attaches the key, origin and shown value, so no parser ever echoes
 * what it was given (a value may be a password).
 */
import { load } from 'js-yaml';
import { isIPv4, isIp } from '../net/index.js';
import { BadValue } from './errors.js';

/** A string, trimmed; numbers and booleans as written. */
export function str(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new BadValue('must be a string');
}
/** One of `allowed`, any case. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  return (v: unknown): T => {
    const s = str(v).toLowerCase();
    if ((allowed as readonly string[]).includes(s)) return s as T;
    throw new BadValue(`must be one of ${allowed.join(', ')}`);
  };
}
/** An IPv4 or IPv6 address. */
export function ip(v: unknown): string {
  const s = str(v);
  if (!isIp(s)) throw new BadValue('must be an IP address');
  return s;
}
/** An IPv4 address (the overlay is IPv4 only). */
export function ipv4(v: unknown): string {
  const s = str(v);
  if (!isIPv4(s)) throw new BadValue('must be an IPv4 address');
  return s;
}
/** A number within bounds, from a YAML number or a decimal string. */
export function num(options: { min: number; integer?: boolean; max?: number; unit?: string }) {
  return (v: unknown): number => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
    const what = options.integer ? 'a whole number' : `a number${options.unit ? ` of ${options.unit}` : ''}`;
    const range = options.max === undefined ? `at least ${options.min}` : `from ${options.min} to ${options.max}`;
    if (!Number.isFinite(n) || (options.integer && !Number.isInteger(n)) || n < options.min || (options.max !== undefined && n > options.max)) {
      throw new BadValue(`must be ${what}, ${range}`);
    }
    return n;
  };
}
/** true/false, yes/no, 1/0, on/off. */
export function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const s = typeof v === 'number' || typeof v === 'string' ? String(v).trim().toLowerCase() : '';
  if (['true', 'yes', '1', 'on'].includes(s)) return true;
  if (['false', 'no', '0', 'off'].includes(s)) return false;
  throw new BadValue('must be true or false (also yes/no, 1/0)');
}
/** An http(s) URL, trailing slashes dropped. */
export function url(v: unknown): string {
  const s = str(v);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new BadValue('must be a URL such as https://10.0.1.10:8000');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new BadValue('must be an http(s) URL');
  return s.replace(/\/+$/, '');
}
/** A SHA-256 fingerprint, normalised to upper-case hex pairs joined by colons. */
export function fingerprint(v: unknown): string {
  const hex = str(v).replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new BadValue('must be a SHA-256 fingerprint (64 hex digits, colons optional)');
  return hex.match(/../g)!.join(':');
}
/** A string that is not blank. */
export function nonEmpty(v: unknown): string {
  const s = str(v);
  if (s === '') throw new BadValue('must not be empty');
  return s;
}
/** Tags as a map; from the environment as `env=prod,role=vns3` or a YAML/JSON map. */
export function tags(v: unknown): Record<string, string> {
  let m: unknown = v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('{')) {
      try {
        m = load(s, { json: true });
      } catch {
        throw new BadValue('is not a valid YAML/JSON map');
      }
    } else {
      const out: Record<string, string> = {};
      for (const pair of s.split(',').map((p) => p.trim()).filter(Boolean)) {
        const eq = pair.search(/[=:]/);
        if (eq <= 0) throw new BadValue('must be a map, e.g. env=prod,role=vns3');
        out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      }
      return out;
    }
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new BadValue('must be a map of tag name to value');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(m)) {
    if (val !== null && typeof val === 'object') throw new BadValue(`tag ${JSON.stringify(k)} must have a plain value`);
    out[k] = String(val ?? '');
  }
  return out;
}

/** The controller API's default URL; an IPv6 host needs brackets. */
export function apiUrlFor(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Empty counts as unset, so that a blank `HAENV_X=` or `x:` in vars.yml takes the default. */
export function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/**
 * A list setting (`standbys`, `observers`): YAML already parsed, or JSON text from the environment.
 * Returns undefined after reporting to `bad` when it is neither; the text may hold passwords, so it is
 * never echoed. `shape` describes one entry for the message.
 */
export function listSetting(key: string, value: unknown, shape: string, bad: (key: string, reason: string) => void): unknown[] | undefined {
  let list = value;
  if (typeof list === 'string') {
    try {
      list = load(list, { json: true });
    } catch {
      bad(key, `is not valid JSON (expected a list of ${shape})`);
      return undefined;
    }
  }
  if (!Array.isArray(list)) {
    bad(key, `must be a list of ${shape}`);
    return undefined;
  }
  return list;
}
