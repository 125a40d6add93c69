/**
 * The HA agent: one check per interval on a fixed grid (a slow check skips
 * the ticks it overran instead of shifting every later one), each check
 * probing its witnesses in parallel with retries off and a timeout shorter
 * than the interval, then acting by role (standby.ts, primary.ts). Checks
 * never overlap; `checkOnce()` queues behind a running one. `stop()` aborts
 * the check in flight and leaves no timer or connection behind.
 */
import { Deadline, MAX_TIMER_MS, sleep } from '../abort.js';
import type { Vns3EventHandler } from '../events.js';
import { createAgentClients, type HaClientFactory } from './clients.js';
import { withCloudDeadlines } from './cloud/guard.js';
import type { CloudRouteProvider } from './cloud/types.js';
import { haEnvName, redactHaConfig, type HaConfig } from './config.js';
import { tieBreakProblem } from './config-observers.js';
import { AgentContext, errorText, type RoleLogic } from './context.js';
import { Vns3HaConfigError, type HaConfigProblem } from './errors.js';
import { LeasePublisher, withdrawLease } from './lease.js';
import { PrimaryRole } from './primary.js';
import { cloudConfigProblems, createCloudProvider, type CloudProviderOptions } from './providers.js';
import { StandbyRole } from './standby.js';
import type { CheckResult, HaPlan, HaStatus } from './status.js';

/** The agent's configuration: an {@link HaConfig}, as `loadHaConfig` or `parseHaConfig` return it. */
export type HaAgentConfig = HaConfig;

/** What the agent runs with besides its configuration; every field has a default fit for production. */
export interface HaAgentDeps extends CloudProviderOptions {
  /** A ready provider (a test double, or one of your own); default: built from the configuration. */
  provider?: CloudRouteProvider | undefined;
  clientFactory?: HaClientFactory | undefined;
  /** Epoch ms; for timestamps and delays (the loop's own ticks use the real clock). */
  now?: (() => number) | undefined;
  onEvent?: Vns3EventHandler | undefined;
  /** Checks kept in `status().recentChecks` (default 50). */
  historySize?: number | undefined;
  /** Per probe; default 80% of the interval, within 0.5 to 5 s (a probe may outlast a short interval: checks never overlap). */
  probeTimeoutMs?: number | undefined;
  /** How often a healthy peer's cloud routes are re-read into the snapshot (default 60 s). */
  cloudSnapshotIntervalMs?: number | undefined;
  /**
   * The deadline of one cloud call (`pointRoutesAt`: per route); default the check interval,
   * within 2 to 10 s. A call past it fails the check's step and the next check runs on time.
   */
  cloudTimeoutMs?: number | undefined;
}

/** A running (or runnable) HA agent. */
export interface HaAgent {
  /** Starts the check loop; does nothing when it runs or was stopped. */
  start(): Promise<void>;
  /** Aborts the check in flight, ends the loop and closes every client; an agent cannot restart. */
  stop(): Promise<void>;
  /** Runs one check (and what it calls for) now, between the loop's checks if it runs. */
  checkOnce(): Promise<CheckResult>;
  /** What a failover (standby) or a take-back (primary) would change now; writes nothing. */
  plan(options?: { signal?: AbortSignal }): Promise<HaPlan>;
  /** A copy of the agent's observable state. */
  status(): HaStatus;
}

/**
 * What the agent itself needs beyond what `parseHaConfig` checks (the addresses its mode watches,
 * a standby list that names neither itself nor the primary, the cloud's settings, a positive probe
 * timeout); every problem at once.
 */
