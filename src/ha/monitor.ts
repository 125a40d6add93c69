/**
 * Health of the primary as several independent witnesses see it, and the
 * fall/rise state machine that turns checks into a verdict.
 *
 * The witness rule (our choice): a check counts as "primary failed" only when
 * at least two network witnesses answered and every one that answered says
 * down: the primary's API on its underlay address, its API on its public
 * address, and our own controller's view of the mesh (`GET /peering`, the
 * primary's `reachable`). A witness that could not be asked (our own
 * controller busy, a TLS trust problem) abstains. The cloud's view of the
 * instance then confirms (stopped, terminated, deallocated) or, when it says
 * `running` while the network says down, vetoes the failover if `cloudVeto`
 * is on: a VM the cloud still runs is more likely cut off than dead, and
 * moving routes away from a live primary is how split brain starts. A cut of
 * the pair's own path (underlay and overlay down, public API answering) is a
 * `split` check and moves nothing.
 */
import { isAbortError } from '../abort.js';
import { Vns3ApiError, Vns3ConnectionError, Vns3TimeoutError, type Vns3Client } from '../client/index.js';
import type { InstanceState } from './cloud/types.js';

/**
 * `self` and `standby` are the primary agent's: its own controller's API and the standby's.
 * `observers`: other controllers of the mesh (listed standbys and `observers`), each asked how it
 * sees the primary over its own links; a third party that breaks a tie.
 */
export type WitnessName = 'underlay' | 'public' | 'mesh' | 'cloud' | 'observers' | 'self' | 'standby';
/** One witness's answer: the primary is reachable, it is not, or the witness could not tell. */
export type WitnessResult = 'up' | 'down' | 'unknown';

/** What one witness (a network path, the cloud, or the primary's own API) reported in a check. */
export interface WitnessReport {
  name: WitnessName;
  result: WitnessResult;
  durationMs: number;
  /** Why, in a few words (HTTP status, error code, cloud state); never a secret. */
  detail?: string;
  /** The cloud witness only. */
  instanceState?: InstanceState;
  /** The HTTP status of an API witness's error answer (401: a wrong password). */
  httpStatus?: number;
}

/**
 * `up`: every network witness that answered says up. `down`: see the rule
 * above. `split`: the witnesses disagree. `vetoed`: the network says down but
 * the cloud runs the VM. `unknown`: too few witnesses answered.
 */
export type CheckVerdict = 'up' | 'down' | 'split' | 'vetoed' | 'unknown';
/** The standby's verdict on the primary: `unknown` until enough checks agree (`fall` / `rise`). */
export type PrimaryHealth = 'unknown' | 'healthy' | 'failed';

const NETWORK: readonly WitnessName[] = ['underlay', 'public', 'mesh'];
const GONE: readonly InstanceState[] = ['stopped', 'stopping', 'terminated', 'deallocated'];
const ALIVE: readonly InstanceState[] = ['running', 'pending'];

/** How {@link judge} weighs the third parties. */
export interface JudgeOptions {
  cloudVeto: boolean;
  /**
   * The pair's witnesses cannot break a tie (`cloud: overlay`, or `cloud_veto: false`): a failure
   * then needs the cloud to confirm the instance gone, or the observers to see the primary down.
   */
  needThirdParty?: boolean;
}

/**
 * The verdict of one check from its witnesses' reports, by the rule above. Observers (when
 * configured) are third parties: one that still reaches the primary vetoes, and where a tie must
 * be broken by a third party, a failure needs them to see it down too.
 */
export function judge(witnesses: readonly WitnessReport[], options: JudgeOptions): CheckVerdict {
  const network = witnesses.filter((w) => NETWORK.includes(w.name) && w.result !== 'unknown');
  const cloud = witnesses.find((w) => w.name === 'cloud')?.instanceState;
  const observers = witnesses.find((w) => w.name === 'observers')?.result;
  const downs = network.filter((w) => w.result === 'down').length;
  // The cloud alone never decides: with no network witness answering we know nothing.
  if (network.length === 0) return 'unknown';
  if (downs === 0) return 'up';
  if (downs > 0 && downs < network.length) return 'split';
  // Every answering network witness says down from here on.
  if (cloud !== undefined && GONE.includes(cloud)) return 'down';
  if (observers === 'up') return 'vetoed';
  if (downs < 2) return 'unknown';
  if (options.cloudVeto && cloud !== undefined && ALIVE.includes(cloud)) return 'vetoed';
  if (options.needThirdParty || observers !== undefined) return observers === 'down' ? 'down' : 'unknown';
  return 'down';
}

