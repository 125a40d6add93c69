/**
 * The one request function under the typed verbs. URLs are built by openapi-fetch's own pure
 * functions, so a typed call and the same call through `client.raw` put the same bytes on the wire.
 * Without middleware the request goes straight to `send` (undici's request(), no WHATWG objects:
 * the measured CPU advantage); with middleware it goes through openapi-fetch, whose `fetch` is
 * `send` again, so that every middleware runs once per call exactly as openapi-fetch defines.
 */
import { createFinalURL, createQuerySerializer, defaultPathSerializer } from 'openapi-fetch';
import { createFetch } from './create-fetch.js';
import { Vns3ApiError, Vns3Error, Vns3ValidationError } from './errors.js';
import type { MiddlewareList } from './middleware.js';
import { readText, send, type CallSettings, type ResponseHeaders, type TransportContext } from './send.js';
import type { CallOptions } from './types.js';

/** The methods of the typed verbs. */
export type VerbMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** What a typed verb takes once its types have done their work. */
export type LooseInit = CallOptions & {
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> };
  body?: unknown;
};

/** What the request function needs of its client. */
export interface RequestTarget {
  ctx: TransportContext;
  baseUrl: string;
  middleware: MiddlewareList;
  raw: LooseRaw;
}

/** `client.raw.request` without the path typing: the typed verbs have checked their path already. */
export interface LooseRaw {
  request(method: string, path: string, init: Record<string, unknown>): Promise<{ data?: unknown; error?: unknown; response: Response }>;
}

/** One HTTP answer as the typed verbs judge it, whichever way it came. */
interface Reply {
  status: number;
  statusText: string;
  contentType: string;
  /** The success body as text ('' when empty). */
  text: string;
  /** The error body: parsed JSON, its text, or undefined when empty. */
  error: unknown;
}

/** Body and content type as the typed verbs send them. */
interface Payload {
  type: string;
  text: string;
}

const querySerializer = createQuerySerializer();

/**
 * Returns the core of the typed verbs: `request(method, path, options)` resolves with the
 * unwrapped `response` of a 2xx answer. Throws `Vns3ValidationError` for a bad `timeoutMs`,
 * `Vns3ApiError` for an HTTP error status, `Vns3Error` for a success body that is not JSON, and
 * whatever `send` throws (timeouts, connection failures, the caller's abort).
 */
export function createRequest(target: RequestTarget): (method: VerbMethod, path: string, options?: LooseInit) => Promise<unknown> {
  const { ctx, baseUrl, middleware } = target;
  const { host } = ctx;

  return async function request(method, path, options = {}) {
    const { params = {}, body, headers = {}, signal, timeoutMs, retry } = options;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw new Vns3ValidationError('timeoutMs', timeoutMs, 'must be a positive number of milliseconds', { controller: host });
    }
    const call: CallSettings = { timeoutMs, retry };
    const url = createFinalURL(path, { baseUrl, params, querySerializer, pathSerializer: defaultPathSerializer });
    const query = url.indexOf('?', baseUrl.length);
    const relative = url.slice(baseUrl.length, query === -1 ? undefined : query);
    const payload = serializeBody(body);

    const reply = middleware.active
      ? await throughMiddleware(target, call, { method, path, params, body, payload, headers, signal })
      : await direct(ctx, call, { method, url, path: relative, payload, headers, signal });
    if (reply.status < 200 || reply.status > 299) {
      throw new Vns3ApiError({ status: reply.status, statusText: reply.statusText, method, path: relative, host, body: reply.error });
    }
    return unwrap(parseBody(reply, `${method} ${relative} on ${host}`, host));
  };
}

/** The hot path: plain objects into undici's request(), no WHATWG Request or Response. */
async function direct(
  ctx: TransportContext,
  call: CallSettings,
  req: { method: string; url: string; path: string; payload: Payload | undefined; headers: Record<string, string>; signal: AbortSignal | undefined },
): Promise<Reply> {
  const { method, url, path, payload, signal } = req;
  const headers: Record<string, string> = payload ? { 'content-type': payload.type } : {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = value;
  }
  const answer = await send(ctx, call, { method, url, path, headers, body: payload?.text, signal }, readText);
  const ok = answer.status >= 200 && answer.status <= 299;
  return {
    status: answer.status,
    statusText: answer.statusText,
    contentType: contentType(answer.headers),
    text: answer.body,
    error: ok ? undefined : errorBody(answer.body),
  };
}

/**
 * With middleware: openapi-fetch builds the Request (from the same URL functions), runs the
 * middleware as it defines, and calls a fetch that carries this call's timeout and retry into `send`.
 */
async function throughMiddleware(
  target: RequestTarget,
  call: CallSettings,
  req: { method: string; path: string; params: LooseInit['params']; body: unknown; payload: Payload | undefined; headers: Record<string, string>; signal: AbortSignal | undefined },
): Promise<Reply> {
  const { method, path, params, body, payload, headers, signal } = req;
  const { data, error, response } = await target.raw.request(method, path, {
    params,
    body,
    bodySerializer: () => payload?.text,
    headers: payload ? { ...headers, 'content-type': payload.type } : headers,
    signal,
    parseAs: 'text',
    fetch: createFetch(target.ctx, call),
  });
  return {
    status: response.status,
    statusText: response.statusText,
    contentType: response.headers.get('content-type') ?? '',
    text: typeof data === 'string' ? data : '',
    error,
  };
}

/** Plain-text bodies (the license) go verbatim; everything else is JSON. */
function serializeBody(body: unknown): Payload | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? { type: 'text/plain', text: body } : { type: 'application/json', text: JSON.stringify(body) };
}

const LOOKS_JSON = /^\s*[[{"]/;

function parseBody(reply: Reply, request: string, host: string): unknown {
  const { text, contentType: type, status } = reply;
  if (text.length === 0) return undefined;
  if (type.includes('json') || (!type.startsWith('text/') && LOOKS_JSON.test(text))) {
    try {
      return JSON.parse(text);
    } catch {
      throw new Vns3Error(`${request} answered ${status} with a body that is not JSON`, { controller: host });
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

/** VNS3 wraps every success in `{"response": …}`; callers want what is inside. */
function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'response')) {
    return (value as { response: unknown }).response;
  }
  return value;
}
