import { STATUS_CODES } from 'node:http';
import { Headers, request as undiciRequest, Response as UndiciResponse, type Dispatcher } from 'undici';
import { excerpt, Vns3ConnectionError, Vns3TimeoutError } from './errors.js';
import { AttemptSignal, combineSignals } from './signal.js';
import { isIdempotent, isRetryableStatus, RetryableStatus, withRetry, type ResolvedRetry } from './retry.js';

/** What the `onRequest` hook sees of each attempt: never a header, a body or a credential. */
export interface RequestEvent {
  host: string;
  method: string;
  /** Path below the API base, e.g. `/routes/3` (no query string). */
  path: string;
  status?: number;
  /** ECONNREFUSED, FINGERPRINT_MISMATCH, TIMEOUT, ABORTED, … */
  error?: string;
  attempt: number;
  durationMs: number;
  willRetry: boolean;
}

/** Mutable on purpose: `setPassword` after `PUT /api_password` must reach requests already built. */
export interface Credentials {
  username: string;
  password?: string;
  apiToken?: string;
}

export interface TransportContext {
  host: string;
  basePath: string;
  dispatcher: Dispatcher;
  credentials: Credentials;
  timeoutMs: number;
  retry: ResolvedRetry;
  signal?: AbortSignal;
  onRequest?: (event: RequestEvent) => void;
  /** The encoded basic-auth header and what it was made from; filled in by the first request. */
  basicAuth?: { username: string; password: string; header: string };
}

export interface CallSettings {
  timeoutMs?: number;
  /** Overrides the method's default: POST/DELETE opt in, GET/PUT may opt out. */
  retry?: boolean;
  /** Filled in with what was sent, so that the caller can name the request in errors. */
  sent?: { method: string; path: string };
}

/** One request as `send` takes it. `headers` has lower-case names and is `send`'s to change (auth, accept). */
export interface SendRequest {
  /** Upper case. */
  method: string;
  url: string;
  /** Path below the API base, for events and errors. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface SendResult {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  /** The whole body as UTF-8 (a leading BOM dropped, as `Response.text()` does). */
  text: string;
}

interface Answer<B> {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  body: B;
}

type BodyReader<B> = (body: Dispatcher.ResponseData['body']) => Promise<B>;

const readText: BodyReader<string> = (body) => body.text();
const readBytes: BodyReader<Uint8Array> = (body) => body.bytes();

/**
 * Sends one request with the client's auth, per-attempt timeout, retries,
 * abort and error mapping. Each attempt is a fresh undici request; the body
 * is read inside the attempt so that the timeout also covers reading it, and
 * so that a 503 can be drained and the request sent again.
 */
export async function send(ctx: TransportContext, call: CallSettings, req: SendRequest): Promise<SendResult> {
  const answer = await exchange(ctx, call, req, readText);
  return { status: answer.status, statusText: answer.statusText, headers: answer.headers, text: answer.body };
}

export type FetchFn = (request: Request) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** The fetch given to openapi-fetch (`client.raw`): a Request in, `send`'s transport, a Response out. */
export function createFetch(ctx: TransportContext, call: CallSettings = {}): FetchFn {
  return async (request: Request) => {
    const headers: Record<string, string> = {};
    // Headers iterates lower-case names with repeated values already joined.
    for (const [name, value] of request.headers as unknown as Iterable<[string, string]>) headers[name] = value;
    const answer = await exchange(
      ctx,
      call,
      {
        method: request.method.toUpperCase(),
        url: request.url,
        path: relativePath(new URL(request.url).pathname, ctx.basePath),
        headers,
        ...(request.body ? { body: new Uint8Array(await request.arrayBuffer()) } : {}),
        signal: request.signal,
      },
      // Bytes rather than text: raw callers may download binary files (snapshots, clientpacks).
      readBytes,
    );
    const response = new UndiciResponse(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: responseHeaders(answer.headers),
    });
    return response as unknown as Response;
  };
}

