/**
 * Typed errors of the SDK. Every error names the controller it is about, so a
 * failure inside a run over many controllers can be traced without a stack.
 *
 * None of these ever carries a request body, a header or a credential: bodies
 * hold licenses, keyset tokens and passwords, and errors end up in logs.
 */

/** What every SDK error may carry besides its message. */
export interface Vns3ErrorOptions {
  /** `host:port` of the controller the error is about. */
  controller?: string | undefined;
  cause?: unknown;
}

/**
 * The base of every error this SDK raises on purpose; raised itself when a controller answers
 * something the SDK cannot use (a success body that is not JSON). Catch it to catch them all.
 */
export class Vns3Error extends Error {
  /** `host:port` of the controller the error is about, when there is one. */
  readonly controller?: string;

  constructor(message: string, options: Vns3ErrorOptions = {}) {
    // No `cause` option at all without a cause: `{ cause: undefined }` makes an own property that prints.
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Vns3Error';
    if (options.controller !== undefined) this.controller = options.controller;
  }
}

/** Longest excerpt of a non-JSON error body we keep; bodies can be whole HTML pages. */
const MAX_EXCERPT = 200;

/** One line of at most `max` characters: error bodies and messages can be whole HTML pages. */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What `Vns3ApiError` is built from. */
export interface Vns3ApiErrorInit {
  status: number;
  statusText?: string;
  method: string;
  path: string;
  host: string;
  /** The parsed error body (JSON) or its text. */
  body?: unknown;
}

/**
 * Raised by the typed verbs (and the macros) when the controller answers with an HTTP status
 * outside 2xx, after any retries of 502/503. `client.raw` returns such answers as `error` instead.
 */
export class Vns3ApiError extends Vns3Error {
  readonly status: number;
  readonly errorName?: string;
  /** The controller's `error.message`, verbatim (automation compares it exactly). */
  readonly apiMessage: string;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly body?: unknown;

  constructor(init: Vns3ApiErrorInit) {
    const { apiMessage, errorName, body } = describeErrorBody(init.body, init.statusText, init.status);
    super(`${init.method} ${init.path} on ${init.host} failed with ${init.status}: ${apiMessage}`, {
      controller: init.host,
    });
    this.name = 'Vns3ApiError';
    this.status = init.status;
    if (errorName !== undefined) this.errorName = errorName;
    this.apiMessage = apiMessage;
    this.method = init.method;
    this.path = init.path;
    this.host = init.host;
    if (body !== undefined) this.body = body;
  }
}

function describeErrorBody(
  raw: unknown,
  statusText: string | undefined,
  status: number,
): { apiMessage: string; errorName?: string; body?: unknown } {
  const fallback = statusText && statusText.length > 0 ? statusText : `HTTP ${status}`;
  if (raw !== null && typeof raw === 'object') {
    const err = (raw as { error?: unknown }).error;
    if (err !== null && typeof err === 'object') {
      const { name, message } = err as { name?: unknown; message?: unknown };
      return {
        apiMessage: typeof message === 'string' ? message : fallback,
        errorName: typeof name === 'string' ? name : undefined,
        body: raw,
      };
    }
    // Some front ends answer `{"error": "text"}` or `{"message": "..."}`.
    if (typeof err === 'string') return { apiMessage: excerpt(err), body: raw };
    const message = (raw as { message?: unknown }).message;
    if (typeof message === 'string') return { apiMessage: excerpt(message), body: raw };
    return { apiMessage: fallback, body: raw };
  }
  if (typeof raw === 'string' && raw.trim().length > 0) {
    const text = excerpt(raw);
    return { apiMessage: text, body: text };
  }
  return { apiMessage: fallback };
}

/** Which request failed: what `Vns3ConnectionError` and `Vns3TimeoutError` are built from. */
export interface Vns3RequestErrorInit {
  method: string;
  path: string;
  host: string;
  /** Attempts made in all, when retries were made (2 or more). */
  attempts?: number | undefined;
  /** Time from the first attempt's start to the last one's failure, with `attempts`. */
  elapsedMs?: number | undefined;
}

/** ` after 5 attempts in 5.5 s`, or nothing for a single attempt: says that retrying already happened. */
function retriesPart(init: Vns3RequestErrorInit): string {
  if (init.attempts === undefined || init.attempts < 2) return '';
  const seconds = ((init.elapsedMs ?? 0) / 1000).toFixed(1);
  return ` after ${init.attempts} attempts in ${seconds} s`;
}

/** Copies `attempts`/`elapsedMs` onto an error when there were retries (no own `undefined` properties). */
function setAttempts(target: { attempts?: number; elapsedMs?: number }, init: Vns3RequestErrorInit): void {
  if (init.attempts === undefined || init.attempts < 2) return;
  target.attempts = init.attempts;
  target.elapsedMs = Math.round(init.elapsedMs ?? 0);
}

