/**
 * `pollUntil`: the public, general-purpose waiter. Its acceptor probes, compares with `done`, and
 * retries probe errors unless `fatal` says waiting cannot help. The container-system, image and
 * mesh waits are built on it.
 */
import { emit, type Vns3EventHandler } from '../../events.js';
import { Vns3WaitTimeoutError } from './errors.js';
import { resolveTiming, runPoller, type PollTiming, type Verdict } from './poller.js';

/** The timing and reporting of a wait. */
export interface WaitOptions {
  /** Overall limit; default 60 000 ms. `Infinity` waits until the signal aborts. */
  timeoutMs?: number;
  /** First interval between probes; default 250 ms. */
  intervalMs?: number;
  /** Cap on the interval; default 5000 ms. */
  maxIntervalMs?: number;
  /** Growth of the interval after each unsuccessful probe; default 1.5. */
  factor?: number;
  /** The caller's abort: rethrown as its reason. */
  signal?: AbortSignal;
  onEvent?: Vns3EventHandler;
}

/** What `pollUntil` waits for, and how it looks. */
export interface PollSpec<S> {
  /** What is awaited, for messages: "keyset generation", "API after reboot". */
  what: string;
  controller: string;
  /** Reads the current state; its signal aborts at the deadline or on the caller's abort. */
  probe: (signal: AbortSignal) => Promise<S>;
  done: (state: S) => boolean;
  /** Short, secret-free description of a state for events and the timeout message. */
  describe?: (state: S) => string;
  /** Errors from probe are retried while time remains, unless this returns true: then they are rethrown at once. */
  fatal?: (error: unknown) => boolean;
}

/** The defaults of every wait built on `pollUntil`, unless the wait says otherwise. */
export const WAIT_DEFAULTS: PollTiming = { timeoutMs: 60_000, intervalMs: 250, maxIntervalMs: 5_000, factor: 1.5 };

const SECRET_KEY = /pass|token|secret|key|license|credential/i;

/** Default state description: short, with secret-looking fields redacted. */
function defaultDescribe(state: unknown): string {
  let text: string;
  if (state === undefined || state === null || typeof state !== 'object') {
    text = String(state);
  } else {
    try {
      text = JSON.stringify(state, (k, v: unknown) => (k && SECRET_KEY.test(k) ? '[redacted]' : v));
    } catch {
      text = Object.prototype.toString.call(state);
    }
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Probes until `done` holds and returns that state. Throws Vns3ValidationError for bad timing
 * options (naming the field), the caller's abort reason when its signal aborts, the probe's error
 * when `fatal` says so, and Vns3WaitTimeoutError (with the last state and the last probe error)
 * when the time runs out.
 */
export async function pollUntil<S>(spec: PollSpec<S>, options: WaitOptions = {}): Promise<S> {
  const timing = resolveTiming(options, WAIT_DEFAULTS);
  const { signal, onEvent } = options;
  const describe = spec.describe ?? defaultDescribe;
  const base = { controller: spec.controller, step: 'wait' };
  const started = Date.now();
  let lastState: string | undefined;
  let lastError: string | undefined;
  let note = '';

  const acceptor = async ({ signal: lookSignal }: { signal: AbortSignal }): Promise<Verdict<S>> => {
    try {
      const state = await spec.probe(lookSignal);
      if (spec.done(state)) return { state: 'success', value: state };
      lastState = describe(state);
      lastError = undefined;
      note = `not yet (${lastState})`;
    } catch (error) {
      if (lookSignal.aborted) throw error;
      if (spec.fatal?.(error)) return { state: 'failure', error };
      lastError = errorText(error);
      note = `probe failed (${lastError})`;
    }
    return { state: 'retry' };
  };

  if (!signal?.aborted) emit(onEvent, { ...base, level: 'debug', detail: `waiting for ${spec.what}` });
  const outcome = await runPoller(acceptor, timing, {
    signal,
    onPause: ({ attempts, delayMs }) =>
      emit(onEvent, { ...base, level: 'debug', detail: `${spec.what}: ${note}, next probe in ${Math.round(delayMs)} ms`, data: { attempts, delayMs } }),
  });
  const data = { attempts: outcome.attempts, elapsedMs: Date.now() - started };
  if (outcome.state === 'success') {
    // Debug: the macro that waited reports the result in its own words (`keyset present`).
    emit(onEvent, { ...base, level: 'debug', detail: `${spec.what}: done`, data });
    return outcome.value;
  }
  emit(onEvent, { ...base, level: 'warn', detail: `gave up waiting for ${spec.what}`, data });
  throw new Vns3WaitTimeoutError({ what: spec.what, controller: spec.controller, timeoutMs: timing.timeoutMs, lastState, lastError });
}
