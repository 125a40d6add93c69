import { jitter, sleep, throwIfAborted } from '../abort.js';
import { Vns3ConnectionError, Vns3TimeoutError, Vns3ValidationError } from './errors.js';

/** The client's retry policy: how many retries and how long to back off between them. */
export interface RetryOptions {
  /** Retries after the first attempt; default 4. */
  retries?: number;
  /** First backoff delay; doubled per retry and randomised by ×1–2. Default 200. */
  minTimeoutMs?: number;
  /** Cap of one backoff delay. Default 5000. */
  maxTimeoutMs?: number;
}

/** `RetryOptions` with its defaults filled in and checked. */
export interface ResolvedRetry {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/** `retry: false`. */
export const NO_RETRY: ResolvedRetry = { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 };

/** Fills in the defaults; throws `Vns3ValidationError` naming the field for a negative or non-finite number. */
export function resolveRetry(options: RetryOptions | false | undefined): ResolvedRetry {
  if (options === false) return NO_RETRY;
  const { retries = 4, minTimeoutMs = 200, maxTimeoutMs: cap = 5_000 } = options ?? {};
  const maxTimeoutMs = Math.max(minTimeoutMs, cap);
  for (const [name, value] of [['retries', retries], ['minTimeoutMs', minTimeoutMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new Vns3ValidationError(`retry.${name}`, value, 'must be a finite number ≥ 0');
  }
  return { retries: Math.floor(retries), minTimeoutMs, maxTimeoutMs };
}

/**
 * Statuses a controller answers while it reboots (the web front is up before
 * the API behind it) or right after an admin UI change.
 */
const RETRYABLE_STATUSES = new Set([502, 503]);

/** Failures where the request surely or harmlessly did not take effect on the controller. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * GET and PUT are idempotent on VNS3 (PUT sets state), so they may be sent
 * again. POST and DELETE are not: a POST /routes that reached the controller
 * before the connection broke would add the route twice, so the caller must
 * re-read and decide, or opt in with `retry: true`.
 */
export function isIdempotent(method: string): boolean {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'PUT' || m === 'HEAD' || m === 'OPTIONS';
}

/** True for the statuses worth another attempt of an idempotent request: 502 and 503. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** Whether a failed attempt may be repeated, given that the request itself is safe to repeat. */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof RetryableStatus) return true;
  if (err instanceof Vns3TimeoutError) return true;
  if (err instanceof Vns3ConnectionError) return err.code !== undefined && RETRYABLE_CODES.has(err.code);
  return false;
}

/** Thrown inside an attempt so that `withRetry` retries a 502/503; the last one is returned, not thrown. */
export class RetryableStatus<R extends { status: number } = { status: number }> extends Error {
  constructor(readonly response: R) {
    super(`HTTP ${response.status}`);
    this.name = 'RetryableStatus';
  }
}

/** What `withRetry` tells each attempt. */
export interface AttemptInfo {
  attempt: number;
  /** `performance.now()` when the first attempt started, for "N attempts in X s" in errors. */
  firstStartedAt: number;
  /** Whether a failure of this attempt will be followed by another one. */
  willRetry(err: unknown): boolean;
}

/** The wait before retry number `retry` (1-based): doubled per retry, randomised ×1–2, capped. */
export function backoffMs(policy: ResolvedRetry, retry: number): number {
  // ×1–2 of the doubled delay: the middle, 1.5×, spread by a third either way.
  const delay = jitter(1.5 * policy.minTimeoutMs * 2 ** (retry - 1), 1 / 3);
  return Math.min(delay, policy.maxTimeoutMs);
}

/**
 * Runs `attempt` with exponential, jittered backoff. `signal` stops both the
 * waiting and further attempts; its reason is thrown as is. (Our own loop rather than p-retry:
 * that package is ESM-only, and the SDK must load with `require()` on Node 20.18.)
 */
export async function withRetry<T>(
  attempt: (info: AttemptInfo) => Promise<T>,
  options: { policy: ResolvedRetry; retryable: boolean; signal?: AbortSignal | undefined },
): Promise<T> {
  const { policy, retryable, signal } = options;
  const canRetry = (err: unknown, attemptNumber: number): boolean =>
    retryable && attemptNumber <= policy.retries && !signal?.aborted && isRetryableError(err);
  const firstStartedAt = performance.now();

  for (let attemptNumber = 1; ; attemptNumber++) {
    throwIfAborted(signal);
    try {
      return await attempt({ attempt: attemptNumber, firstStartedAt, willRetry: (err) => canRetry(err, attemptNumber) });
    } catch (err) {
      if (!canRetry(err, attemptNumber)) {
        // Once retries are spent, a 502/503 is an ordinary HTTP answer for the caller to see.
        if (err instanceof RetryableStatus) return err.response as T;
        throw err;
      }
    }
    await sleep(backoffMs(policy, attemptNumber), signal);
  }
}
