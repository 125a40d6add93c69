import { Vns3ValidationError } from './errors.js';

/** VNS3 serves its API on 8000 unless someone put a proxy in front. */
export const DEFAULT_PORT = 8000;
/** Where VNS3 serves its API below the host. */
export const DEFAULT_BASE_PATH = '/api';

/** A controller address taken apart: what a client needs to reach it and to name it. */
export interface ControllerAddress {
  /** `host:port` (IPv6 in brackets): the controller's name in errors and events. */
  host: string;
  /** `https://host:port/api` without a trailing slash. */
  baseUrl: string;
  protocol: 'https:' | 'http:';
  /** The path prefix of `baseUrl`, e.g. `/api`; stripped from request paths in errors. */
  basePath: string;
}

/**
 * Accepts "host", "host:port", "[v6]:port", a bare IPv6 address, or a URL
 * "https://h[:p][/path]". A URL without a port still means port 8000: users
 * paste the controller's address, not a web page's. Throws `Vns3ValidationError` (field `host`)
 * for anything else.
 */
export function parseControllerAddress(input: string): ControllerAddress {
  // A password pasted into the URL (`https://api:secret@h`) must not reach an error message.
  const shown = redactUserinfo(input);
  const text = typeof input === 'string' ? input.trim() : '';
  if (text.length === 0) throw new Vns3ValidationError('host', shown, 'must be a host name, host:port or URL');
  // A line break or space would name the controller one way in errors and dial another.
  if (/[\u0000-\u0020\u007f]/.test(text) || /[\u0000-\u001f\u007f]/.test(input)) throw new Vns3ValidationError('host', shown, 'must not contain spaces or control characters');

  let protocol: 'https:' | 'http:' = 'https:';
  let rest = text;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'https' && name !== 'http') {
      throw new Vns3ValidationError('host', shown, 'the scheme must be https (or http)');
    }
    protocol = name === 'http' ? 'http:' : 'https:';
    rest = text.slice(scheme[0].length);
  }

  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  let path = slash === -1 ? '' : rest.slice(slash);
  if (/[?#]/.test(path) || authority.includes('@')) {
    throw new Vns3ValidationError('host', shown, 'must not contain credentials, a query or a fragment');
  }

  let hostname: string;
  let portText: string | undefined;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(authority);
  if (bracketed) {
    hostname = `[${bracketed[1]!}]`;
    portText = bracketed[2];
  } else if ((authority.match(/:/g) ?? []).length > 1) {
    // A bare IPv6 address cannot carry a port without brackets.
    if (!/^[0-9a-fA-F:.]+$/.test(authority)) throw new Vns3ValidationError('host', shown, 'is not a valid address');
    hostname = `[${authority}]`;
  } else {
    const m = /^([^:]+)(?::(\d*))?$/.exec(authority);
    if (!m) throw new Vns3ValidationError('host', shown, 'is not a valid host');
    hostname = m[1]!;
    portText = m[2];
    if (!/^[A-Za-z0-9._-]+$/.test(hostname)) throw new Vns3ValidationError('host', shown, 'is not a valid host name or IP address');
  }

  const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Vns3ValidationError('host', shown, 'the port must be from 1 to 65535');
  }

  path = path.replace(/\/+$/, '');
  const basePath = path === '' ? DEFAULT_BASE_PATH : path;
  const host = `${hostname}:${port}`;

  let parsed: URL;
  try {
    parsed = new URL(`${protocol}//${host}${basePath}`);
  } catch {
    throw new Vns3ValidationError('host', shown, 'is not a valid host');
  }
  return {
    host,
    baseUrl: `${protocol}//${host}${parsed.pathname.replace(/\/+$/, '')}`,
    protocol,
    basePath: parsed.pathname.replace(/\/+$/, ''),
  };
}

/**
 * The text with the `user:password@` part of a URL (or of a bare `user:pass@host`) replaced by
 * `[redacted]@`, for error messages and events. Anything but a string is returned as is.
 */
export function redactUserinfo(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(value);
  const start = scheme ? scheme[0].length : 0;
  const slash = value.indexOf('/', start);
  if (slash !== -1 && slash < at) return value;
  return `${value.slice(0, start)}[redacted]${value.slice(at)}`;
}
