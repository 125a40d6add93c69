/**
 * Polling with capped exponential backoff. Controllers reboot, generate
 * keysets and import images in the background; instead of a fixed number of
 * pings at a fixed pace we probe often at first, back off, and return as soon
 * as the condition holds — never sleeping past the caller's deadline.
 */
import { emit, type Vns3EventHandler } from '../events.js';
import { Vns3WaitTimeoutError } from './errors.js';

export interface WaitOptions {
  /** Overall limit; default 60 000 ms. `Infinity` waits until the signal aborts. */
  timeoutMs?: number;
  /** First interval between probes; default 250 ms. */
  intervalMs?: number;
  /** Cap on the interval; default 5000 ms. */
  maxIntervalMs?: number;
  /** Growth of the interval after each unsuccessful probe; default 1.5. */
  factor?: number;
  signal?: AbortSignal;
  onEvent?: Vns3EventHandler;
}

export interface PollSpec<S> {
  /** What is awaited, for messages: "keyset generation", "API after reboot". */
  what: string;
  controller: string;
  /** Reads the current state; its signal aborts at the deadline or on the caller's abort. */
  probe: (signal: AbortSignal) => Promise<S>;
  done: (s: S) => boolean;
  /** Short, secret-free description of a state for events and the timeout message. */
  describe?: (s: S) => string;
  /** Errors from probe are retried while time remains, unless this returns true: then they are rethrown at once. */
  fatal?: (err: unknown) => boolean;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;
export const DEFAULT_WAIT_INTERVAL_MS = 250;
export const DEFAULT_WAIT_MAX_INTERVAL_MS = 5_000;
export const DEFAULT_WAIT_FACTOR = 1.5;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles with the promise, or rejects as soon as the signal aborts (a probe that ignores its signal must not hold us past the deadline). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      p.catch(() => undefined);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const SECRET_KEY = /pass|token|secret|key|license|credential/i;

/** Default state description: short, with secret-looking fields redacted. */
function defaultDescribe(s: unknown): string {
  let text: string;
  if (s === undefined || s === null || typeof s !== 'object') {
    text = String(s);
  } else {
    try {
      text = JSON.stringify(s, (k, v: unknown) => (k && SECRET_KEY.test(k) ? '[redacted]' : v));
    } catch {
      text = Object.prototype.toString.call(s);
    }
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function checkPositive(name: string, v: number, allowInfinity = false): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (!allowInfinity && !Number.isFinite(v))) {
    throw new RangeError(`${name} must be a non-negative number, got ${String(v)}`);
  }
}

/**
 * Probes until `done` holds and returns that state. Caller abort rethrows the
 * abort reason; running out of time throws Vns3WaitTimeoutError with the last
 * state and the last probe error seen.
 */
export async function pollUntil<S>(spec: PollSpec<S>, opts: WaitOptions = {}): Promise<S> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const maxIntervalMs = opts.maxIntervalMs ?? DEFAULT_WAIT_MAX_INTERVAL_MS;
  const factor = opts.factor ?? DEFAULT_WAIT_FACTOR;
  let interval = opts.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  checkPositive('timeoutMs', timeoutMs, true);
  checkPositive('intervalMs', interval);
  checkPositive('maxIntervalMs', maxIntervalMs);
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor)) {
    throw new RangeError(`factor must be a finite number of at least 1, got ${String(factor)}`);
  }

  const { signal: callerSignal, onEvent } = opts;
  if (callerSignal?.aborted) throw abortReason(callerSignal);

  const started = Date.now();
  const deadline = started + timeoutMs;
  const describe = spec.describe ?? defaultDescribe;
  const step = 'wait';
  const base = { controller: spec.controller, step };

  // One signal for everything inside the poll: it fires at the deadline or on the caller's abort.
  const inner = new AbortController();
  const timedOut = new Error(`deadline for ${spec.what}`);
  const deadlineTimer = Number.isFinite(timeoutMs) ? setTimeout(() => inner.abort(timedOut), timeoutMs) : undefined;
  const onCallerAbort = (): void => inner.abort(abortReason(callerSignal!));
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

  let lastState: string | undefined;
  let lastError: string | undefined;
  let attempts = 0;
  const timeout = (): Vns3WaitTimeoutError => {
    emit(onEvent, { ...base, level: 'warn', detail: `gave up waiting for ${spec.what}`, data: { attempts, elapsedMs: Date.now() - started } });
    return new Vns3WaitTimeoutError({ what: spec.what, controller: spec.controller, timeoutMs, lastState, lastError });
  };
  // Which of the two reasons ended the poll decides between rethrowing and a timeout error.
  const stopped = (): never => {
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    throw timeout();
  };

  try {
    emit(onEvent, { ...base, level: 'debug', detail: `waiting for ${spec.what}` });
    for (;;) {
      attempts++;
      let note: string;
      try {
        const state = await raceAbort(spec.probe(inner.signal), inner.signal);
        if (spec.done(state)) {
          emit(onEvent, { ...base, detail: `${spec.what}: done`, data: { attempts, elapsedMs: Date.now() - started } });
          return state;
        }
        lastState = describe(state);
        lastError = undefined;
        note = `not yet (${lastState})`;
      } catch (e) {
        if (inner.signal.aborted) stopped();
        if (spec.fatal?.(e)) throw e;
        lastError = errorText(e);
        note = `probe failed (${lastError})`;
      }

      const remaining = deadline - Date.now();
      if (remaining <= 0) stopped();
      // +/-10% jitter so that many controllers polled together do not probe in lock-step.
      const delayMs = Math.min(Math.min(interval, maxIntervalMs) * (0.9 + Math.random() * 0.2), remaining);
      emit(onEvent, { ...base, level: 'debug', detail: `${spec.what}: ${note}, next probe in ${Math.round(delayMs)} ms`, data: { attempts, delayMs } });
      try {
        await sleep(delayMs, inner.signal);
      } catch {
        stopped();
      }
      if (Date.now() >= deadline) stopped();
      interval = Math.min(interval * factor, maxIntervalMs);
    }
  } finally {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}
