/**
 * Keysets: generate on the root, fetch from the root on every other
 * controller. Both run in the background on the controller; a failed fetch
 * is quiet (the state resets), so an attempt is followed by its
 * `started_at_i` until it ends with a keyset, vanishes, or the deadline hits.
 */
import { Vns3ApiError, Vns3Error, Vns3ValidationError } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { runBulk, type BulkResult } from './bulk.js';
import { hasApiMessage, isTransientFailure, Vns3KeysetFetchError, wrapStep } from './config-errors.js';
import { callOptions, type RebootWaitOptions, type RequestOptions, type StepOutcome } from './config-license.js';
import { checkPositive, checkSource, checkToken } from './config-validate.js';
import { deadlineSignal, waitForApi } from './config-wait.js';
import { Vns3WaitTimeoutError } from './errors.js';
import type { BulkMacroOptions, WaitingMacroOptions } from './options.js';
import { pollUntil, sleep } from './wait.js';

export type Keyset = components['schemas']['Keyset'];

export const KEYSET_IN_PROGRESS = 'Keyset setup in progress.';
export const KEYSET_EXISTS = 'Keyset already exists.';
const DEFAULT_KEYSET_TIMEOUT_MS = 300_000;
const DEFAULT_POLL_REQUEST_TIMEOUT_MS = 5_000;
/** After a fetch the controller may reboot; how long we watch for that before going on. */
const DEFAULT_FETCH_REBOOT_START_MS = 10_000;

export interface KeysetWaitOptions extends WaitingMacroOptions {
  requestTimeoutMs?: number;
  maxIntervalMs?: number;
}

/** The controller's keyset, or undefined where it refuses to show one (unlicensed, nothing attempted). */
export async function readKeyset(client: Vns3Client, o: RequestOptions = {}): Promise<Keyset | undefined> {
  try {
    return await client.get('/keyset', callOptions(o));
  } catch (e) {
    if (e instanceof Vns3ApiError && (e.status === 400 || e.status === 403)) return undefined;
    throw e;
  }
}

class AttemptVanished extends Vns3Error {}