/**
 * Consecutive-check counting. From `unknown` one healthy check is enough
 * (nothing was failed over, so there is nothing to flap); from `failed` it
 * takes `rise`. Any check that is neither clearly up nor clearly down breaks
 * both runs, so a lossy or split view never adds up to a transition.
 */
export class HealthTracker {
  state: PrimaryHealth = 'unknown';
  fallCount = 0;
  riseCount = 0;

  constructor(
    readonly fall: number,
    readonly rise: number,
  ) {}

  observe(verdict: CheckVerdict): { from: PrimaryHealth; to: PrimaryHealth } | undefined {
    const from = this.state;
    if (verdict === 'down') {
      this.riseCount = 0;
      this.fallCount++;
      if (this.state !== 'failed' && this.fallCount >= this.fall) this.state = 'failed';
    } else if (verdict === 'up') {
      this.fallCount = 0;
      this.riseCount++;
      const needed = this.state === 'unknown' ? 1 : this.rise;
      if (this.state !== 'healthy' && this.riseCount >= needed) this.state = 'healthy';
    } else {
      this.fallCount = 0;
      this.riseCount = 0;
    }
    return from === this.state ? undefined : { from, to: this.state };
  }

  /** Forget the runs (after this agent itself changed what it watches). */
  reset(state: PrimaryHealth = this.state): void {
    this.state = state;
    this.fallCount = 0;
    this.riseCount = 0;
  }
}

const TLS_CODE = /CERT|TLS|SSL|FINGERPRINT|SELF_SIGNED|UNABLE_TO_VERIFY/i;

/** Maps the outcome of one API request to a witness result. */
export function classifyApiOutcome(error: unknown): { result: WitnessResult; detail: string } {
  if (error === undefined) return { result: 'up', detail: 'answered' };
  if (error instanceof Vns3ApiError) {
    // The web front answers 502-504 while the API behind it is down (reboot): not serving.
    if (error.status >= 502 && error.status <= 504) return { result: 'down', detail: `HTTP ${error.status}` };
    // 401 and other errors still prove the API process is alive.
    return { result: 'up', detail: `HTTP ${error.status}` };
  }
  if (error instanceof Vns3TimeoutError) return { result: 'down', detail: 'timeout' };
  if (error instanceof Vns3ConnectionError) {
    // Something completed a TCP handshake but we cannot trust it: no vote either way.
    if (error.code && TLS_CODE.test(error.code)) return { result: 'unknown', detail: `TLS ${error.code}` };
    return { result: 'down', detail: error.code ?? 'connection failed' };
  }
  return { result: 'unknown', detail: error instanceof Error ? error.name : 'error' };
}

export interface ProbeOptions {
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; durationMs: number }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, durationMs: Math.round(performance.now() - t0) };
  } catch (error) {
    return { error, durationMs: Math.round(performance.now() - t0) };
  }
}

function rethrowAbort(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted || (error !== undefined && isAbortError(error) && signal?.aborted)) throw signal?.reason ?? error;
}

/** The primary's API: any HTTP answer but a gateway error means it is serving. Returns the body when it could be read. */
export async function probeApi<T>(
  name: WitnessName,
  request: (options: { signal?: AbortSignal | undefined; timeoutMs: number; retry: false }) => Promise<T>,
  options: ProbeOptions,
): Promise<{ report: WitnessReport; body?: T | undefined }> {
  const r = await timed(() => request({ signal: options.signal, timeoutMs: options.timeoutMs, retry: false }));
  rethrowAbort(r.error, options.signal);
  const { result, detail } = classifyApiOutcome(r.error);
  const report: WitnessReport = { name, result, detail, durationMs: r.durationMs };
  if (r.error instanceof Vns3ApiError) report.httpStatus = r.error.status;
  return { report, body: r.error === undefined ? (r.value as T) : undefined };
}

