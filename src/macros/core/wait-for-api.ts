/**
 * `waitForApi`: riding out a reboot. The Python SDK waits for ten healthy pings 1.5 s apart after
 * every reboot; we poll with backoff and return as soon as the API has answered a couple of times
 * in a row. With `expectReboot` a first acceptor watches, with short even polls, for the API to go
 * down, so that we do not return before the reboot started.
 */
import { Vns3ApiError, Vns3ValidationError, type Vns3Client } from '../../client/index.js';
import { emit } from '../../events.js';
import { isTransientFailure, Vns3WaitTimeoutError } from './errors.js';
import { resolveTiming, runPoller, type Look, type Verdict } from './poller.js';
import type { WaitingMacroOptions } from './types.js';

/** How `waitForApi` waits. */
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

/** What `waitForApi` saw. */
export interface WaitForApiResult {
  /** From the first failed poll to the first poll of the final healthy run; 0 if never seen down. */
  downMs: number;
  totalMs: number;
  /** Requests sent. */
  polls: number;
  /** Whether a failed poll was seen. */
  sawDown: boolean;
}

/** Reboot waits inside other macros take these; `timeoutMs` bounds each wait. */
export type RebootWaitOptions = Omit<WaitForApiOptions, 'expectReboot' | 'signal' | 'onEvent'>;

const DEFAULTS = { timeoutMs: 300_000, intervalMs: 250, maxIntervalMs: 5_000, factor: 1.5 };

function resolve(options: WaitForApiOptions) {
  const timing = resolveTiming(options, DEFAULTS);
  timing.maxIntervalMs = Math.max(timing.intervalMs, timing.maxIntervalMs);
  const { healthyPolls = 2, requestTimeoutMs = 5_000, rebootStartTimeoutMs = 60_000 } = options;
  for (const [field, value] of [['requestTimeoutMs', requestTimeoutMs], ['rebootStartTimeoutMs', rebootStartTimeoutMs]] as const) {
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new Vns3ValidationError(field, value, 'must be a number of milliseconds, 0 or more');
  }
  if (!Number.isInteger(healthyPolls) || healthyPolls < 1) throw new Vns3ValidationError('healthyPolls', healthyPolls, 'must be a whole number of at least 1');
  return { timing, healthyPolls, requestTimeoutMs, rebootStartTimeoutMs };
}

/**
 * Rides out a reboot: connection failures and 502/503 are waited through; returns once
 * `GET /config` answered `healthyPolls` times in a row. Each poll is one attempt (no client
 * retries) with its own short timeout. Throws Vns3ValidationError for bad options, at once the
 * errors that waiting cannot fix (401, TLS pin), the caller's abort reason, and
 * Vns3WaitTimeoutError when `timeoutMs` runs out.
 */
export async function waitForApi(client: Vns3Client, options: WaitForApiOptions = {}): Promise<WaitForApiResult> {
  const { timing, healthyPolls, requestTimeoutMs, rebootStartTimeoutMs } = resolve(options);
  const { signal, onEvent } = options;
  const host = client.host;
  const step = 'reboot.wait';
  const started = Date.now();
  const deadlineAt = started + timing.timeoutMs;
  let polls = 0;
  let firstDownAt: number | undefined;
  let lastError: string | undefined;
  let healthy = 0;
  let healthyStartedAt = 0;

  /** One attempt; resolves to true when up. */
  const poll = async (look: Look): Promise<boolean> => {
    polls++;
    const remaining = Math.max(1, look.remainingMs());
    try {
      await client.get('/config', { signal: look.signal, retry: false, timeoutMs: Math.min(requestTimeoutMs || remaining, remaining) });
      return true;
    } catch (error) {
      if (look.signal.aborted || !isTransientFailure(error)) throw error;
      firstDownAt ??= Date.now();
      lastError = error instanceof Vns3ApiError ? `HTTP ${error.status}` : error instanceof Error ? error.message : String(error);
      return false;
    }
  };
  const giveUp = (what: string): never => {
    emit(onEvent, { controller: host, step, level: 'warn', detail: `gave up waiting for ${what}`, data: { polls } });
    throw new Vns3WaitTimeoutError({ what, controller: host, timeoutMs: timing.timeoutMs, lastError });
  };
  // Short, even polls: the outage of a fast reboot is easy to miss with a growing interval.
  const wentDown = async (look: Look): Promise<Verdict<true>> => ((await poll(look)) ? { state: 'retry', backoff: 'reset' } : { state: 'success', value: true });
  const cameUp = async (look: Look): Promise<Verdict<true>> => {
    if (!(await poll(look))) {
      healthy = 0;
      return { state: 'retry' };
    }
    if (healthy === 0) healthyStartedAt = Date.now();
    healthy++;
    return healthy >= healthyPolls ? { state: 'success', value: true } : { state: 'retry', backoff: 'reset' };
  };

  if (options.expectReboot) {
    emit(onEvent, { controller: host, step, detail: 'waiting for the reboot to start' });
    const window = Math.min(rebootStartTimeoutMs, timing.timeoutMs);
    const seen = await runPoller(wentDown, { ...timing, timeoutMs: window }, { signal });
    if (seen.state === 'timeout' && Date.now() >= deadlineAt) giveUp('the reboot to start');
    emit(onEvent, {
      controller: host,
      step,
      level: seen.state === 'success' ? 'info' : 'warn',
      detail: seen.state === 'success' ? `controller went down (${lastError ?? 'unreachable'})` : `no reboot seen within ${rebootStartTimeoutMs} ms; going on`,
    });
  }
  const up = await runPoller(cameUp, { ...timing, timeoutMs: Math.max(0, deadlineAt - Date.now()) }, { signal });
  if (up.state === 'timeout') giveUp('the API');
  const downMs = firstDownAt !== undefined ? Math.max(0, healthyStartedAt - firstDownAt) : 0;
  const result: WaitForApiResult = { downMs, totalMs: Date.now() - started, polls, sawDown: firstDownAt !== undefined };
  emit(onEvent, { controller: host, step, detail: `API answers (${polls} polls, down ${downMs} ms)`, data: { ...result } });
  return result;
}
