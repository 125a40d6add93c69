/**
 * The ground floor: sleeping, deadlines and aborts. Every layer above (client, macros, HA, the
 * simulator's tests) waits through these few functions, so that a caller's `signal` and a
 * `timeoutMs` mean the same thing everywhere.
 *
 * Timers in Node fire after about 1 ms for any delay over 2^31−1 ms (≈ 24.8 days; Node prints a
 * TimeoutOverflowWarning), so long delays are split into chained timers instead of being clamped:
 * `waitForMesh({ timeoutMs: 1e10 })` must wait, not fail at once.
 */
import { setMaxListeners } from 'node:events';

/** The longest delay one Node timer can hold. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The reason a signal aborted with, or a standard `AbortError` when it gave none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Throws the signal's reason when it has aborted; does nothing otherwise. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** True for an abort caused by a caller's signal (a DOM `AbortError`), not for a timeout. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * Calls `fire` after `ms` (any length, `Infinity` never) unless cancelled. Returns the cancel
 * function. With `unref`, the pending timer alone does not keep the process alive.
 */
export function startTimer(ms: number, fire: () => void, unref = false): () => void {
  if (ms === Infinity) return () => undefined;
  let timer: ReturnType<typeof setTimeout>;
  let left = Math.max(0, ms);
  const arm = (): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fire, step);
    if (unref) timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * `ms` spread at random by ±`spread` (0.1 = ±10%), so that many clients or controllers waiting
 * together do not retry or probe in lock-step. The one jitter of the SDK: the poller, the macros'
 * reconcile pauses and the client's retry backoff all use it.
 */
export function jitter(ms: number, spread: number): number {
  return ms * (1 - spread + Math.random() * 2 * spread);
}

/** Resolves after `ms` (any length), or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(abortReason(signal!));
    };
    const cancel = startTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles with the promise, or rejects as soon as the signal aborts: work that ignores its signal
 * (a cloud SDK call, a user's probe) must not hold anybody past a deadline. The abandoned promise's
 * rejection is swallowed so that it cannot become an unhandled rejection later.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The caller's abort from two sources: either alone, or both (only then `AbortSignal.any`). */
export function combineSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}

/** How a {@link Deadline} is built. */
export interface DeadlineOptions {
  /** The caller's abort; the deadline's signal aborts with its reason. */
  signal?: AbortSignal | undefined;
  /** Let the process exit while only this deadline is pending (per-request timers do). */
  unref?: boolean;
}

/**
 * One signal for "the caller aborted or the time is up", and which of the two happened. The only
 * way this SDK builds a deadline: a cleared timer and one listener on the caller's signal, instead
 * of `AbortSignal.timeout` + `AbortSignal.any`, whose weak references and long timers outlive
 * thousands of short requests. Always `dispose()` it when the work ends.
 */
export class Deadline {
  /** Aborts at the deadline (reason: a DOM `TimeoutError`) or with the caller's reason. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds at which the time is up (`Infinity` for none). */
  readonly at: number;
  private readonly controller = new AbortController();
  private readonly cancelTimer: () => void;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort: (() => void) | undefined;

  /** Starts the clock: `timeoutMs` from now (`Infinity` for no limit but the caller's signal). */
  constructor(timeoutMs: number, options: DeadlineOptions = {}) {
    const { signal: outer, unref = false } = options;
    this.signal = this.controller.signal;
    this.at = Date.now() + timeoutMs;
    this.outer = outer;
    this.cancelTimer = startTimer(
      timeoutMs,
      () => this.controller.abort(new DOMException(`The operation timed out after ${timeoutMs} ms`, 'TimeoutError')),
      unref,
    );
    if (outer?.aborted) {
      this.controller.abort(abortReason(outer));
    } else if (outer) {
      // One caller signal commonly spans many concurrent deadlines (a macro across 64 controllers);
      // every listener is removed on dispose, so Node's leak warning at 11 listeners is noise.
      setMaxListeners(0, outer);
      this.onOuterAbort = () => this.controller.abort(abortReason(outer));
      outer.addEventListener('abort', this.onOuterAbort, { once: true });
    }
  }

  /** True when the time ran out (and not because the caller aborted first). */
  get timedOut(): boolean {
    return this.signal.aborted && !(this.outer?.aborted ?? false);
  }

  /** True when the caller's own signal aborted. */
  get callerAborted(): boolean {
    return this.outer?.aborted ?? false;
  }

  /** Milliseconds left, never below 0 (`Infinity` without a limit). */
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Stops the timer and forgets the caller's signal. */
  dispose(): void {
    this.cancelTimer();
    if (this.onOuterAbort) this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}