/** Waits until `keyset_present`; fails at once if the attempt ended without a keyset. */
export async function waitForKeyset(client: Vns3Client, opts: KeysetWaitOptions = {}): Promise<Keyset> {
  const host = client.host;
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_POLL_REQUEST_TIMEOUT_MS;
  emit(opts.onEvent, { controller: host, step: 'keyset.wait', detail: 'waiting for the keyset' });
  const keyset = await pollUntil<Keyset | undefined>(
    {
      what: 'keyset',
      controller: host,
      probe: async (signal) => {
        const k = await readKeyset(client, { signal, requestTimeoutMs, retry: false });
        if (k && !k.keyset_present && !k.in_progress) {
          throw new AttemptVanished(`the keyset attempt on ${host} ended without a keyset`, { controller: host });
        }
        return k;
      },
      done: (k) => k?.keyset_present === true,
      describe: (k) => (k ? `in_progress=${k.in_progress} started_at_i=${k.started_at_i ?? '-'}` : 'keyset not readable'),
      fatal: (e) => !isTransientFailure(e),
    },
    {
      timeoutMs: opts.timeoutMs ?? DEFAULT_KEYSET_TIMEOUT_MS,
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
      ...(opts.maxIntervalMs !== undefined ? { maxIntervalMs: opts.maxIntervalMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    },
  );
  emit(opts.onEvent, { controller: host, step: 'keyset.wait', detail: 'keyset present', data: { checksum: keyset?.checksum } });
  return keyset!;
}

/** Generates the keyset unless present; if a generation is running, only waits for it. */
export async function ensureKeysetGenerated(
  client: Vns3Client,
  token: string,
  o: RequestOptions & { wait?: KeysetWaitOptions } = {},
): Promise<StepOutcome & { checksum?: string }> {
  const step = 'keyset.generate';
  const host = client.host;
  const wait = { ...o.wait, ...(o.signal ? { signal: o.signal } : {}), ...(o.onEvent ? { onEvent: o.onEvent } : {}) };
  try {
    const current = await readKeyset(client, o);
    if (!current) throw new Vns3Error(`${host} must be licensed before its keyset can be generated`, { controller: host });
    if (current.keyset_present) {
      emit(o.onEvent, { controller: host, step, level: 'debug', detail: 'unchanged: keyset present' });
      return { step, changed: false, detail: 'keyset present', ...(current.checksum ? { checksum: current.checksum } : {}) };
    }
    let changed = false;
    if (current.in_progress) {
      emit(o.onEvent, { controller: host, step, detail: 'a keyset generation is already running; waiting for it' });
    } else {
      emit(o.onEvent, { controller: host, step, detail: 'generating keyset' });
      try {
        await client.put('/keyset', { body: { token }, ...callOptions(o) });
        changed = true;
      } catch (e) {
        if (o.signal?.aborted) throw e;
        if (hasApiMessage(e, KEYSET_EXISTS) || hasApiMessage(e, KEYSET_IN_PROGRESS)) {
          changed = true;
        } else if (isTransientFailure(e)) {
          // The request may have started a generation before the reply was lost: look before sending it again.
          const again = await readKeyset(client, o);
          if (!again || (!again.in_progress && !again.keyset_present)) throw e;
          changed = true;
        } else {
          throw e;
        }
      }
    }
    const keyset = await waitForKeyset(client, wait);
    return { step, changed, detail: changed ? 'keyset generated' : 'waited for a running generation', ...(keyset.checksum ? { checksum: keyset.checksum } : {}) };
  } catch (e) {
    throw wrapStep(host, step, e, o.signal);
  }
}

export interface FetchKeysetParams {
  /** Address of the source controller as this controller reaches it (usually the root's private IP). */
  source: string;
  /** The keyset token the root generated its keyset with. */
  token: string;
}

export interface FetchKeysetOptions extends WaitingMacroOptions {
  /** PUT /keyset attempts before giving up (default 3). */
  attempts?: number;
  /** A keyset already present with another checksum is an error. */
  expectedChecksum?: string;
  requestTimeoutMs?: number;
  maxIntervalMs?: number;
  /** Riding out the reboot after the fetch; `rebootStartTimeoutMs` defaults to 10 000 ms here. */
  reboot?: RebootWaitOptions;
}

export interface KeysetFetchResult {
  host: string;
  changed: boolean;
  checksum?: string;
  /** PUT /keyset attempts made. */
  attempts: number;
  /** Whether the controller was seen rebooting after the fetch. */
  rebooted: boolean;
}

function checkFetchInput(params: FetchKeysetParams, opts: FetchKeysetOptions): { source: string; token: string; attempts: number } {
  if (params === null || typeof params !== 'object') throw new Vns3ValidationError('params', params, 'must be { source, token }');
  const source = checkSource(params.source);
  const token = checkToken('token', params.token);
  const attempts = checkPositive('attempts', opts.attempts ?? 3, { integer: true });
  if (opts.expectedChecksum !== undefined && (typeof opts.expectedChecksum !== 'string' || opts.expectedChecksum.trim() === '')) {
    throw new Vns3ValidationError('expectedChecksum', opts.expectedChecksum, 'must be a non-empty string');
  }
  if (opts.timeoutMs !== undefined) checkPositive('timeoutMs', opts.timeoutMs);
  return { source, token, attempts };
}

type PutOutcome = { kind: 'started'; startedAt: number } | { kind: 'running' } | { kind: 'present' } | { kind: 'failed' };

/**
 * Fetches the keyset from `source` unless this controller has one. Retries a
 * failed attempt (`attempts` in all), rides out the reboot after a successful
 * fetch, and returns once the controller answers, licensed.
 */
export async function fetchKeysetFromSource(client: Vns3Client, params: FetchKeysetParams, opts: FetchKeysetOptions = {}): Promise<KeysetFetchResult> {
  const { source, token, attempts } = checkFetchInput(params, opts);
  return fetchValidated(client, source, token, attempts, opts);
}

async function fetchValidated(client: Vns3Client, source: string, token: string, attempts: number, opts: FetchKeysetOptions): Promise<KeysetFetchResult> {
  const host = client.host;
  const step = 'keyset.fetch';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_KEYSET_TIMEOUT_MS;
  const guard = deadlineSignal(timeoutMs, opts.signal);
  const deadline = Date.now() + timeoutMs;
  const call = { signal: guard.signal, ...(opts.requestTimeoutMs !== undefined ? { timeoutMs: opts.requestTimeoutMs } : {}) };
  const pollTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_POLL_REQUEST_TIMEOUT_MS;
  const baseInterval = opts.intervalMs ?? 250;
  const maxInterval = Math.max(baseInterval, opts.maxIntervalMs ?? 5_000);
  const onEvent = opts.onEvent;
  const waitOpts = (extra: { expectReboot?: boolean; healthyPolls?: number; rebootStartTimeoutMs?: number } = {}) => ({
    ...opts.reboot,
    ...extra,
    timeoutMs: Math.max(1, Math.min(opts.reboot?.timeoutMs ?? Infinity, deadline - Date.now())),
    signal: guard.signal,
    ...(onEvent ? { onEvent } : {}),
  });
  let used = 0;
  let rebooted = false;
  let lastStarted = 0;
  const fail = (reason: string, cause?: unknown): never => {
    throw new Vns3KeysetFetchError({ controller: host, source, attempts: used, reason, ...(cause !== undefined ? { cause } : {}) });
  };
  const checkChecksum = (k: Keyset): void => {
    if (opts.expectedChecksum !== undefined && k.checksum !== opts.expectedChecksum) {
      throw new Vns3Error(`${host} has a keyset with checksum ${k.checksum ?? '(none)'}, expected ${opts.expectedChecksum}`, { controller: host });
    }
  };

  const putFetch = async (): Promise<PutOutcome> => {
    try {
      const r = await client.put('/keyset', { body: { token, source }, ...call });
      if (r.keyset_present) return { kind: 'present' };
      return { kind: 'started', startedAt: r.started_at_i ?? 0 };
    } catch (e) {
      if (guard.signal.aborted) throw e;
      if (hasApiMessage(e, KEYSET_IN_PROGRESS)) return { kind: 'running' };
      if (hasApiMessage(e, KEYSET_EXISTS)) return { kind: 'present' };
      if (!isTransientFailure(e)) throw e;
      // Whether that PUT started an attempt is unknown: wait until the controller answers, then look.
      await waitForApi(client, waitOpts({ healthyPolls: 1 }));
      const k = await readKeyset(client, call);
      if (k?.keyset_present) return { kind: 'present' };
      return k?.in_progress ? { kind: 'running' } : { kind: 'failed' };
    }
  };

  /** Follows the running attempt until it ends: with a keyset, or without (vanished / replaced). */
  const watch = async (): Promise<'present' | 'failed' | 'restarted'> => {
    let interval = baseInterval;
    for (;;) {
      await sleep(interval * (0.9 + Math.random() * 0.2), guard.signal);
      interval = Math.min(interval * 1.5, maxInterval);
      let k: Keyset;
      try {
        k = await client.get('/keyset', { signal: guard.signal, retry: false, timeoutMs: pollTimeoutMs });
      } catch (e) {
        if (guard.signal.aborted) throw e;
        if (isTransientFailure(e)) {
          // A controller reboots after a successful fetch; any outage is ridden out, then we look again.
          emit(onEvent, { controller: host, step, detail: 'controller went down during the fetch; waiting for its API' });
          const w = await waitForApi(client, waitOpts());
          rebooted ||= w.sawDown;
          interval = baseInterval;
          continue;
        }
        if (!(e instanceof Vns3ApiError) || e.status === 401) throw e;
        // This version hides the keyset while unlicensed: ask the way the controller allows, by PUT.
        const probe = await putFetch();
        if (probe.kind === 'present') return 'present';
        if (probe.kind === 'running') continue;
        if (probe.kind === 'started') lastStarted = probe.startedAt;
        return probe.kind === 'started' ? 'restarted' : 'failed';
      }
      if (k.keyset_present) return 'present';
      if (k.in_progress) {
        lastStarted = Math.max(lastStarted, k.started_at_i ?? 0);
        continue;
      }
      return 'failed';
    }
  };

  try {
    const initial = await readKeyset(client, call);
    if (initial?.keyset_present) {
      checkChecksum(initial);
      emit(onEvent, { controller: host, step, level: 'debug', detail: 'unchanged: keyset present' });
      return { host, changed: false, ...(initial.checksum ? { checksum: initial.checksum } : {}), attempts: 0, rebooted: false };
    }
    let running = initial?.in_progress === true;
    if (running) {
      lastStarted = initial?.started_at_i ?? 0;
      emit(onEvent, { controller: host, step, detail: 'a keyset fetch is already running; following it' });
    }
    for (;;) {
      if (!running) {
        if (used >= attempts) fail('every attempt ended without a keyset');
        used++;
        emit(onEvent, { controller: host, step, detail: `fetching keyset from ${source} (attempt ${used} of ${attempts})`, data: { attempt: used, source } });
        const put = await putFetch();
        if (put.kind === 'present') break;
        if (put.kind === 'failed') {
          emit(onEvent, { controller: host, step, level: 'warn', detail: `attempt ${used} did not start` });
          continue;
        }
        if (put.kind === 'started') lastStarted = put.startedAt;
      }
      const outcome = await watch();
      if (outcome === 'present') break;
      emit(onEvent, { controller: host, step, level: 'warn', detail: `attempt ${used} ended without a keyset`, data: { attempt: used, startedAt: lastStarted } });
      if (outcome === 'restarted') {
        used++;
        running = true;
      } else {
        running = false;
      }
    }

    emit(onEvent, { controller: host, step, detail: 'keyset fetched; riding out the reboot that follows' });
    if (!rebooted) {
      const w = await waitForApi(client, waitOpts({ expectReboot: true, rebootStartTimeoutMs: opts.reboot?.rebootStartTimeoutMs ?? DEFAULT_FETCH_REBOOT_START_MS }));
      rebooted = w.sawDown;
    }
    const config = await client.get('/config', call);
    if (config.licensed !== true) throw new Vns3Error(`${host} has fetched a keyset but is not licensed`, { controller: host });
    const final = await readKeyset(client, call);
    if (!final?.keyset_present) fail('the keyset was gone after the controller came back');
    checkChecksum(final!);
    emit(onEvent, { controller: host, step, detail: 'keyset fetched; controller licensed', data: { attempts: used, rebooted, checksum: final!.checksum } });
    return { host, changed: true, ...(final!.checksum ? { checksum: final!.checksum } : {}), attempts: used, rebooted };
  } catch (e) {
    if (guard.timedOut()) fail(`timed out after ${timeoutMs} ms`, e);
    if (e instanceof Vns3WaitTimeoutError && !opts.signal?.aborted) fail(e.message, e);
    throw wrapStep(host, step, e, opts.signal);
  } finally {
    guard.dispose();
  }
}

/** Fetches the keyset from one source on every controller, in parallel. */
export async function fetchKeysets(
  clients: readonly Vns3Client[],
  params: FetchKeysetParams,
  opts: FetchKeysetOptions & BulkMacroOptions = {},
): Promise<BulkResult<KeysetFetchResult>> {
  const { source, token, attempts } = checkFetchInput(params, opts);
  return runBulk(
    clients,
    (c) => c.host,
    (client, ctx) => fetchValidated(client, source, token, attempts, { ...opts, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
    { ...opts, step: 'keyset.fetch' },
  );
}
