import createOpenApiClient, { type Client } from 'openapi-fetch';
import type { Dispatcher } from 'undici';
import type { paths } from '../generated/vns3.js';
import { parseControllerAddress } from './address.js';
import { createFetch } from './create-fetch.js';
import { createDispatcher } from './dispatcher.js';
import { Vns3ValidationError } from './errors.js';
import { shareMiddleware } from './middleware.js';
import { createRequest, type LooseInit, type LooseRaw } from './request.js';
import { resolveRetry, type RetryOptions } from './retry.js';
import type { Credentials, RequestEvent, TransportContext } from './send.js';
import type { AnyMedia, Vns3ClientFor } from './types.js';

/** How `createClient` reaches and talks to one controller. */
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
  /** Retries of GET/PUT (and of calls that opt in); `false` for none. */
  retry?: RetryOptions | false;
  /** Sees every attempt: method, path, status or error code, timing. Never headers or bodies. */
  onRequest?: (event: RequestEvent) => void;
  /** Bring your own undici dispatcher; TLS options are then yours to set on it, and `close()` leaves it open. */
  dispatcher?: Dispatcher;
}

/** A client for the VNS3 API, typed from `spec/vns3.yaml`. */
export type Vns3Client = Vns3ClientFor<paths>;

/**
 * Creates a client for one controller. Nothing is sent until the first call. Throws
 * `Vns3ValidationError` for a bad host (a password inside a URL is never shown), timeout, retry
 * policy, fingerprint, username, a missing `password`/`apiToken` or one with control characters,
 * and for a CA or pin on an http address.
 *
 * Every request, typed verb or `client.raw`, goes through one transport (auth, TLS, per-attempt
 * timeout, retry, typed errors, the `onRequest` event). Middleware registered with `use` (or
 * `raw.use`, the same list) sees every request once, before retries and without credentials,
 * which the transport adds below it.
 */
export function createClient(options: Vns3ClientOptions): Vns3Client {
  if (options === null || typeof options !== 'object') {
    throw new Vns3ValidationError('options', options, 'createClient needs an options object');
  }
  const { host: hostInput, username = 'api', password, apiToken, ca, fingerprint256, insecure, timeoutMs = 30_000 } = options;
  const { signal, retry, onRequest, dispatcher: ownDispatcher } = options;
  const address = parseControllerAddress(hostInput);
  const { host, baseUrl } = address;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) {
    throw new Vns3ValidationError('timeoutMs', options.timeoutMs, 'must be a number of milliseconds above 0 and at most 2^31-1', { controller: host });
  }
  if (typeof username !== 'string' || username.length === 0 || username.length > 255 || /[\u0000-\u001f\u007f:]/.test(username)) {
    throw new Vns3ValidationError('username', username, 'must be a non-empty single-line string without ":"', { controller: host });
  }
  const credentials: Credentials = { username };
  if (password !== undefined) credentials.password = checkSecret('password', password, host);
  if (apiToken !== undefined) credentials.apiToken = checkSecret('apiToken', apiToken, host);
  if (address.protocol === 'http:' && (ca !== undefined || fingerprint256 !== undefined)) {
    throw new Vns3ValidationError('host', hostInput, 'a CA or a fingerprint pin needs an https address', { controller: host });
  }

  if (password === undefined && apiToken === undefined) {
    // Failing here, not at the first request, keeps a missing secret from looking like a network error.
    throw new Vns3ValidationError('password', undefined, 'a password or an apiToken is required', { controller: host, secret: true });
  }
  const dispatcher = ownDispatcher ?? createDispatcher({ ca, fingerprint256, insecure });
  const ctx: TransportContext = {
    host,
    basePath: address.basePath,
    dispatcher,
    credentials,
    timeoutMs,
    retry: resolveRetry(retry),
    signal,
    onRequest,
  };
  const raw = createOpenApiClient<paths, AnyMedia>({ baseUrl, fetch: createFetch(ctx) });
  const middleware = shareMiddleware(raw);
  const request = createRequest({ ctx, baseUrl, middleware, raw: raw as unknown as LooseRaw });

  return {
    host,
    baseUrl,
    raw: raw as Client<paths, AnyMedia>,
    get: ((path: string, options?: LooseInit) => request('GET', path, options)) as Vns3Client['get'],
    put: ((path: string, options?: LooseInit) => request('PUT', path, options)) as Vns3Client['put'],
    post: ((path: string, options?: LooseInit) => request('POST', path, options)) as Vns3Client['post'],
    delete: ((path: string, options?: LooseInit) => request('DELETE', path, options)) as Vns3Client['delete'],
    use: middleware.use,
    eject: middleware.eject,
    setPassword(newPassword: string) {
      credentials.password = checkSecret('password', newPassword, host);
    },
    setApiToken(token: string) {
      credentials.apiToken = checkSecret('apiToken', token, host);
    },
    async close() {
      if (ownDispatcher === undefined) await dispatcher.close();
    },
  };
}

function checkSecret(field: string, value: unknown, host: string): string {
  // A CR/LF in a header value would be refused by fetch and reported as a connection error.
  if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new Vns3ValidationError(field, value, 'must be a non-empty string without control characters', { controller: host, secret: true });
  }
  return value;
}
