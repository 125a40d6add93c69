/**
 * Keysets: generate on the root, fetch from the root on every other controller. Both run in the
 * background on the controller; a failed fetch is quiet (the state resets), so an attempt is
 * followed by its `started_at_i` until it ends with a keyset, vanishes, or the deadline hits.
 */
import { Deadline } from '../abort.js';
import { Vns3ApiError, Vns3Error, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { hasApiMessage, isTransientFailure, Vns3KeysetFetchError, Vns3WaitTimeoutError, wrapStep } from './core/errors.js';
import { pollUntil } from './core/poll-until.js';
import { readThenWrite } from './core/read-then-write.js';
import { resolveTiming, runPoller, type Look, type Verdict } from './core/poller.js';
import { callOptions, type BulkMacroOptions, type BulkResult, type RequestOptions, type StepOutcome, type WaitingMacroOptions } from './core/types.js';
import { checkClients, checkPositive, checkSource, checkToken } from './core/validate.js';
import { converge } from './core/reconcile.js';
import { waitForApi, type RebootWaitOptions, type WaitForApiOptions } from './core/wait-for-api.js';

/** The controller's keyset as `GET /keyset` reports it. */
export type Keyset = components['schemas']['Keyset'];

/** The controller's message while a keyset generation or fetch runs (compared verbatim). */
export const KEYSET_IN_PROGRESS = 'Keyset setup in progress.';
/** The controller's message when a keyset is already there (compared verbatim). */
export const KEYSET_EXISTS = 'Keyset already exists.';
const DEFAULT_KEYSET_TIMEOUT_MS = 300_000;
const DEFAULT_POLL_REQUEST_TIMEOUT_MS = 5_000;
/** After a fetch the controller may reboot; how long we watch for that before going on. */
const DEFAULT_FETCH_REBOOT_START_MS = 10_000;

/** How `waitForKeyset` waits. */
export interface WaitForKeysetOptions extends WaitingMacroOptions {
  /** Limit of one poll request (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Cap on the backoff between polls (default 5000 ms). */
  maxIntervalMs?: number;
}

/** The controller's keyset, or undefined where it refuses to show one (unlicensed, nothing attempted). */
export async function readKeyset(client: Vns3Client, options: RequestOptions = {}): Promise<Keyset | undefined> {
  try {
    return await client.get('/keyset', callOptions(options));
  } catch (error) {
    if (error instanceof Vns3ApiError && (error.status === 400 || error.status === 403)) return undefined;
    throw error;
  }
}

class AttemptVanished extends Vns3Error {}

/**
 * Waits until the controller reports `keyset_present`. Throws a Vns3Error at once when the
 * attempt ended without a keyset, the client's error when it cannot be fixed by waiting (401, TLS),
 * Vns3WaitTimeoutError when `timeoutMs` (default 300 000) runs out, and the caller's abort reason.
 */
export async function waitForKeyset(client: Vns3Client, options: WaitForKeysetOptions = {}): Promise<Keyset> {
  const host = client.host;
  const { requestTimeoutMs = DEFAULT_POLL_REQUEST_TIMEOUT_MS, timeoutMs = DEFAULT_KEYSET_TIMEOUT_MS } = options;
  emit(options.onEvent, { controller: host, step: 'keyset.wait', detail: 'waiting for the keyset' });
  const keyset = await pollUntil<Keyset | undefined>(
    {
      what: 'keyset',
      controller: host,
      probe: async (signal) => {
        const k = await readKeyset(client, { signal, requestTimeoutMs, retry: false });
        if (k && !k.keyset_present && !k.in_progress) throw new AttemptVanished(`the keyset attempt on ${host} ended without a keyset`, { controller: host });
        return k;
      },
      done: (k) => k?.keyset_present === true,
      describe: (k) => (k ? `in_progress=${k.in_progress} started_at_i=${k.started_at_i ?? '-'}` : 'keyset not readable'),
      fatal: (error) => !isTransientFailure(error),
    },
    { ...options, timeoutMs },
  );
  emit(options.onEvent, { controller: host, step: 'keyset.wait', detail: 'keyset present', data: { checksum: keyset?.checksum } });
  return keyset!;
}

/** Sends the generation; whether this call started (or found) one. A lost reply is decided by looking, not by resending. */
async function startGeneration(client: Vns3Client, token: string, options: RequestOptions): Promise<void> {
  try {
    await client.put('/keyset', { body: { token }, ...callOptions(options) });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (hasApiMessage(error, KEYSET_EXISTS) || hasApiMessage(error, KEYSET_IN_PROGRESS)) return;
    if (!isTransientFailure(error)) throw error;
    // The request may have started a generation before the reply was lost: look before sending it again.
    const again = await readKeyset(client, options);
    if (!again || (!again.in_progress && !again.keyset_present)) throw error;
  }
}

/**
 * Generates the keyset unless present; if a generation is running, only waits for it. Throws
 * Vns3StepError (step `keyset.generate`) when the controller is unlicensed or a request or the
 * wait fails.
 */
export async function ensureKeysetGenerated(
  client: Vns3Client,
  token: string,
  options: RequestOptions & { wait?: WaitForKeysetOptions } = {},
): Promise<StepOutcome & { checksum?: string }> {
  const step = 'keyset.generate';
  const host = client.host;
  try {
    const current = await readKeyset(client, options);
    if (!current) throw new Vns3Error(`${host} must be licensed before its keyset can be generated`, { controller: host });
    if (current.keyset_present) {
      emit(options.onEvent, { controller: host, step, level: 'debug', detail: 'unchanged: keyset present' });
      return { step, changed: false, detail: 'keyset present', checksum: current.checksum || undefined };
    }
    const changed = !current.in_progress;
    if (changed) {
      emit(options.onEvent, { controller: host, step, detail: 'generating keyset' });
      await startGeneration(client, token, options);
    } else {
      emit(options.onEvent, { controller: host, step, detail: 'a keyset generation is already running; waiting for it' });
    }
    const keyset = await waitForKeyset(client, { ...options.wait, signal: options.signal, onEvent: options.onEvent });
    return { step, changed, detail: changed ? 'keyset generated' : 'waited for a running generation', checksum: keyset.checksum || undefined };
  } catch (error) {
    throw wrapStep(host, step, error, options.signal);
  }
}

/** Where `fetchKeysetFromSource` fetches from. */
export interface FetchKeysetParams {
  /** Address of the source controller as this controller reaches it (usually the root's private IP). */
  source: string;
  /** The keyset token the root generated its keyset with. */
  token: string;
}

/** How the keyset fetch macros run. */
export interface FetchKeysetOptions extends WaitingMacroOptions, BulkMacroOptions {
  /** PUT /keyset attempts before giving up (default 3). */
  attempts?: number;
  /** A keyset already present with another checksum is an error. */
  expectedChecksum?: string;
  requestTimeoutMs?: number;
  maxIntervalMs?: number;
  /** Riding out the reboot after the fetch; `rebootStartTimeoutMs` defaults to 10 000 ms here. */
  reboot?: RebootWaitOptions;
}

/** What a keyset fetch did on one controller. */
export interface FetchKeysetResult {
  host: string;
  changed: boolean;
  checksum?: string;
  /** PUT /keyset attempts made. */
  attempts: number;
  /** Whether the controller was seen rebooting after the fetch. */
  rebooted: boolean;
}

interface FetchInput {
  source: string;
  token: string;
  attempts: number;
}

function checkFetchInput(params: FetchKeysetParams, options: FetchKeysetOptions): FetchInput {
  if (params === null || typeof params !== 'object') throw new Vns3ValidationError('params', params, 'must be { source, token }');
  const source = checkSource(params.source);
  const token = checkToken('token', params.token);
  const attempts = checkPositive('attempts', options.attempts ?? 3, { integer: true });
  if (options.expectedChecksum !== undefined && (typeof options.expectedChecksum !== 'string' || options.expectedChecksum.trim() === '')) {
    throw new Vns3ValidationError('expectedChecksum', options.expectedChecksum, 'must be a non-empty string');
  }
  if (options.timeoutMs !== undefined) checkPositive('timeoutMs', options.timeoutMs);
  resolveTiming(options, { timeoutMs: DEFAULT_KEYSET_TIMEOUT_MS, intervalMs: 250, maxIntervalMs: 5_000, factor: 1.5 });
  return { source, token, attempts };
}

type PutOutcome = { kind: 'started'; startedAt: number } | { kind: 'running' } | { kind: 'present' } | { kind: 'failed' };
type WatchOutcome = 'present' | 'failed' | 'restarted';

/** One fetch on one controller: its attempts, deadline and what it saw, changed through its methods. */
class KeysetFetch {
  private readonly host: string;
  private readonly deadline: Deadline;
  private readonly timeoutMs: number;
  private readonly call: { signal: AbortSignal; timeoutMs?: number };
  private used = 0;
  private rebooted = false;
  private lastStarted = 0;

  constructor(
    private readonly client: Vns3Client,
    private readonly input: FetchInput,
    private readonly options: FetchKeysetOptions,
  ) {
    this.host = client.host;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYSET_TIMEOUT_MS;
    this.deadline = new Deadline(this.timeoutMs, { signal: options.signal });
    this.call = { signal: this.deadline.signal, timeoutMs: options.requestTimeoutMs };
  }

  /**
   * Runs the fetch; every failure but the caller's abort names the step or is a Vns3KeysetFetchError.
   * `seen` is the keyset a bulk run has read already (so it is not read twice).
   */
  async run(seen?: { keyset: Keyset | undefined }): Promise<FetchKeysetResult> {
    try {
      return await this.fetch(seen);
    } catch (error) {
      if (this.deadline.timedOut) this.fail(`timed out after ${this.timeoutMs} ms`, error);
      if (error instanceof Vns3WaitTimeoutError && !this.options.signal?.aborted) this.fail(error.message, error);
      throw wrapStep(this.host, 'keyset.fetch', error, this.options.signal);
    } finally {
      this.deadline.dispose();
    }
  }

  private event(detail: string, extra: { level?: 'debug' | 'warn'; data?: Record<string, unknown> } = {}): void {
    emit(this.options.onEvent, { controller: this.host, step: 'keyset.fetch', detail, ...extra });
  }

  private fail(reason: string, cause?: unknown): never {
    throw new Vns3KeysetFetchError({ controller: this.host, source: this.input.source, attempts: this.used, reason, cause });
  }

  private checkChecksum(keyset: Keyset): void {
    const expected = this.options.expectedChecksum;
    if (expected !== undefined && keyset.checksum !== expected) {
      throw new Vns3Error(`${this.host} has a keyset with checksum ${keyset.checksum ?? '(none)'}, expected ${expected}`, { controller: this.host });
    }
  }

  private waitOptions(extra: Pick<WaitForApiOptions, 'expectReboot' | 'healthyPolls' | 'rebootStartTimeoutMs'> = {}): WaitForApiOptions {
    const { reboot, onEvent } = this.options;
    const timeoutMs = Math.max(1, Math.min(reboot?.timeoutMs ?? Infinity, this.deadline.remainingMs()));
    return { ...reboot, ...extra, timeoutMs, signal: this.deadline.signal, onEvent };
  }

  private async fetch(seen?: { keyset: Keyset | undefined }): Promise<FetchKeysetResult> {
    const initial = seen ? seen.keyset : await readKeyset(this.client, this.call);
    if (initial?.keyset_present) {
      this.checkChecksum(initial);
      this.event('unchanged: keyset present', { level: 'debug' });
      return { host: this.host, changed: false, checksum: initial.checksum || undefined, attempts: 0, rebooted: false };
    }
    const running = initial?.in_progress === true;
    if (running) {
      this.lastStarted = initial?.started_at_i ?? 0;
      this.event('a keyset fetch is already running; following it');
    }
    await this.attemptUntilPresent(running);
    return this.finish();
  }

  /** Starts attempts (at most `attempts`) and follows each until one ends with a keyset. */
  private async attemptUntilPresent(alreadyRunning: boolean): Promise<void> {
    const { source, attempts } = this.input;
    let running = alreadyRunning;
    for (;;) {
      if (!running) {
        if (this.used >= attempts) this.fail('every attempt ended without a keyset');
        this.used++;
        this.event(`fetching keyset from ${source} (attempt ${this.used} of ${attempts})`, { data: { attempt: this.used, source } });
        const put = await this.putFetch();
        if (put.kind === 'present') return;
        if (put.kind === 'failed') {
          this.event(`attempt ${this.used} did not start`, { level: 'warn' });
          continue;
        }
        if (put.kind === 'started') this.lastStarted = put.startedAt;
      }
      const outcome = await this.watch();
      if (outcome === 'present') return;
      this.event(`attempt ${this.used} ended without a keyset`, { level: 'warn', data: { attempt: this.used, startedAt: this.lastStarted } });
      if (outcome === 'restarted') this.used++;
      running = outcome === 'restarted';
    }
  }

  /** `PUT /keyset {token, source}`; a reply lost on the way is decided by waiting for the API and looking. */
  private async putFetch(): Promise<PutOutcome> {
    const { token, source } = this.input;
    try {
      const reply = await this.client.put('/keyset', { body: { token, source }, ...this.call });
      if (reply.keyset_present) return { kind: 'present' };
      return { kind: 'started', startedAt: reply.started_at_i ?? 0 };
    } catch (error) {
      if (this.deadline.signal.aborted) throw error;
      if (hasApiMessage(error, KEYSET_IN_PROGRESS)) return { kind: 'running' };
      if (hasApiMessage(error, KEYSET_EXISTS)) return { kind: 'present' };
      if (!isTransientFailure(error)) throw error;
      await waitForApi(this.client, this.waitOptions({ healthyPolls: 1 }));
      const keyset = await readKeyset(this.client, this.call);
      if (keyset?.keyset_present) return { kind: 'present' };
      return keyset?.in_progress ? { kind: 'running' } : { kind: 'failed' };
    }
  }

  /** Follows the running attempt until it ends: with a keyset, or without (vanished / replaced). */
  private async watch(): Promise<WatchOutcome> {
    const intervalMs = this.options.intervalMs ?? 250;
    const timing = { timeoutMs: this.deadline.remainingMs(), intervalMs, maxIntervalMs: Math.max(intervalMs, this.options.maxIntervalMs ?? 5_000), factor: 1.5 };
    const outcome = await runPoller((look) => this.lookAtAttempt(look), timing, { signal: this.deadline.signal });
    if (outcome.state === 'timeout') this.fail(`timed out after ${this.timeoutMs} ms`);
    return outcome.value;
  }

  private async lookAtAttempt(look: Look): Promise<Verdict<WatchOutcome>> {
    const done = (value: WatchOutcome): Verdict<WatchOutcome> => ({ state: 'success', value });
    let keyset: Keyset;
    try {
      keyset = await this.client.get('/keyset', { signal: look.signal, retry: false, timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_POLL_REQUEST_TIMEOUT_MS });
    } catch (error) {
      if (look.signal.aborted) throw error;
      if (isTransientFailure(error)) {
        // A controller reboots after a successful fetch; any outage is ridden out, then we look again.
        this.event('controller went down during the fetch; waiting for its API');
        this.rebooted ||= (await waitForApi(this.client, this.waitOptions())).sawDown;
        return { state: 'retry', backoff: 'reset' };
      }
      if (!(error instanceof Vns3ApiError) || error.status === 401) throw error;
      // This version hides the keyset while unlicensed: ask the way the controller allows, by PUT.
      const probe = await this.putFetch();
      if (probe.kind === 'present') return done('present');
      if (probe.kind === 'running') return { state: 'retry' };
      if (probe.kind === 'started') this.lastStarted = probe.startedAt;
      return done(probe.kind === 'started' ? 'restarted' : 'failed');
    }
    if (keyset.keyset_present) return done('present');
    if (!keyset.in_progress) return done('failed');
    this.lastStarted = Math.max(this.lastStarted, keyset.started_at_i ?? 0);
    return { state: 'retry' };
  }

  /** Rides out the reboot that follows a fetch and checks the controller came back licensed with the keyset. */
  private async finish(): Promise<FetchKeysetResult> {
    this.event('keyset fetched; riding out the reboot that follows');
    if (!this.rebooted) {
      const rebootStartTimeoutMs = this.options.reboot?.rebootStartTimeoutMs ?? DEFAULT_FETCH_REBOOT_START_MS;
      this.rebooted = (await waitForApi(this.client, this.waitOptions({ expectReboot: true, rebootStartTimeoutMs }))).sawDown;
    }
    const config = await this.client.get('/config', this.call);
    if (config.licensed !== true) throw new Vns3Error(`${this.host} has fetched a keyset but is not licensed`, { controller: this.host });
    const final = await readKeyset(this.client, this.call);
    if (!final?.keyset_present) this.fail('the keyset was gone after the controller came back');
    this.checkChecksum(final);
    this.event('keyset fetched; controller licensed', { data: { attempts: this.used, rebooted: this.rebooted, checksum: final.checksum } });
    return { host: this.host, changed: true, checksum: final.checksum || undefined, attempts: this.used, rebooted: this.rebooted };
  }
}

/**
 * Fetches the keyset from `source` unless this controller has one. Retries a failed attempt
 * (`attempts` in all), rides out the reboot after a successful fetch, and returns once the
 * controller answers, licensed. Throws Vns3ValidationError for bad input before any request,
 * Vns3KeysetFetchError when no attempt produced a keyset or the time ran out, Vns3StepError for
 * other failures, and the caller's abort reason.
 */
export async function fetchKeysetFromSource(client: Vns3Client, params: FetchKeysetParams, options: FetchKeysetOptions = {}): Promise<FetchKeysetResult> {
  const input = checkFetchInput(params, options);
  return converge(client.host, 'keyset.fetch', () => new KeysetFetch(client, input, options).run(), options);
}

/**
 * Fetches the keyset from one source on every controller, in parallel (the Python SDK fetches one
 * at a time): reads every controller's keyset first, then fetches where it is missing. Throws
 * Vns3ValidationError for bad input before any request; each controller's failure is in `failed`.
 */
export async function fetchKeysets(clients: readonly Vns3Client[], params: FetchKeysetParams, options: FetchKeysetOptions = {}): Promise<BulkResult<FetchKeysetResult>> {
  checkClients(clients);
  const input = checkFetchInput(params, options);
  return readThenWrite(
    clients,
    {
      read: async (client, { signal }) => {
        try {
          return { keyset: await readKeyset(client, { signal, requestTimeoutMs: options.requestTimeoutMs }) };
        } catch (error) {
          throw wrapStep(client.host, 'keyset.fetch', error, signal);
        }
      },
      plan: (readings) => readings.map(() => input),
      write: (client, fetchInput, { signal, reading }) => new KeysetFetch(client, fetchInput, { ...options, signal }).run(reading),
    },
    { ...options, readStep: 'keyset.read', writeStep: 'keyset.fetch' },
  );
}
