import createOpenApiClient, { type Client } from 'openapi-fetch';
import { Request as UndiciRequest, type Dispatcher } from 'undici';
import type { paths } from '../generated/vns3.js';
import { parseControllerAddress } from './address.js';
import { Vns3ApiError, Vns3Error, Vns3ValidationError } from './errors.js';
import {
  createFetch,
  send,
  type CallSettings,
  type Credentials,
  type RequestEvent,
  type ResponseHeaders,
  type TransportContext,
} from './fetch.js';
import { resolveRetry, type RetryOptions } from './retry.js';
import { createDispatcher } from './transport.js';
import type { AnyMedia, CallOptions, Vns3ClientFor } from './types.js';

export interface Vns3ClientOptions {
  /** "host", "host:port" (port 8000 by default) or a URL "https://h:p[/api]"; base path `/api`. */
  host: string;
  /** Default "api". */
  username?: string;
  /** Basic auth password. */
  password?: string;
  /** Sent in the `api-token` header instead of basic auth. */
  apiToken?: string;
  /** Trust this PEM (the controller's certificate or its CA). */
  ca?: string | Buffer;
  /** Pin the controller's certificate: "AB:CD:…" (any case) or plain hex. Works without `ca`. */
  fingerprint256?: string;
  /** Turns verification off; only `true` does. */
  insecure?: boolean;
  /** Per attempt; default 30 000. */
  timeoutMs?: number;
  /** Aborts every request of this client. */
  signal?: AbortSignal;
  retry?: RetryOptions | false;
  /** Sees every attempt: method, path, status or error code, timing. Never headers or bodies. */
  onRequest?: (event: RequestEvent) => void;
  /** Bring your own undici dispatcher; TLS options are then yours to set on it, and `close()` leaves it open. */
  dispatcher?: Dispatcher;
}

export type Vns3Client = Vns3ClientFor<paths>;

type LooseInit = CallOptions & { params?: Record<string, unknown>; body?: unknown };

export function createClient(options: Vns3ClientOptions): Vns3Client {
  if (options === null || typeof options !== 'object') {
    throw new Vns3ValidationError('options', options, 'createClient needs an options object');
  }
  const address = parseControllerAddress(options.host);
  const host = address.host;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Vns3ValidationError('timeoutMs', options.timeoutMs, 'must be a positive number of milliseconds', { controller: host });
  }
  const credentials: Credentials = { username: options.username ?? 'api' };
  if (options.password !== undefined) credentials.password = checkSecret('password', options.password, host);
  if (options.apiToken !== undefined) credentials.apiToken = checkSecret('apiToken', options.apiToken, host);
  if (address.protocol === 'http:' && (options.ca !== undefined || options.fingerprint256 !== undefined)) {
    throw new Vns3ValidationError('host', options.host, 'a CA or a fingerprint pin needs an https address', { controller: host });
  }

  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    createDispatcher({
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.fingerprint256 !== undefined ? { fingerprint256: options.fingerprint256 } : {}),
      ...(options.insecure === true ? { insecure: true } : {}),
    });

  const ctx: TransportContext = {
    host,
    basePath: address.basePath,
    dispatcher,
    credentials,
    timeoutMs,
    retry: resolveRetry(options.retry),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  };

  const raw = createOpenApiClient<paths, AnyMedia>({
    baseUrl: address.baseUrl,
    // undici 7's fetch refuses Node's global Request; both must come from undici.
    Request: UndiciRequest as unknown as typeof Request,
    fetch: createFetch(ctx),
  });

  async function call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, init: LooseInit = {}): Promise<unknown> {
    const { signal, timeoutMs: callTimeout, retry, headers: extra, params, body } = init;
    if (callTimeout !== undefined && (!Number.isFinite(callTimeout) || callTimeout <= 0)) {
      throw new Vns3ValidationError('timeoutMs', callTimeout, 'must be a positive number of milliseconds', { controller: host });
    }
    const settings: CallSettings = {
      ...(callTimeout !== undefined ? { timeoutMs: callTimeout } : {}),
      ...(retry !== undefined ? { retry } : {}),
    };
    const relative = fillPath(path, params?.path);
    const query = params?.query === undefined ? '' : serializeQuery(params.query);
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (body !== undefined) {
      // Plain-text bodies (the license) go verbatim; everything else is JSON.
      const isText = typeof body === 'string';
      headers['content-type'] = isText ? 'text/plain' : 'application/json';
      payload = isText ? body : JSON.stringify(body);
    }
    if (extra) {
      for (const [name, value] of Object.entries(extra)) {
        if (value !== undefined && value !== null) headers[name.toLowerCase()] = value;
      }
    }

    const answer = await send(ctx, settings, {
      method,
      url: address.baseUrl + relative + query,
      path: relative,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      ...(signal ? { signal } : {}),
    });
    const sent = { method, path: relative };
    if (answer.status < 200 || answer.status > 299) {
      throw new Vns3ApiError({ status: answer.status, statusText: answer.statusText, method, path: relative, host, body: errorBody(answer.text) });
    }
    return unwrap(parseBody(answer.text, contentType(answer.headers), answer.status, sent, host));
  }

  return {
    host,
    baseUrl: address.baseUrl,
    raw: raw as Client<paths, AnyMedia>,
    get: ((path: string, init?: LooseInit) => call('GET', path, init)) as Vns3Client['get'],
    put: ((path: string, init?: LooseInit) => call('PUT', path, init)) as Vns3Client['put'],
    post: ((path: string, init?: LooseInit) => call('POST', path, init)) as Vns3Client['post'],
    delete: ((path: string, init?: LooseInit) => call('DELETE', path, init)) as Vns3Client['delete'],
    setPassword(password: string) {
      credentials.password = checkSecret('password', password, host);
    },
    setApiToken(token: string) {
      credentials.apiToken = checkSecret('apiToken', token, host);
    },
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function checkSecret(field: string, value: unknown, host: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string', { controller: host, secret: true });
  }
  return value;
}

