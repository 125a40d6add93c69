/**
 * Typed errors of the SDK. Every error names the controller it is about, so a
 * failure inside a run over many controllers can be traced without a stack.
 *
 * None of these ever carries a request body, a header or a credential: bodies
 * hold licenses, keyset tokens and passwords, and errors end up in logs.
 */

export interface Vns3ErrorOptions {
  controller?: string;
  cause?: unknown;
}

export class Vns3Error extends Error {
  readonly controller?: string;

  constructor(message: string, options: Vns3ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Vns3Error';
    if (options.controller !== undefined) this.controller = options.controller;
  }
}

/** Longest excerpt of a non-JSON error body we keep; bodies can be whole HTML pages. */
const MAX_EXCERPT = 200;

export function excerpt(text: string, max = MAX_EXCERPT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface Vns3ApiErrorInit {
  status: number;
  statusText?: string;
  method: string;
  path: string;
  host: string;
  /** The parsed error body (JSON) or its text. */
  body?: unknown;
}

/** The controller answered with an HTTP error status. */
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
        ...(typeof name === 'string' ? { errorName: name } : {}),
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

export interface Vns3RequestErrorInit {
  method: string;
  path: string;
  host: string;
}

/** The request never got an HTTP answer: refused, reset, DNS, TLS or pin failure. */
export class Vns3ConnectionError extends Vns3Error {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  /** ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, a TLS code such as DEPTH_ZERO_SELF_SIGNED_CERT, or FINGERPRINT_MISMATCH. */
  readonly code?: string;

  constructor(init: Vns3RequestErrorInit & { code?: string; reason: string; cause?: unknown }) {
    const codePart = init.code && !init.reason.includes(init.code) ? ` (${init.code})` : '';
    super(`${init.method} ${init.path} on ${init.host} failed: ${init.reason}${codePart}`, {
      controller: init.host,
      cause: init.cause,
    });
    this.name = 'Vns3ConnectionError';
    this.method = init.method;
    this.path = init.path;
    this.host = init.host;
    if (init.code !== undefined) this.code = init.code;
  }
}

/** One attempt took longer than its `timeoutMs`. */
export class Vns3TimeoutError extends Vns3Error {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly timeoutMs: number;

  constructor(init: Vns3RequestErrorInit & { timeoutMs: number }) {
    super(`${init.method} ${init.path} on ${init.host} timed out after ${init.timeoutMs} ms`, {
      controller: init.host,
    });
    this.name = 'Vns3TimeoutError';
    this.method = init.method;
    this.path = init.path;
    this.host = init.host;
    this.timeoutMs = init.timeoutMs;
  }
}

/** Bad input, raised before any request is sent. */
export class Vns3ValidationError extends Vns3Error {
  readonly field: string;
  readonly value: unknown;

  constructor(
    field: string,
    value: unknown,
    reason: string,
    opts: { controller?: string; secret?: boolean } = {},
  ) {
    const shown = opts.secret ? '[redacted]' : formatValue(value);
    const where = opts.controller ? ` [controller ${opts.controller}]` : '';
    super(`Invalid ${field}: ${shown} (${reason})${where}`, opts.controller ? { controller: opts.controller } : {});
    this.name = 'Vns3ValidationError';
    this.field = field;
    this.value = opts.secret ? '[redacted]' : value;
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

/** True for an abort caused by the caller (not by our own per-attempt timeout). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Codes of failures in the TLS handshake or the pin check: nothing was sent, and waiting will not fix them. */
const TLS_FAILURE_CODE = /CERT|SSL|TLS|SELF_SIGNED|HOSTNAME|ALTNAME|FINGERPRINT_MISMATCH/i;

/** A certificate or pin failure: the controller is not the one expected (or not trusted). */
export function isTlsFailure(err: unknown): boolean {
  return err instanceof Vns3ConnectionError && err.code !== undefined && TLS_FAILURE_CODE.test(err.code);
}

/**
 * Whether a failed request may have been carried out all the same: the connection broke or the reply
 * did not come in time. A write that failed this way is never re-sent blindly: re-read, then decide.
 */
export function isOutcomeUnknown(err: unknown): boolean {
  return err instanceof Vns3TimeoutError || (err instanceof Vns3ConnectionError && !isTlsFailure(err));
}