async function exchange<B>(ctx: TransportContext, call: CallSettings, req: SendRequest, read: BodyReader<B>): Promise<Answer<B>> {
  const { method, path } = req;
  if (call.sent) {
    call.sent.method = method;
    call.sent.path = path;
  }
  const headers = req.headers;
  applyAuth(headers, ctx);
  if (headers.accept === undefined) headers.accept = 'application/json';

  const outer = combineSignals(ctx.signal, req.signal);
  const timeoutMs = call.timeoutMs ?? ctx.timeoutMs;
  const report = (attempt: number, started: number, willRetry: boolean, outcome: { status?: number; error?: string }) => {
    if (!ctx.onRequest) return;
    try {
      ctx.onRequest({ host: ctx.host, method, path, ...outcome, attempt, durationMs: Math.round(performance.now() - started), willRetry });
    } catch {
      // A logging hook must not turn a successful request into a failure.
    }
  };

  return withRetry<Answer<B>>(
    async ({ attempt, willRetry }) => {
      const started = performance.now();
      const deadline = new AttemptSignal(timeoutMs, outer);
      const signal = deadline.signal;
      try {
        // undici's request() rather than its fetch(): every body is buffered anyway, and fetch's web
        // streams cost about a millisecond of CPU per request, which dominates mesh-wide runs.
        // request() never follows redirects, so the api-token header cannot travel elsewhere.
        const res = await undiciRequest(req.url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
          signal,
          dispatcher: ctx.dispatcher,
        });
        const status = res.statusCode;
        const answer: Answer<B> = {
          status,
          statusText: STATUS_CODES[status] ?? '',
          headers: res.headers,
          body: await read(res.body),
        };
        if (isRetryableStatus(status)) {
          const retryable = new RetryableStatus(answer);
          const again = willRetry(retryable);
          report(attempt, started, again, { status });
          if (again) throw retryable;
          return answer;
        }
        report(attempt, started, false, { status });
        return answer;
      } catch (err) {
        if (err instanceof RetryableStatus) throw err;
        if (outer?.aborted) {
          report(attempt, started, false, { error: 'ABORTED' });
          throw outer.reason;
        }
        const mapped = deadline.timedOut
          ? new Vns3TimeoutError({ method, path, host: ctx.host, timeoutMs })
          : toConnectionError(err, { method, path, host: ctx.host });
        const code = mapped instanceof Vns3TimeoutError ? 'TIMEOUT' : (mapped.code ?? 'CONNECTION');
        report(attempt, started, willRetry(mapped), { error: code });
        throw mapped;
      } finally {
        deadline.dispose();
      }
    },
    { policy: ctx.retry, retryable: call.retry ?? isIdempotent(method), ...(outer ? { signal: outer } : {}) },
  );
}

function responseHeaders(raw: ResponseHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

function applyAuth(headers: Record<string, string>, ctx: TransportContext): void {
  const { credentials } = ctx;
  if (credentials.apiToken !== undefined) {
    headers['api-token'] = credentials.apiToken;
    if (headers.authorization !== undefined) delete headers.authorization;
  } else if (credentials.password !== undefined) {
    headers.authorization = basicAuth(ctx, credentials.username, credentials.password);
  }
}

/** Encoded once per password: `setPassword` replaces the password, and the next request re-encodes. */
function basicAuth(ctx: TransportContext, username: string, password: string): string {
  const cached = ctx.basicAuth;
  if (cached && cached.username === username && cached.password === password) return cached.header;
  const header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  ctx.basicAuth = { username, password, header };
  return header;
}

export function relativePath(pathname: string, basePath: string): string {
  if (basePath && pathname.startsWith(basePath)) {
    const rest = pathname.slice(basePath.length);
    if (rest === '' || rest.startsWith('/')) return rest === '' ? '/' : rest;
  }
  return pathname;
}

/**
 * undici reports network failures as `TypeError: fetch failed` with the real
 * error in `cause`. We keep only its message and code: the original objects
 * reach into sockets and requests, and a request holds the credentials.
 */
export function toConnectionError(err: unknown, where: { method: string; path: string; host: string }): Vns3ConnectionError {
  const root = rootCause(err);
  const code = errorCode(root);
  const message = root instanceof Error && root.message ? excerpt(root.message) : 'connection failed';
  const cause = Object.assign(new Error(message), code ? { code } : {});
  return new Vns3ConnectionError({ ...where, ...(code ? { code } : {}), reason: message, cause });
}

function rootCause(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 5; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0 && errorCode(current) === undefined) {
      current = current.errors[0];
      continue;
    }
    const next = current instanceof Error ? current.cause : undefined;
    if (next === undefined || next === null) return current;
    current = next;
  }
  return current;
}

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.length > 0) return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const c = errorCode(inner);
      if (c) return c;
    }
  }
  return undefined;
}