const LOOKS_JSON = /^\s*[[{"]/;

function parseBody(text: string, type: string, status: number, sent: { method: string; path: string }, host: string): unknown {
  if (text.length === 0) return undefined;
  if (type.includes('json') || (!type.startsWith('text/') && LOOKS_JSON.test(text))) {
    try {
      return JSON.parse(text);
    } catch {
      throw new Vns3Error(`${sent.method} ${sent.path} on ${host} answered ${status} with a body that is not JSON`, {
        controller: host,
      });
    }
  }
  return text;
}

/** As openapi-fetch reports an error body: parsed when it is JSON, the text otherwise, nothing when empty. */
function errorBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function contentType(headers: ResponseHeaders): string {
  const value = headers['content-type'];
  return (Array.isArray(value) ? value.join(', ') : value) ?? '';
}

const PATH_PARAM = /\{([^{}]+)\}/g;

/** `/routes/{route_id}` with `{ route_id: 7 }` → `/routes/7`; a missing parameter stays as written. */
function fillPath(path: string, values: unknown): string {
  if (values === null || typeof values !== 'object' || !path.includes('{')) return path;
  const record = values as Record<string, unknown>;
  return path.replace(PATH_PARAM, (match, name: string) => {
    const value = record[name];
    return value === undefined || value === null ? match : encodeURIComponent(String(value));
  });
}

/**
 * `?a=1&b=x&b=y`, encoded with encodeURIComponent as openapi-fetch does (a space is `%20`, not `+`);
 * undefined and null are left out, arrays repeat their key.
 */
function serializeQuery(query: unknown): string {
  if (query === null || typeof query !== 'object') return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    const key = encodeURIComponent(name);
    if (Array.isArray(value)) {
      for (const item of value) parts.push(`${key}=${encodeURIComponent(String(item))}`);
    } else {
      parts.push(`${key}=${encodeURIComponent(String(value))}`);
    }
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'response')) {
    return (value as { response: unknown }).response;
  }
  return value;
}
