/**
 * Errors raised by the macro helpers. Both carry enough structure for a
 * caller to act on (the partial bulk result, the last state seen) and a
 * message that tells an operator what went wrong without reading a stack.
 */
import { Vns3Error } from '../client/errors.js';
import type { BulkResult } from './bulk.js';

function firstLine(e: Error): string {
  const msg = e.message || e.name || 'unknown error';
  return msg.split('\n')[0] ?? msg;
}

/** Some controllers of a bulk run failed; `result` holds every success and failure. */
export class Vns3BulkError extends Vns3Error {
  readonly what: string;
  readonly result: BulkResult<unknown>;

  constructor(what: string, result: BulkResult<unknown>) {
    const total = result.succeeded.length + result.failed.length;
    const lines = result.failed.map((f) => `  ${f.controller} — ${firstLine(f.error)}`);
    super(`${what} failed on ${result.failed.length} of ${total} controllers:\n${lines.join('\n')}`, {
      cause: result.failed[0]?.error,
    });
    this.name = 'Vns3BulkError';
    this.what = what;
    this.result = result;
  }
}

export interface Vns3WaitTimeoutInit {
  what: string;
  controller: string;
  timeoutMs: number;
  lastState?: string;
  lastError?: string;
}

/** A poll ran out of time before its condition held. */
export class Vns3WaitTimeoutError extends Vns3Error {
  readonly what: string;
  override readonly controller: string;
  readonly timeoutMs: number;
  readonly lastState?: string;
  readonly lastError?: string;

  constructor(init: Vns3WaitTimeoutInit) {
    const seen: string[] = [];
    if (init.lastState !== undefined) seen.push(`last state: ${init.lastState}`);
    if (init.lastError !== undefined) seen.push(`last error: ${init.lastError}`);
    if (seen.length === 0) seen.push('no probe completed');
    super(`Timed out after ${init.timeoutMs} ms waiting for ${init.what} on ${init.controller} (${seen.join('; ')})`, {
      controller: init.controller,
    });
    this.name = 'Vns3WaitTimeoutError';
    this.what = init.what;
    this.controller = init.controller;
    this.timeoutMs = init.timeoutMs;
    if (init.lastState !== undefined) this.lastState = init.lastState;
    if (init.lastError !== undefined) this.lastError = init.lastError;
  }
}