export function agentConfigProblems(cfg: HaAgentConfig, deps: HaAgentDeps = {}): HaConfigProblem[] {
  const out: HaConfigProblem[] = [];
  const need = (key: string, ok: unknown, reason: string): void => {
    if (!ok) out.push({ key, envName: haEnvName(key), reason });
  };
  if (cfg.mode === 'secondary') {
    need('my_api_url', cfg.myApiUrl, 'is required (or my_underlay_ip) to read this controller');
    need('peer_api_url', cfg.peerApiUrl, 'is required (or peer_underlay_ip) to watch the primary');
    need('peer_public_api_url', cfg.peerPublicApiUrl, 'is required (or peer_public_ip) to watch the primary');
  } else {
    need('my_underlay_ip', cfg.myUnderlayIp || (cfg.myApiUrl && cfg.myApiPassword), 'is required in primary mode (or my_api_url with my_api_password) so the agent can find itself in the cloud');
  }
  for (const s of cfg.standbys) {
    if (s.underlayIp === cfg.myUnderlayIp) out.push({ key: 'standbys', envName: haEnvName('standbys'), reason: `lists this controller (${s.name}) itself`, shown: JSON.stringify(s.name) });
    if (cfg.mode === 'secondary' && s.underlayIp === cfg.peerUnderlayIp) out.push({ key: 'standbys', envName: haEnvName('standbys'), reason: `lists the primary (${s.name}) as a standby`, shown: JSON.stringify(s.name) });
  }
  const tie = tieBreakProblem(cfg);
  if (tie) need('observers', false, tie);
  if (!deps.provider) out.push(...cloudConfigProblems(cfg, deps.env));
  if (deps.probeTimeoutMs !== undefined && !(deps.probeTimeoutMs > 0)) out.push({ key: 'probe_timeout', envName: haEnvName('probe_timeout'), reason: 'must be positive' });
  if (deps.cloudTimeoutMs !== undefined && !(deps.cloudTimeoutMs > 0 && deps.cloudTimeoutMs <= MAX_TIMER_MS)) out.push({ key: 'cloud_timeout', envName: haEnvName('cloud_timeout'), reason: 'must be positive and at most 2^31-1 ms' });
  return out;
}

/**
 * The given provider, or one built from the configuration on first use and again after a failed
 * build; either way every call it makes has a deadline (cloud/guard.ts).
 */
