import { STATUS_CODES } from 'node:http';
import { Headers, request as undiciRequest, Response as UndiciResponse, type Dispatcher } from 'undici';
import { excerpt, Vns3ConnectionError, Vns3TimeoutError } from './errors.js';
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
}

export interface CallSettings {
  timeoutMs?: number;
  /** Overrides the method's default: POST/DELETE opt in, GET/PUT may opt out. */
  retry?: boolean;
  /** Filled in with what was sent, so that the caller can name the request in errors. */
  sent?: { method: string; path: string };
}

export type FetchFn = (request: Request) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The fetch given to openapi-fetch. Each attempt is a fresh undici request
 * with its own timeout; the body is buffered so that the timeout also covers
 * reading it, and so that a 503 can be drained and the request sent again.
 */
export function createFetch(ctx: TransportContext, call: CallSettings = {}): FetchFn {
  return async (request: Request) => {
    const method = request.method.toUpperCase();
    const path = relativePath(new URL(request.url).pathname, ctx.basePath);
    if (call.sent) {
      call.sent.method = method;
      call.sent.path = path;
    }
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers = new Headers(request.headers as unknown as Headers);
    applyAuth(headers, ctx.credentials);
    if (!headers.has('accept')) headers.set('accept', 'application/json');

    const callerSignals = [ctx.signal, request.signal].filter((s): s is AbortSignal => s !== undefined);
    const outer = callerSignals.length === 0 ? undefined : callerSignals.length === 1 ? callerSignals[0] : AbortSignal.any(callerSignals);
    const timeoutMs = call.timeoutMs ?? ctx.timeoutMs;
    const report = (attempt: number, started: number, willRetry: boolean, outcome: { status?: number; error?: string }) => {
      if (!ctx.onRequest) return;
      try {
        ctx.onRequest({ host: ctx.host, method, path, ...outcome, attempt, durationMs: Math.round(performance.now() - started), willRetry });
      } catch {
        // A logging hook must not turn a successful request into a failure.
      }
    };

    const response = await withRetry<UndiciResponse>(
      async ({ attempt, willRetry }) => {
        const started = performance.now();
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
        try {
          // undici's request() rather than its fetch(): we buffer every body anyway, and fetch's web
          // streams cost about a millisecond of CPU per request, which dominates mesh-wide runs.
          // request() never follows redirects, so the api-token header cannot travel elsewhere.
          const res = await undiciRequest(request.url, {
            method: method as Dispatcher.HttpMethod,
            headers: Object.fromEntries(headers),
            ...(body ? { body } : {}),
            signal,
            dispatcher: ctx.dispatcher,
          });
          const buffer = await res.body.arrayBuffer();
          const status = res.statusCode;
          const buffered = new UndiciResponse(NULL_BODY_STATUSES.has(status) ? null : buffer, {
            status,
            statusText: STATUS_CODES[status] ?? '',
            headers: responseHeaders(res.headers),
          });
          if (isRetryableStatus(status)) {
            const retryable = new RetryableStatus(buffered as unknown as Response);
            const again = willRetry(retryable);
            report(attempt, started, again, { status });
            if (again) throw retryable;
            return buffered;
          }
          report(attempt, started, false, { status });
          return buffered;
        } catch (err) {
          if (err instanceof RetryableStatus) throw err;
          if (outer?.aborted) {
            report(attempt, started, false, { error: 'ABORTED' });
            throw outer.reason;
          }
          const mapped = timeout.aborted
            ? new Vns3TimeoutError({ method, path, host: ctx.host, timeoutMs })
            : toConnectionError(err, { method, path, host: ctx.host });
          const code = mapped instanceof Vns3TimeoutError ? 'TIMEOUT' : (mapped.code ?? 'CONNECTION');
          report(attempt, started, willRetry(mapped), { error: code });
          throw mapped;
        }
      },
      { policy: ctx.retry, retryable: call.retry ?? isIdempotent(method), ...(outer ? { signal: outer } : {}) },
    );
    return response as unknown as Response;
  };
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

function applyAuth(headers: Headers, credentials: Credentials): void {
  if (credentials.apiToken !== undefined) {
    headers.set('api-token', credentials.apiToken);
    headers.delete('authorization');
  } else if (credentials.password !== undefined) {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    headers.set('authorization', `Basic ${basic}`);
  }
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
