/**
 * The one poller. Every wait of the SDK (the API across a reboot, keysets, the peering mesh, the
 * container system, image imports, and `pollUntil` itself) is an acceptor run by it, in the model
 * of the AWS SDK's waiters: the acceptor looks at the controller once and answers `success`,
 * `failure` or `retry`; the poller owns the backoff, the jitter, the deadline and the caller's
 * abort. Controllers reboot, generate keysets and import images in the background; instead of a
 * fixed number of pings at a fixed pace we probe often at first, back off, and return as soon as
 * the condition holds, never sleeping past the deadline.
 */
import { abortReason, Deadline, jitter, raceAbort, sleep, throwIfAborted } from '../../abort.js';
import { Vns3ValidationError } from '../../client/index.js';
import { checkDuration } from './validate.js';

/** What an acceptor concluded from one look. */
export type Verdict<T> =
  | { state: 'success'; value: T }
  | { state: 'failure'; error: unknown }
  /** Look again: after the grown interval, or (`reset`) after the first interval again. */
  | { state: 'retry'; backoff?: 'grow' | 'reset' };

/** What an acceptor gets for one look. */
export interface Look {
  /** Aborts at the deadline or on the caller's abort; pass it to every request. */
  signal: AbortSignal;
  /** 1 for the first look. */
  attempt: number;
  /** Milliseconds left before the deadline. */
  remainingMs(): number;
}

/** Looks once; may throw, which ends the wait with that error unless the deadline caused it. */
export type Acceptor<T> = (look: Look) => Promise<Verdict<T>>;

/** The timing of a poll, defaults merged and validated (see {@link resolveTiming}). */
export interface PollTiming {
  timeoutMs: number;
  intervalMs: number;
  maxIntervalMs: number;
  factor: number;
}

/** How a poll ended when it did not throw. */
export type PollOutcome<T> = { state: 'success'; value: T; attempts: number } | { state: 'timeout'; attempts: number };

/** Reported before each pause: for progress events. */
export interface PauseInfo {
  attempts: number;
  delayMs: number;
}

/**
 * Merges the caller's timing over the wait's defaults (an `undefined` field keeps the default) and
 * validates the result once. Throws Vns3ValidationError naming the field: `timeoutMs` must be
 * above 0 and at most 2^31−1 ms, or `Infinity` (the wait then ends only by its signal);
 * `intervalMs` and `maxIntervalMs` from 0 to 2^31−1 ms; `factor` a finite number ≥ 1.
 */
export function resolveTiming(options: Partial<PollTiming>, defaults: PollTiming): PollTiming {
  const timing: PollTiming = {
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    intervalMs: options.intervalMs ?? defaults.intervalMs,
    maxIntervalMs: options.maxIntervalMs ?? defaults.maxIntervalMs,
    factor: options.factor ?? defaults.factor,
  };
  checkDuration('timeoutMs', timing.timeoutMs, { allowInfinity: true });
  for (const field of ['intervalMs', 'maxIntervalMs'] as const) checkDuration(field, timing[field], { allowZero: true });
  if (typeof timing.factor !== 'number' || !Number.isFinite(timing.factor) || timing.factor < 1) {
    throw new Vns3ValidationError('factor', timing.factor, 'must be a finite number of at least 1');
  }
  return timing;
}

/**
 * Checks the timing fields a caller gave, before a macro's first request, so that a bad
 * `intervalMs` fails at once instead of after the writes that precede the wait; a
 * `requestTimeoutMs` too. Throws Vns3ValidationError naming the field.
 */
export function checkTiming(options: (Partial<PollTiming> & { requestTimeoutMs?: number }) | undefined): void {
  resolveTiming(options ?? {}, { timeoutMs: 1, intervalMs: 0, maxIntervalMs: 0, factor: 1 });
  if (options?.requestTimeoutMs !== undefined) checkDuration('requestTimeoutMs', options.requestTimeoutMs);
}

/**
 * Runs the acceptor until it answers `success` (returned) or `failure` (its error is thrown), or
 * the time is up (`{ state: 'timeout' }`: the caller decides what a timeout means). The caller's
 * abort rethrows its reason, during a look or a pause; a look that ignores its signal is abandoned
 * at the deadline. The first look is immediate; each `retry` pauses for the current interval with
 * jitter, never past the deadline, and then multiplies it by `factor` up to `maxIntervalMs`.
 */
export async function runPoller<T>(
  acceptor: Acceptor<T>,
  timing: PollTiming,
  options: { signal?: AbortSignal; onPause?: (info: PauseInfo) => void } = {},
): Promise<PollOutcome<T>> {
  const { signal, onPause } = options;
  throwIfAborted(signal);
  const deadline = new Deadline(timing.timeoutMs, { signal });
  let interval = timing.intervalMs;
  let attempts = 0;
  // Which of the two ended the poll decides between rethrowing and reporting a timeout.
  const stopped = (): PollOutcome<T> => {
    if (deadline.callerAborted) throw abortReason(signal!);
    return { state: 'timeout', attempts };
  };
  try {
    for (;;) {
      attempts++;
      let verdict: Verdict<T>;
      try {
        const look: Look = { signal: deadline.signal, attempt: attempts, remainingMs: () => deadline.remainingMs() };
        verdict = await raceAbort(acceptor(look), deadline.signal);
      } catch (error) {
        if (deadline.signal.aborted) return stopped();
        throw error;
      }
      if (verdict.state === 'success') return { state: 'success', value: verdict.value, attempts };
      if (verdict.state === 'failure') throw verdict.error;

      const remaining = deadline.remainingMs();
      if (remaining <= 0 || deadline.signal.aborted) return stopped();
      if (verdict.backoff === 'reset') interval = timing.intervalMs;
      const delayMs = Math.min(jitter(Math.min(interval, timing.maxIntervalMs), 0.1), remaining);
      if (verdict.backoff !== 'reset') interval = Math.min(interval * timing.factor, timing.maxIntervalMs);
      onPause?.({ attempts, delayMs });
      try {
        await sleep(delayMs, deadline.signal);
      } catch {
        return stopped();
      }
      if (deadline.remainingMs() <= 0) return stopped();
    }
  } finally {
    deadline.dispose();
  }
}