function providerLoader(config: HaConfig, deps: HaAgentDeps, timeoutMs: number): () => Promise<CloudRouteProvider> {
  const given = deps.provider;
  if (given) {
    const guarded = withCloudDeadlines(given, timeoutMs);
    return () => Promise.resolve(guarded);
  }
  let pending: Promise<CloudRouteProvider> | undefined;
  return () => {
    pending ??= createCloudProvider(config, deps).then((p) => withCloudDeadlines(p, timeoutMs)).catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}

/**
 * Creates an HA agent for one controller (primary or secondary mode); it does nothing until
 * `start()` or `checkOnce()`. Throws `Vns3HaConfigError` listing every problem when the
 * configuration cannot work for its mode (the addresses it watches missing, a standby list naming
 * itself or the primary, the cloud's settings missing, a probe timeout that is not positive), and
 * an error when `ca_file` cannot be read.
 */
export function createHaAgent(config: HaAgentConfig, deps: HaAgentDeps = {}): HaAgent {
  const problems = agentConfigProblems(config, deps);
  if (problems.length > 0) throw new Vns3HaConfigError(problems, config.warnings);
  const probeTimeoutMs = deps.probeTimeoutMs ?? Math.max(500, Math.min(5_000, Math.round(config.checkIntervalMs * 0.8)));
  const cloudTimeoutMs = deps.cloudTimeoutMs ?? Math.max(2_000, Math.min(10_000, config.checkIntervalMs));
  const clients = createAgentClients(config, probeTimeoutMs, deps.clientFactory);
  const ctx = new AgentContext({
    config,
    clients,
    provider: providerLoader(config, deps, cloudTimeoutMs),
    name: config.myUnderlayIp ?? clients.own?.host ?? 'ha',
    now: deps.now ?? Date.now,
    probeTimeoutMs,
    cloudSnapshotIntervalMs: deps.cloudSnapshotIntervalMs ?? 60_000,
    historySize: deps.historySize ?? 50,
    onEvent: deps.onEvent,
  });
  const logic = config.mode === 'secondary' ? new StandbyRole(ctx) : new PrimaryRole(ctx);
  if (config.mode === 'secondary') ctx.setRole('passive', 'watching the primary');
  // A backstop over the per-call deadlines: a check never holds the loop longer than this.
  const checkTimeoutMs = Math.min(MAX_TIMER_MS, 4 * probeTimeoutMs + 4 * cloudTimeoutMs);
  return new Agent(ctx, logic, checkTimeoutMs);
}

/** The loop around one role: scheduling, queueing, recording and stopping. */
class Agent implements HaAgent {
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private closed = false;
  /** Lease numbers start at the wall clock, so that a restarted agent's leases still count up. */
  private leaseSeq = Date.now();
  private leasePublished = false;
  private leaseFailing = false;
  /** What the last lease said (role, willingness), and the checks since it was renewed. */
  private leaseSays: string | undefined;
  private checksSinceLease = 0;
  private readonly publisher: LeasePublisher | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly logic: RoleLogic,
    private readonly checkTimeoutMs: number,
  ) {
    this.publisher = ctx.clients.own && new LeasePublisher(ctx.clients.own);
  }

  async start(): Promise<void> {
    if (this.loop || this.closed) return;
    const { ctx } = this;
    const { config } = ctx;
    this.controller = new AbortController();
    ctx.setRunning(true);
    ctx.event('ha.start', `${config.mode} agent (${config.cloud}${ctx.dryRun ? ', dry run' : ''}) every ${config.checkIntervalMs} ms, fall ${config.fall}, rise ${config.rise}`, {
      config: redactHaConfig(config) as unknown as Record<string, unknown>,
      probeTimeoutMs: ctx.probeTimeoutMs,
    });
    this.loop = this.run(this.controller.signal, config.checkIntervalMs);
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.controller?.abort(new Error('HA agent stopped'));
    await this.loop;
    await this.queue;
    this.ctx.setRunning(false);
    this.ctx.setRole('stopped', 'stopped');
    const { own, peerUnderlay, peerPublic, standbys, observers } = this.ctx.clients;
    // Say so at once rather than let the lease go stale: another standby may take over sooner.
    if (own && this.leasePublished) await withdrawLease(own, { timeoutMs: this.ctx.probeTimeoutMs }).catch(() => undefined);
    await Promise.all([own, peerUnderlay, peerPublic, ...standbys.values(), ...observers.values()].map((c) => c?.close()));
    this.ctx.event('ha.stop', 'agent stopped', { counters: this.ctx.counters() });
  }

  checkOnce(): Promise<CheckResult> {
    if (this.closed) return Promise.reject(new Error('HA agent is stopped'));
    return this.enqueue(this.controller?.signal);
  }

  async plan(options: { signal?: AbortSignal } = {}): Promise<HaPlan> {
    const { ctx } = this;
    const p = await this.logic.plan(options.signal);
    const self = await ctx.ref(ctx.config.myUnderlayIp, options.signal);
    const plan: HaPlan = {
      computedAt: ctx.now(),
      to: self?.networkInterfaceId ?? self?.instanceId ?? ctx.config.myUnderlayIp ?? ctx.name,
      cloudRoutes: p.cloud.filter((c) => c.action !== 'unchanged'),
      vns3Routes: p.vns3 ?? [],
    };
    ctx.recordPlan(plan);
    ctx.event('ha.plan', `would move ${plan.cloudRoutes.length} cloud and create ${plan.vns3Routes.length} VNS3 route(s)`, { ...plan });
    return plan;
  }

  status(): HaStatus {
    return this.ctx.status();
  }

  /** Checks on the grid `t0 + k × interval` until stopped; a check that overran skips the ticks it missed. */
  private async run(signal: AbortSignal, interval: number): Promise<void> {
    const t0 = Date.now();
    let tick = 0;
    while (!signal.aborted) {
      await this.enqueue(signal).catch(() => undefined);
      tick = Math.max(tick + 1, Math.floor((Date.now() - t0) / interval) + 1);
      await sleep(Math.max(0, t0 + tick * interval - Date.now()), signal).catch(() => undefined);
    }
  }

  private enqueue(signal: AbortSignal | undefined): Promise<CheckResult> {
    const next = this.queue.then(() => this.runCheck(signal));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runCheck(signal: AbortSignal | undefined): Promise<CheckResult> {
    const { ctx } = this;
    const record: CheckResult = { seq: ++this.seq, startedAt: ctx.now(), durationMs: 0, verdict: 'unknown', witnesses: [], health: ctx.tracker.state, fallCount: 0, riseCount: 0, role: ctx.role, actions: [] };
    const t0 = performance.now();
    const deadline = new Deadline(this.checkTimeoutMs, { signal });
    try {
      await this.logic.check(deadline.signal, record);
    } catch (e) {
      if (signal?.aborted) throw e;
      ctx.recordError(record, deadline.timedOut ? `check exceeded its ${this.checkTimeoutMs} ms deadline` : errorText(e));
      ctx.event('ha.error', `check ${record.seq}: ${record.error}`, { seq: record.seq }, 'error');
    } finally {
      deadline.dispose();
    }
    await this.publishLease(signal);
    // A password a controller rejects fails every check (and `vns3-ha --once`) until it is fixed.
    if (ctx.problemList.length > 0 && record.error === undefined) record.error = ctx.problemList.join('; ');
    record.durationMs = Math.round(performance.now() - t0);
    ctx.recordCheck(record);
    const summary = record.witnesses.map((w) => `${w.name}=${w.result}`).join(' ');
    ctx.event('ha.check', `#${record.seq} ${record.verdict} (${summary}) ${record.health} ${record.role} in ${record.durationMs} ms`, { ...record }, record.error ? 'warn' : 'info');
    return record;
  }

  /**
   * Renews this agent's lease on its own controller (lease.ts) at once when what it says changes
   * (role, willingness), else every `lease_period` (default: every check). Each renewal is two route
   * writes: at a 0.25 s interval that is 8 writes a second on the controller, which `lease_period: 1`
   * cuts to 2, at a price: the lease states the renewal period as its interval and readers wait
   * four of them before they call the agent stopped (a dead higher-priority standby blocks the
   * next one for about 4 s instead of 1). A failure is a warning, once per outage.
   */
  private async publishLease(signal: AbortSignal | undefined): Promise<void> {
    const { ctx, publisher } = this;
    if (!publisher || ctx.dryRun) return;
    const { config } = ctx;
    const every = Math.max(1, Math.round((config.leasePeriodMs ?? 0) / config.checkIntervalMs));
    const willing = !ctx.problemList.some((p) => p.startsWith('standbys:'));
    const says = `${ctx.role} ${willing}`;
    if (says === this.leaseSays && !this.leaseFailing && ++this.checksSinceLease < every) return;
    this.leaseSays = says;
    this.checksSinceLease = 0;
    const lease = {
      mode: config.mode,
      role: ctx.role,
      priority: config.priority,
      seq: ++this.leaseSeq,
      intervalMs: every * config.checkIntervalMs,
      willing,
      group: ctx.group,
      watch: (config.mode === 'secondary' ? config.peerUnderlayIp : config.myUnderlayIp) ?? '',
    };
    try {
      this.leasePublished = true;
      await publisher.publish(lease, { signal, timeoutMs: ctx.probeTimeoutMs });
      if (this.leaseFailing) ctx.event('ha.lease', 'lease renewed again', undefined, 'info');
      this.leaseFailing = false;
      ctx.leaseRenewed = true;
    } catch (e) {
      if (signal?.aborted) return;
      if (!this.leaseFailing) ctx.event('ha.lease', `cannot renew this agent's lease on its controller: ${errorText(e)}; other agents will count it as stopped`, undefined, 'warn');
      this.leaseFailing = true;
      ctx.leaseRenewed = false;
    }
  }
}
