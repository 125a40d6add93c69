/**
 * The convergence loop every macro runs per controller. A controller that reboots, answers 503 or
 * drops a connection mid-macro must not leave the macro half-way: the macro's attempt (read →
 * plan → write the difference) is simply run again, after a pause, until it succeeds, fails for a
 * reason waiting will not fix, or the retry budget is spent. Because every attempt starts by
 * reading, a POST is re-sent only once a read has shown that it did not land.
 */
import { Deadline, jitter, MAX_TIMER_MS, sleep } from '../../abort.js';
import { Vns3ValidationError } from '../../client/index.js';
import { emit, type Vns3EventHandler } from '../../events.js';
import { isTransientFailure, Vns3KeysetFetchError, Vns3WaitTimeoutError } from './errors.js';
import type { RetryBudget } from './types.js';

/** The budget with its defaults filled in. */
export type ResolvedBudget = Required<RetryBudget>;

/** The budget a macro uses when the caller gives none. */
export const DEFAULT_RETRY_BUDGET: Readonly<Required<RetryBudget>> = { attempts: 12, timeoutMs: 600_000, minDelayMs: 250, maxDelayMs: 5_000 };

/** Fills in and checks a budget; Vns3ValidationError names the field (`retryBudget.attempts`, …). */
export function resolveBudget(budget: RetryBudget | undefined): ResolvedBudget {
  if (budget !== undefined && (budget === null || typeof budget !== 'object')) {
    throw new Vns3ValidationError('retryBudget', budget, 'must be an object such as { attempts: 12, timeoutMs: 600000 }');
  }
  const out: ResolvedBudget = { ...DEFAULT_RETRY_BUDGET };
  for (const key of ['attempts', 'timeoutMs', 'minDelayMs', 'maxDelayMs'] as const) {
    const value = budget?.[key];
    if (value === undefined) continue;
    const whole = key === 'attempts';
    const min = key === 'attempts' || key === 'timeoutMs' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS || (whole && !Number.isInteger(value))) {
      throw new Vns3ValidationError(`retryBudget.${key}`, value, `must be a ${whole ? 'whole ' : ''}number from ${min} to ${MAX_TIMER_MS}`);
    }
    out[key] = value;
  }
  return out;
}

/** The first transient failure in the error or its causes (a step error wraps one), or undefined when there is none: then retrying would not help. */
export function transientCause(error: unknown): unknown {
  // A wait that ran out of its own time gave up on purpose: running it again would overrun that limit.
  if (error instanceof Vns3WaitTimeoutError || error instanceof Vns3KeysetFetchError) return undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isTransientFailure(e)) return e;
  }
  return undefined;
}

/** A clock shared by every controller of one macro call, so the whole call ends by the budget's time. */
export class Attempts {
  readonly budget: ResolvedBudget;
  private readonly deadline: Deadline;

  constructor(budget: RetryBudget | undefined, signal?: AbortSignal) {
    this.budget = resolveBudget(budget);
    this.deadline = new Deadline(this.budget.timeoutMs, { signal });
  }

  /** Whether one more attempt may start after `made` attempts. */
  mayRetry(made: number): boolean {
    return made < this.budget.attempts && this.deadline.remainingMs() > 0 && !this.deadline.signal.aborted;
  }

  /** Pauses before attempt `made + 1`: exponential, jittered, never past the deadline; rejects on the caller's abort. */
  async pause(made: number, signal?: AbortSignal): Promise<void> {
    const base = Math.min(this.budget.minDelayMs * 2 ** (made - 1), this.budget.maxDelayMs);
    const ms = Math.min(jitter(base, 0.5), Math.max(0, this.deadline.remainingMs()));
    await sleep(ms, signal);
  }

  dispose(): void {
    this.deadline.dispose();
  }
}

/** What one attempt of a reconcile loop knows. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** The error that ended the previous attempt. */
  previous?: unknown;
  /**
   * Call after each write that succeeded: an attempt that changed something does not count against
   * `retryBudget.attempts` (a controller with 15 routes to add on a 30%-flaky link gets there in
   * many short steps), and the pause starts small again. The deadline still bounds the loop.
   */
  progress: () => void;
}

/**
 * Runs `attempt` until it returns; after a transient failure (see `isTransientFailure`, also as the
 * cause of a step error) it pauses and runs it again, within `attempts`. Anything else, the
 * caller's abort, or a transient failure once the budget is spent, is thrown as is (the last error).
 */
export async function reconcileLoop<T>(
  controller: string,
  step: string,
  attempt: (context: AttemptContext) => Promise<T>,
  options: { attempts: Attempts; signal?: AbortSignal; onEvent?: Vns3EventHandler },
): Promise<T> {
  const { attempts, signal, onEvent } = options;
  let previous: unknown;
  let total = 0;
  for (let made = 1; ; made++) {
    let progressed = false;
    try {
      total++;
      return await attempt({ attempt: total, previous, progress: () => void (progressed = true) });
    } catch (error) {
      if (progressed) made = 1;
      if (signal?.aborted || transientCause(error) === undefined || !attempts.mayRetry(made)) throw error;
      previous = error;
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      emit(onEvent, {
        controller,
        step,
        level: 'warn',
        detail: `transient failure (${reason}); re-reading and re-planning (attempt ${total + 1}; ${made} without progress of ${attempts.budget.attempts})`,
        data: { attempt: total + 1, withoutProgress: made },
      });
      await attempts.pause(made, signal);
    }
  }
}

/** Runs one controller's idempotent macro body under a fresh budget (for the single-controller macros). */
export async function converge<T>(
  controller: string,
  step: string,
  body: (context: AttemptContext) => Promise<T>,
  options: { retryBudget?: RetryBudget; signal?: AbortSignal; onEvent?: Vns3EventHandler },
): Promise<T> {
  const attempts = new Attempts(options.retryBudget, options.signal);
  try {
    return await reconcileLoop(controller, step, body, { attempts, signal: options.signal, onEvent: options.onEvent });
  } finally {
    attempts.dispose();
  }
}
