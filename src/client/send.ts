/**
 * The transport under every request of a client: auth, the per-attempt timeout, retries, the
 * caller's abort, the `onRequest` event and the mapping of failures to typed errors. Everything
 * above it (the typed verbs, middleware, `client.raw`) ends here, in `send`.
 */
import { STATUS_CODES } from 'node:http';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { combineSignals, Deadline } from '../abort.js';
import { CertificateError } from './dispatcher.js';
import { excerpt, Vns3ConnectionError, Vns3TimeoutError, type Vns3RequestErrorInit } from './errors.js';
import { isIdempotent, isRetryableStatus, RetryableStatus, withRetry, type ResolvedRetry } from './retry.js';

/** What the `onRequest` hook sees of each attempt: never a header, a body or a credential. */
export interface RequestEvent {
  /** `host:port` of the controller. */
  host: string;
  method: string;
  /** Path below the API base, e.g. `/routes/3` (no query string). */
  path: string;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** ECONNREFUSED, FINGERPRINT_MISMATCH, TIMEOUT, ABORTED, … when no answer came. */
  error?: string;
  /** 1 for the first attempt. */
  attempt: number;
  durationMs: number;
  /** Whether another attempt follows this one. */
  willRetry: boolean;
}

/** Mutable on purpose: `setPassword` after `PUT /api_password` must reach requests already built. */
export interface Credentials {
  username: string;
  password?: string;
  apiToken?: string;
}

/** One client's settings, shared by all its requests. */
export interface TransportContext {
  host: string;
  basePath: string;
  dispatcher: Dispatcher;
  credentials: Credentials;
  timeoutMs: number;
  retry: ResolvedRetry;
  signal?: AbortSignal | undefined;
  onRequest?: ((event: RequestEvent) => void) | undefined;
  /** The encoded basic-auth header and what it was made from; filled in by the first request. */
  basicAuth?: { username: string; password: string; header: string };
}

/** One call's overrides of the client's settings. */
export interface CallSettings {
  timeoutMs?: number | undefined;
  /** Overrides the method's default: POST/DELETE opt in, GET/PUT may opt out. */
  retry?: boolean | undefined;
}

/** One request as `send` takes it. `headers` has lower-case names and is `send`'s to change (auth, accept). */
export interface SendRequest {
  /** Upper case. */
  method: string;
  url: string;
  /** Path below the API base, for events and errors. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | undefined;
  signal?: AbortSignal | undefined;
}

/** Response headers as undici gives them: lower-case names, repeated ones as arrays. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** The answer, its body read whole by the reader `send` was given. */
export interface Answer<B> {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  body: B;
}

/** Reads a whole response body; called inside the attempt, so that the timeout covers reading it. */
export type BodyReader<B> = (body: Dispatcher.ResponseData['body']) => Promise<B>;

/** The body as UTF-8 text, a leading BOM dropped (as `Response.text()` does). */
export const readText: BodyReader<string> = (body) => body.text();
/** The body byte for byte: raw callers may download binary files (snapshots, clientpacks). */
export const readBytes: BodyReader<Uint8Array> = (body) => body.bytes();

/**
 * Sends one request with the client's auth, per-attempt timeout, retries, abort and error
 * mapping. Each attempt is a fresh undici request; the body is read inside the attempt so that the
 * timeout also covers reading it, and so that a 503 can be drained and the request sent again.
 * Throws `Vns3TimeoutError`, `Vns3ConnectionError`, or the caller's abort reason; an HTTP error
 * status is an answer, not a throw.
 */
export async function send<B>(ctx: TransportContext, call: CallSettings, req: SendRequest, read: BodyReader<B>): Promise<Answer<B>> {
  const { method, path, headers } = req;
  applyAuth(headers, ctx);
  headers.accept ??= 'application/json';

  const outer = combineSignals(ctx.signal, req.signal);
  const timeoutMs = call.timeoutMs ?? ctx.timeoutMs;
  const report = (attempt: number, started: number, willRetry: boolean, outcome: { status: number } | { error: string }): void => {
    if (!ctx.onRequest) return;
    try {
      ctx.onRequest({ host: ctx.host, method, path, ...outcome, attempt, durationMs: Math.round(performance.now() - started), willRetry });
    } catch {
      // A logging hook must not turn a successful request into a failure.
    }
  };

  return withRetry<Answer<B>>(
    async ({ attempt, firstStartedAt, willRetry }) => {
      const started = performance.now();
      const deadline = new Deadline(timeoutMs, { signal: outer, unref: true });
      try {
        // undici's request() rather than its fetch(): every body is buffered anyway, and fetch's web
        // streams cost about a millisecond of CPU per request, which dominates mesh-wide runs.
        // request() never follows redirects, so the api-token header cannot travel elsewhere.
        const res = await undiciRequest(req.url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          body: req.body,
          signal: deadline.signal,
          dispatcher: ctx.dispatcher,
        });
        const status = res.statusCode;
        const answer: Answer<B> = { status, statusText: STATUS_CODES[status] ?? '', headers: res.headers, body: await read(res.body) };
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
        if (deadline.callerAborted) {
          report(attempt, started, false, { error: 'ABORTED' });
          throw outer!.reason;
        }
        const where = { method, path, host: ctx.host };
        const first = deadline.timedOut ? new Vns3TimeoutError({ ...where, timeoutMs }) : toConnectionError(err, where);
        const again = willRetry(first);
        // The last of several attempts says how many were made and for how long, so that a user does
        // not wonder whether retrying would have helped.
        const spent = { ...where, attempts: attempt, elapsedMs: performance.now() - firstStartedAt };
        const mapped = again || attempt < 2 ? first
          : first instanceof Vns3TimeoutError ? new Vns3TimeoutError({ ...spent, timeoutMs })
          : toConnectionError(err, spent);
        const code = mapped instanceof Vns3TimeoutError ? 'TIMEOUT' : (mapped.code ?? 'CONNECTION');
        report(attempt, started, again, { error: code });
        throw mapped;
      } finally {
        deadline.dispose();
      }
    },
    { policy: ctx.retry, retryable: call.retry ?? isIdempotent(method), signal: outer },
  );
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

/** `/api/routes/3` below the base path `/api` is `/routes/3`; a path outside the base stays whole. */
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
function toConnectionError(err: unknown, where: Vns3RequestErrorInit): Vns3ConnectionError {
  const root = rootCause(err);
  const code = errorCode(root);
  // Our own certificate errors carry advice and a 95-character fingerprint: keep them whole.
  const presented = root instanceof CertificateError ? root.fingerprint256 : undefined;
  const max = root instanceof CertificateError ? 600 : undefined;
  const reason = root instanceof Error && root.message ? excerpt(root.message, max) : 'connection failed';
  // No `code` property at all when there is none: an own `code: undefined` would print in logs.
  const cause = Object.assign(new Error(reason), code ? { code } : {});
  return new Vns3ConnectionError({ ...where, code, reason, fingerprint256: presented, cause });
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
