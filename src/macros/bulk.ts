/**
 * Runs one operation on many controllers at once. A mesh macro must report
 * every controller's outcome, so nothing here throws half-way: each failure is
 * kept next to the controller it happened on, and the caller decides (often
 * through `assertBulkOk`) whether a partial result is acceptable.
 */
import pLimit from 'p-limit';
import { Vns3ValidationError } from '../client/errors.js';
import { emit, type Vns3EventHandler } from '../events.js';
import { Vns3BulkError } from './errors.js';

export interface BulkSuccess<T> {
  controller: string;
  value: T;
}
export interface BulkFailure {
  controller: string;
  error: Error;
}
export interface BulkResult<T> {
  succeeded: BulkSuccess<T>[];
  failed: BulkFailure[];
}
export interface BulkOptions {
  /** How many items run at the same time; default 16. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: Vns3EventHandler;
  /** Step name for progress events; default `bulk`. */
  step?: string;
}
export interface BulkContext {
  signal?: AbortSignal;
  index: number;
}

export const DEFAULT_BULK_CONCURRENCY = 16;

function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : `non-Error value thrown: ${String(e)}`);
}

function abortError(signal: AbortSignal): Error {
  return toError(signal.reason ?? new Error('aborted'));
}

type Outcome<T> = { ok: true; controller: string; value: T } | { ok: false; controller: string; error: Error };

/**
 * Runs fn for each item with bounded concurrency; never throws half-way; every
 * failure is kept; when the signal aborts, items not yet started fail with the
 * abort reason; results come back in input order.
 */
export async function runBulk<I, T>(
  items: readonly I[],
  nameOf: (item: I) => string,
  fn: (item: I, ctx: BulkContext) => Promise<T>,
  opts: BulkOptions = {},
): Promise<BulkResult<T>> {
  const concurrency = opts.concurrency ?? DEFAULT_BULK_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Vns3ValidationError('concurrency', concurrency, 'must be a whole number of at least 1');
  }
  const { signal, onEvent } = opts;
  const step = opts.step ?? 'bulk';
  const limit = pLimit(concurrency);

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
    if (signal?.aborted) {
      return { ok: false, controller, error: abortError(signal) };
    }
    emit(onEvent, { controller, step, level: 'debug', detail: 'started' });
    try {
      // Awaiting inside try also catches a synchronous throw from fn.
      const value = await fn(item, { signal, index });
      emit(onEvent, { controller, step, level: 'debug', detail: 'succeeded' });
      return { ok: true, controller, value };
    } catch (e) {
      const error = toError(e);
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
    level: result.failed.length > 0 ? 'warn' : 'info',
    detail: `${result.succeeded.length} of ${items.length} succeeded`,
    data: { total: items.length, succeeded: result.succeeded.length, failed: result.failed.length },
  });
  return result;
}

export function bulkOk<T>(r: BulkResult<T>): boolean {
  return r.failed.length === 0;
}

/** Throws Vns3BulkError (lists each controller and cause, carries `result`) if anything failed; else returns the values. */
export function assertBulkOk<T>(r: BulkResult<T>, what: string): T[] {
  if (r.failed.length > 0) throw new Vns3BulkError(what, r);
  return r.succeeded.map((s) => s.value);
}