export interface MeshMatch {
  overlayIp?: string | undefined;
  addresses: readonly string[];
}

interface PeerView {
  id?: number;
  address?: string;
  reachable?: boolean;
  overlay_ipaddress?: string;
  self?: boolean;
}

/** Our own controller's view of the primary in the peering mesh; abstains when our controller cannot tell. */
export async function probeMesh(own: Vns3Client, match: MeshMatch, options: ProbeOptions): Promise<WitnessReport> {
  const r = await timed(() => own.get('/peering', { signal: options.signal, timeoutMs: options.timeoutMs, retry: false }));
  rethrowAbort(r.error, options.signal);
  if (r.error !== undefined) {
    const report: WitnessReport = { name: 'mesh', result: 'unknown', durationMs: r.durationMs, detail: `own controller: ${classifyApiOutcome(r.error).detail}` };
    if (r.error instanceof Vns3ApiError) report.httpStatus = r.error.status;
    return report;
  }
  const body = (r.value ?? {}) as { managers?: Record<string, PeerView>; controllers?: Record<string, PeerView> };
  const peers = Object.values(body.controllers ?? body.managers ?? {});
  const wanted = new Set(match.addresses.map((a) => a.toLowerCase()));
  const peer = peers.find(
    (p) =>
      !p.self &&
      ((p.address !== undefined && wanted.has(p.address.toLowerCase())) ||
        (match.overlayIp !== undefined && p.overlay_ipaddress === match.overlayIp)),
  );
  if (!peer) return { name: 'mesh', result: 'unknown', durationMs: r.durationMs, detail: 'primary is not a configured peer' };
  return {
    name: 'mesh',
    result: peer.reachable ? 'up' : 'down',
    durationMs: r.durationMs,
    detail: `peer ${peer.id ?? '?'} ${peer.reachable ? 'reachable' : 'unreachable'}`,
  };
}

/** The cloud's view of the primary's instance; never votes on its own, only confirms or vetoes. */
export async function probeCloud(state: (signal?: AbortSignal) => Promise<InstanceState>, options: { signal?: AbortSignal | undefined }): Promise<WitnessReport> {
  const r = await timed(() => state(options.signal));
  rethrowAbort(r.error, options.signal);
  if (r.error !== undefined) {
    const detail = r.error instanceof Error ? r.error.message.slice(0, 160) : 'error';
    return { name: 'cloud', result: 'unknown', durationMs: r.durationMs, detail };
  }
  const s = r.value ?? 'unknown';
  const result: WitnessResult = ALIVE.includes(s) ? 'up' : GONE.includes(s) ? 'down' : 'unknown';
  return { name: 'cloud', result, durationMs: r.durationMs, detail: s, instanceState: s };
}

/**
 * Every observer's view of the primary as one witness: `up` when any of them reaches it, `down`
 * when at least one answered and all that answered see it unreachable, `unknown` otherwise. Each
 * observer's own report (an HTTP 401 included) is returned too.
 */
export async function probeObservers(observers: ReadonlyMap<string, Vns3Client>, match: MeshMatch, options: ProbeOptions): Promise<{ report: WitnessReport; each: Map<string, WitnessReport> }> {
  const t0 = performance.now();
  const names = [...observers.keys()];
  const reports = await Promise.all(names.map((n) => probeMesh(observers.get(n)!, match, options)));
  const each = new Map(names.map((n, i) => [n, reports[i]!]));
  const answered = names.filter((n) => each.get(n)!.result !== 'unknown');
  const up = answered.filter((n) => each.get(n)!.result === 'up');
  const result: WitnessResult = up.length > 0 ? 'up' : answered.length > 0 ? 'down' : 'unknown';
  const detail = names.map((n) => `${n}: ${each.get(n)!.detail?.replace(/^own controller: /, '') ?? each.get(n)!.result}`).join('; ');
  return { report: { name: 'observers', result, durationMs: Math.round(performance.now() - t0), detail }, each };
}
