/**
 * Runs one operation on many controllers at once. A mesh macro must report every controller's
 * outcome, so nothing here throws half-way: each failure is kept next to the controller it
 * happened on, and the caller decides (often through `assertBulkOk`) whether a partial result is
 * acceptable.
 */
import { limitConcurrency as pLimit } from '../../concurrency.js';
import { abortReason } from '../../abort.js';
import { Vns3ValidationError } from '../../client/index.js';
import { emit, type Vns3EventHandler } from '../../events.js';
import { Vns3BulkError } from './errors.js';
import type { BulkContext, BulkResult } from './types.js';

/** How a bulk run is carried out. */
export interface BulkOptions {
  /** How many items run at the same time; default 16. */
  concurrency?: number;
  /** Items not yet started when it aborts fail with its reason. */
  signal?: AbortSignal;
  onEvent?: Vns3EventHandler;
  /** Step name for progress events; default `bulk`. */
  step?: string;
}

/** How many controllers a bulk run works on at once unless told otherwise. */
export const DEFAULT_BULK_CONCURRENCY = 16;

/** Checks a `concurrency` option; Vns3ValidationError names it when it is not a whole number of at least 1. */
export function checkConcurrency(concurrency: unknown): number {
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new Vns3ValidationError('concurrency', concurrency, 'must be a whole number of at least 1');
  }
  return concurrency;
}

function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-Error value thrown: ${String(thrown)}`);
}

type Outcome<T> = { ok: true; controller: string; value: T } | { ok: false; controller: string; error: Error };

/**
 * Runs `fn` for each item with bounded concurrency and returns every outcome in input order. It
 * never throws half-way: a failure is kept with its item, and when the signal aborts, items not yet
 * started fail with the abort reason. Throws Vns3ValidationError only for a bad `concurrency`,
 * before anything runs.
 */
export async function runBulk<I, T>(
  items: readonly I[],
  nameOf: (item: I) => string,
  fn: (item: I, context: BulkContext) => Promise<T>,
  options: BulkOptions = {},
): Promise<BulkResult<T>> {
  const { signal, onEvent, step = 'bulk' } = options;
  const limit = pLimit(checkConcurrency(options.concurrency ?? DEFAULT_BULK_CONCURRENCY));
  const names = items.map((item, index) => {
    try {
      return String(nameOf(item));
    } catch {
      // A bad name function must not lose the item's outcome.
      return `#${index}`;
    }
  });

  const run = async (item: I, index: number): Promise<Outcome<T>> => {
    const controller = names[index]!;
    if (signal?.aborted) return { ok: false, controller, error: toError(abortReason(signal)) };
    emit(onEvent, { controller, step, level: 'debug', detail: 'started' });
    try {
      // Awaiting inside try also catches a synchronous throw from fn.
      const value = await fn(item, { signal, index });
      emit(onEvent, { controller, step, level: 'debug', detail: 'succeeded' });
      return { ok: true, controller, value };
    } catch (thrown) {
      const error = toError(thrown);
      emit(onEvent, { controller, step, level: 'error', detail: `failed: ${error.message}` });
      return { ok: false, controller, error };
    }
  };

  const outcomes = await Promise.all(items.map((item, index) => limit(() => run(item, index))));
  const result: BulkResult<T> = { succeeded: [], failed: [] };
  for (const o of outcomes) {
    if (o.ok) result.succeeded.push({ controller: o.controller, value: o.value });
    else result.failed.push({ controller: o.controller, error: o.error });
  }
  emit(onEvent, {
    controller: '*',
    step,
    // All succeeded is an internal aggregate (each item reported itself); a failure is news.
    level: result.failed.length > 0 ? 'warn' : 'debug',
    detail: `${result.succeeded.length} of ${items.length} succeeded`,
    data: { total: items.length, succeeded: result.succeeded.length, failed: result.failed.length },
  });
  return result;
}

/** True when no controller of the run failed. */
export function bulkOk<T>(result: BulkResult<T>): boolean {
  return result.failed.length === 0;
}

/**
 * Returns the values of a bulk run in input order when every controller succeeded. Throws
 * Vns3BulkError (listing each failed controller and its cause, carrying `result`) otherwise.
 */
export function assertBulkOk<T>(result: BulkResult<T>, what: string): T[] {
  if (result.failed.length > 0) throw new Vns3BulkError(what, result);
  return result.succeeded.map((s) => s.value);
}
