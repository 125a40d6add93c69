/**
 * The option and result shapes every macro shares. They sit below bulk runs and errors so that
 * both can name a `BulkResult` without importing each other.
 */
import type { Vns3EventHandler } from '../../events.js';

/**
 * How long a macro keeps re-reading and re-planning a controller after transient failures (5xx,
 * dropped connections, timeouts, a reboot): every macro accepts it as `retryBudget`. Each attempt
 * reads the controller first, so a write is re-sent only after a read showed it did not land.
 */
export interface RetryBudget {
  /**
   * Attempts per controller that end in a transient failure without any write having succeeded,
   * the first included; default 12. An attempt that wrote something does not count. `1` gives up
   * at the first transient failure that made no progress.
   */
  attempts?: number;
  /** No new attempt starts after this long from the macro's start; default 600 000 ms (at most 2^31−1). */
  timeoutMs?: number;
  /** First pause between attempts, doubled each time, with jitter; default 250 ms. */
  minDelayMs?: number;
  /** Cap of one pause; default 5 000 ms. */
  maxDelayMs?: number;
}

/** Options every macro that talks to a controller accepts. */
export interface MacroOptions {
  /** Re-read, re-plan and re-write after transient failures within this budget (see {@link RetryBudget}). */
  retryBudget?: RetryBudget;
  /** The caller's abort: every request and wait of the macro stops with its reason. */
  signal?: AbortSignal;
  /** Structured progress: controller, step, detail. Never carries a secret. */
  onEvent?: Vns3EventHandler;
}

/** Options of macros that wait for a controller to reach a state. */
export interface WaitingMacroOptions extends MacroOptions {
  /** Overall limit of the wait. */
  timeoutMs?: number;
  /** First poll interval; later ones back off. */
  intervalMs?: number;
}

/** Options of macros that act on many controllers at once. */
export interface BulkMacroOptions extends MacroOptions {
  /** How many controllers are worked on at the same time (default 16). */
  concurrency?: number;
}

/** Options of macros whose requests the caller may bound or make single-attempt. */
export interface RequestOptions extends MacroOptions {
  /** Limit of each request attempt; default the client's. */
  requestTimeoutMs?: number;
  /** `false` makes each request one attempt (polls do this); default the client's policy. */
  retry?: boolean;
}

/** The per-call options a client verb takes, from a macro's request options. */
export function callOptions(options: RequestOptions): { signal?: AbortSignal; timeoutMs?: number; retry?: boolean } {
  return { signal: options.signal, timeoutMs: options.requestTimeoutMs, retry: options.retry };
}

/** One controller (or item) on which a bulk run succeeded, with what it returned. */
export interface BulkSuccess<T> {
  controller: string;
  value: T;
}

/** One controller (or item) on which a bulk run failed, with why. */
export interface BulkFailure {
  controller: string;
  error: Error;
}

/** Every outcome of a bulk run: nothing is lost, successes and failures in input order. */
export interface BulkResult<T> {
  succeeded: BulkSuccess<T>[];
  failed: BulkFailure[];
}

/** What a bulk run's function learns about its item besides the item itself. */
export interface BulkContext {
  /** The run's abort signal. */
  signal?: AbortSignal;
  /** The item's position in the input. */
  index: number;
}

/** What one step of a macro did on one controller. */
export interface StepOutcome {
  step: string;
  /** False when the controller already was in the desired state (nothing written). */
  changed: boolean;
  detail?: string;
}

/** A step outcome with the controller it happened on, as the many-controller license macros return it. */
export interface ControllerStepResult extends StepOutcome {
  host: string;
}