/**
 * Raised when a request gets no HTTP answer: connection refused or reset, DNS failure, a TLS
 * handshake failure or a certificate that does not match the pin (`code` says which), after any
 * retries. See `isOutcomeUnknown` before re-sending a write.
 */
export class Vns3ConnectionError extends Vns3Error {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  /** ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, a TLS code such as DEPTH_ZERO_SELF_SIGNED_CERT, or FINGERPRINT_MISMATCH. */
  readonly code?: string;
  /**
   * For a certificate failure: the SHA-256 fingerprint of the certificate the controller presented
   * (public, not a secret). Check it on the controller's console, then pass it as `fingerprint256`.
   */
  readonly fingerprint256?: string;
  /** Attempts made in all, when the request was retried. */
  readonly attempts?: number;
  /** Milliseconds from the first attempt to the last failure, when the request was retried. */
  readonly elapsedMs?: number;

  constructor(init: Vns3RequestErrorInit & { code?: string; reason: string; fingerprint256?: string | undefined; cause?: unknown }) {
    const codePart = init.code && !init.reason.includes(init.code) ? ` (${init.code})` : '';
    super(`${init.method} ${init.path} on ${init.host} failed${retriesPart(init)}: ${init.reason}${codePart}`, {
      controller: init.host,
      cause: init.cause,
    });
    this.name = 'Vns3ConnectionError';
    this.method = init.method;
    this.path = init.path;
    this.host = init.host;
    if (init.code !== undefined) this.code = init.code;
    if (init.fingerprint256 !== undefined) this.fingerprint256 = init.fingerprint256;
    setAttempts(this, init);
  }
}

/**
 * Raised when an attempt (sending, waiting for the answer, reading its body) takes longer than its
 * `timeoutMs` and no retry follows. The request may have been carried out all the same.
 */
export class Vns3TimeoutError extends Vns3Error {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly timeoutMs: number;
  /** Attempts made in all, when the request was retried. */
  readonly attempts?: number;
  /** Milliseconds from the first attempt to the last failure, when the request was retried. */
  readonly elapsedMs?: number;

  constructor(init: Vns3RequestErrorInit & { timeoutMs: number }) {
    const each = init.attempts !== undefined && init.attempts > 1 ? ' each' : '';
    super(`${init.method} ${init.path} on ${init.host} timed out after ${init.timeoutMs} ms${each}${retriesPart(init).replace(' after', ',')}`, {
      controller: init.host,
    });
    this.name = 'Vns3TimeoutError';
    this.method = init.method;
    this.path = init.path;
    this.host = init.host;
    this.timeoutMs = init.timeoutMs;
    setAttempts(this, init);
  }
}

/**
 * Raised when input is bad (an option, a CIDR, a peer id, a path parameter), before any request
 * is sent; `field` names the input. A secret's value is never kept (`[redacted]`).
 */
export class Vns3ValidationError extends Vns3Error {
  readonly field: string;
  readonly value: unknown;
  /** Why the value is refused, without field or value (for wrapping it in another message). */
  readonly reason: string;

  constructor(
    field: string,
    value: unknown,
    reason: string,
    options: { controller?: string | undefined; secret?: boolean } = {},
  ) {
    const { controller, secret = false } = options;
    const shown = secret ? '[redacted]' : formatValue(value);
    const where = controller ? ` [controller ${controller}]` : '';
    super(`Invalid ${field}: ${shown} (${reason})${where}`, { controller: controller || undefined });
    this.name = 'Vns3ValidationError';
    this.field = field;
    this.value = secret ? '[redacted]' : value;
    this.reason = reason;
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return excerpt(JSON.stringify(value), 120);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return excerpt(JSON.stringify(value) ?? String(value), 120);
  } catch {
    return String(value);
  }
}

/** Codes of failures in the TLS handshake or the pin check: nothing was sent, and waiting will not fix them. */
const TLS_FAILURE_CODE = /CERT|SSL|TLS|SELF_SIGNED|HOSTNAME|ALTNAME|FINGERPRINT_MISMATCH/i;

/** True for a certificate or pin failure: the controller is not the one expected (or not trusted). */
export function isTlsFailure(err: unknown): boolean {
  return err instanceof Vns3ConnectionError && err.code !== undefined && TLS_FAILURE_CODE.test(err.code);
}

/**
 * True when a failed request may have been carried out all the same: the connection broke or the reply
 * did not come in time. A write that failed this way is never re-sent blindly: re-read, then decide.
 */
export function isOutcomeUnknown(err: unknown): boolean {
  return err instanceof Vns3TimeoutError || (err instanceof Vns3ConnectionError && !isTlsFailure(err));
}

// Kept here too while other layers still import this file directly; `index.ts` is the way in.
export { isAbortError } from '../abort.js';
