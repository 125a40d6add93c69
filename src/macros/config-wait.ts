/**
 * Waiting for a controller's API across a reboot. The Python SDK waits for
 * ten healthy pings 1.5 s apart after every reboot; we poll with backoff and
 * return as soon as the API has answered a couple of times in a row.
 */
import { Vns3ApiError } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import { isTransientFailure } from './config-errors.js';
import { Vns3WaitTimeoutError } from './errors.js';
import type { WaitingMacroOptions } from './options.js';
import { sleep } from './wait.js';

export interface WaitForApiOptions extends WaitingMacroOptions {
  /** Consecutive answers of `GET /config` that count as "up" (default 2). */
  healthyPolls?: number;
  /** Wait first to see the API go down, so that we do not return before the reboot started. */
  expectReboot?: boolean;
  /** How long to wait for the reboot to start (default 60 000 ms); then we go on as if it had been missed. */
  rebootStartTimeoutMs?: number;
  /** Cap on the backoff between polls (default 5000 ms). */
  maxIntervalMs?: number;
  /** Limit of one poll request (default 5000 ms, never past the overall deadline). */
  requestTimeoutMs?: number;
}

export interface WaitForApiResult {
  /** From the first failed poll to the first poll of the final healthy run; 0 if never seen down. */
  downMs: number;
  totalMs: number;
  /** Requests sent. */
  polls: number;
  /** Whether a failed poll was seen. */
  sawDown: boolean;
}

export const DEFAULT_API_WAIT_TIMEOUT_MS = 300_000;
export const DEFAULT_REBOOT_START_TIMEOUT_MS = 60_000;
const DEFAULT_INTERVAL_MS = 250;
const DEFAULT_MAX_INTERVAL_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** A combined signal for the caller's abort and our deadline; `timedOut()` tells which fired. */
export function deadlineSignal(timeoutMs: number, signal?: AbortSignal): { signal: AbortSignal; timedOut(): boolean; dispose(): void } {
  const ctl = new AbortController();
  const timer = Number.isFinite(timeoutMs) ? setTimeout(() => ctl.abort(new Error('deadline')), Math.max(0, timeoutMs)) : undefined;
  const onAbort = (): void => ctl.abort(signal?.reason);
  if (signal?.aborted) ctl.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ctl.signal,
    timedOut: () => ctl.signal.aborted && !signal?.aborted,
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Rides out a reboot: connection failures and 502/503 are waited through;
 * returns once `GET /config` answered `healthyPolls` times in a row. Each poll
 * is one attempt (no client retries) with its own short timeout.
 * Errors that waiting cannot fix (401, TLS pin) are thrown at once.
 */
export async function waitForApi(client: Vns3Client, opts: WaitForApiOptions = {}): Promise<WaitForApiResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_API_WAIT_TIMEOUT_MS;
  const healthyPolls = opts.healthyPolls ?? 2;
  const baseInterval = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const maxInterval = Math.max(baseInterval, opts.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS);
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const rebootStartTimeoutMs = opts.rebootStartTimeoutMs ?? DEFAULT_REBOOT_START_TIMEOUT_MS;
  for (const [name, v] of [['timeoutMs', timeoutMs], ['intervalMs', baseInterval], ['requestTimeoutMs', requestTimeoutMs], ['rebootStartTimeoutMs', rebootStartTimeoutMs]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${String(v)}`);
  }
  if (!Number.isInteger(healthyPolls) || healthyPolls < 1) throw new RangeError(`healthyPolls must be a whole number of at least 1, got ${String(healthyPolls)}`);

  const host = client.host;
  const step = 'reboot.wait';
  const started = Date.now();
  const deadline = started + timeoutMs;
  const guard = deadlineSignal(timeoutMs, opts.signal);
  let polls = 0;
  let firstDownAt: number | undefined;
  let lastError: string | undefined;

  /** One attempt; resolves to undefined when up, or to the reason it is not. */
  const poll = async (): Promise<string | undefined> => {
    polls++;
    const remaining = Math.max(1, deadline - Date.now());
    try {
      await client.get('/config', { signal: guard.signal, retry: false, timeoutMs: Math.min(requestTimeoutMs || remaining, remaining) });
      return undefined;
    } catch (e) {
      if (guard.signal.aborted) throw e;
      if (!isTransientFailure(e)) throw e;
      const reason = e instanceof Vns3ApiError ? `HTTP ${e.status}` : e instanceof Error ? e.message : String(e);
      firstDownAt ??= Date.now();
      lastError = reason;
      return reason;
    }
  };
  const giveUp = (what: string): never => {
    if (opts.signal?.aborted) throw opts.signal.reason;
    emit(opts.onEvent, { controller: host, step, level: 'warn', detail: `gave up waiting for ${what}`, data: { polls } });
    throw new Vns3WaitTimeoutError({ what, controller: host, timeoutMs, ...(lastError !== undefined ? { lastError } : {}) });
  };
  const pause = async (ms: number): Promise<void> => {
    try {
      await sleep(Math.min(ms * (0.9 + Math.random() * 0.2), Math.max(0, deadline - Date.now())), guard.signal);
    } catch {
      giveUp('the API');
    }
  };

  try {
    if (opts.expectReboot) {
      emit(opts.onEvent, { controller: host, step, detail: 'waiting for the reboot to start' });
      const startBy = Math.min(deadline, started + rebootStartTimeoutMs);
      // Short, even polls: the outage of a fast reboot is easy to miss with a growing interval.
      while (firstDownAt === undefined && Date.now() < startBy) {
        try {
          await poll();
        } catch (e) {
          if (guard.signal.aborted) giveUp('the reboot to start');
          throw e;
        }
        if (firstDownAt !== undefined) break;
        if (Date.now() >= startBy) break;
        await pause(Math.min(baseInterval, Math.max(0, startBy - Date.now())));
      }
      emit(opts.onEvent, {
        controller: host,
        step,
        ...(firstDownAt !== undefined
          ? { detail: `controller went down (${lastError ?? 'unreachable'})` }
          : { level: 'warn' as const, detail: `no reboot seen within ${rebootStartTimeoutMs} ms; going on` }),
      });
    }

    let healthy = 0;
    let healthyStartedAt = 0;
    let interval = baseInterval;
    for (;;) {
      let reason: string | undefined;
      try {
        reason = await poll();
      } catch (e) {
        if (guard.signal.aborted) giveUp('the API');
        throw e;
      }
      if (reason === undefined) {
        if (healthy === 0) healthyStartedAt = Date.now();
        healthy++;
        if (healthy >= healthyPolls) break;
        interval = baseInterval;
      } else {
        healthy = 0;
        interval = Math.min(interval * 1.5, maxInterval);
      }
      if (Date.now() >= deadline) giveUp('the API');
      await pause(reason === undefined ? baseInterval : interval);
    }
    const downMs = firstDownAt !== undefined ? Math.max(0, healthyStartedAt - firstDownAt) : 0;
    const result: WaitForApiResult = { downMs, totalMs: Date.now() - started, polls, sawDown: firstDownAt !== undefined };
    emit(opts.onEvent, { controller: host, step, detail: `API answers (${polls} polls, down ${downMs} ms)`, data: { ...result } });
    return result;
  } finally {
    guard.dispose();
  }
}
