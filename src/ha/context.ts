/**
 * What the role logic (standby.ts, primary.ts) shares with the agent loop: configuration,
 * clients, the cloud provider, the health tracker, the one place events are emitted, and the
 * agent's status. The status changes only through the named methods below, so that every change
 * a reader of `status()` can see is one line here, and the role logic stays plain code over one
 * object with no hidden module state.
 */
import type { Vns3Client } from '../client/index.js';
import { emit, type Vns3Event, type Vns3EventHandler } from '../events.js';
import type { CloudRouteProvider, ControllerRef, RouteAddress, RouteChange } from './cloud/types.js';
import type { HaConfig } from './config.js';
import type { Vns3RouteChange, Vns3RouteSpec } from './failover.js';
import { CloudApiError } from './errors.js';
import { groupDigest, LeaseTracker } from './lease.js';
import { HealthTracker } from './monitor.js';
import type { CheckResult, FailoverRecord, HaCounters, HaPlan, HaRole, HaStatus } from './status.js';

/** The API clients an agent uses; which exist depends on the mode and the configuration. */
export interface AgentClients {
  own?: Vns3Client;
  peerUnderlay?: Vns3Client;
  peerPublic?: Vns3Client;
  standbys: Map<string, Vns3Client>;
  /** The `observers`' controllers, by name. */
  observers: Map<string, Vns3Client>;
}

/** What a role (standby or primary) does each check, and what it would do now. */
export interface RoleLogic {
  check(signal: AbortSignal | undefined, record: CheckResult): Promise<void>;
  plan(signal?: AbortSignal): Promise<{ cloud: RouteChange[]; vns3?: Vns3RouteChange[] }>;
}

/** How the agent builds its context. */
export interface AgentContextOptions {
  config: HaConfig;
  clients: AgentClients;
  /** The cloud provider, built on first use (and again after a failed build). */
  provider: () => Promise<CloudRouteProvider>;
  /** The controller named in events. */
  name: string;
  now: () => number;
  probeTimeoutMs: number;
  cloudSnapshotIntervalMs: number;
  historySize: number;
  onEvent: Vns3EventHandler | undefined;
}

function newCounters(): HaCounters {
  return { checks: 0, failovers: 0, failbacks: 0, releases: 0, yields: 0, vetoes: 0, splits: 0, deferrals: 0, cloudRouteWrites: 0, vns3RouteWrites: 0, errors: 0 };
}

/** Counters a role bumps by itself; the others move with the records below. */
type PlainCounter = 'yields' | 'vetoes' | 'splits' | 'releases' | 'errors';

/** One agent's shared state; its status changes only through the methods below. */
export class AgentContext {
  readonly config: HaConfig;
  readonly dryRun: boolean;
  readonly cloudVeto: boolean;
  readonly probeTimeoutMs: number;
  readonly cloudSnapshotIntervalMs: number;
  readonly now: () => number;
  readonly tracker: HealthTracker;
  readonly clients: AgentClients;
  /** The cloud routes a failover would move (standby) or this controller's own (primary), table+destination keyed. */
  readonly snapshot = new Map<string, RouteAddress>();
  /** The controller named in events. */
  readonly name: string;
  readonly provider: () => Promise<CloudRouteProvider>;
  /** The other agents' leases, as read through their controllers (lease.ts). */
  readonly leases: LeaseTracker;
  /** This agent's view of its HA group, which every standby of the group must share. */
  readonly group: string;
  /** False while this agent cannot renew its own lease: the other agents cannot see it then. */
  leaseRenewed = true;
  private readonly state: HaStatus;
  /** Configuration problems found at run time (a password a controller rejects, a mismatch), by setting. */
  private readonly problems = new Map<string, string>();
  private readonly refs = new Map<string, ControllerRef>();
  private readonly historySize: number;
  private readonly onEvent: Vns3EventHandler | undefined;

  constructor(options: AgentContextOptions) {
    const { config, now } = options;
    this.config = config;
    this.dryRun = config.dryRun;
    this.cloudVeto = config.cloudVeto;
    this.probeTimeoutMs = options.probeTimeoutMs;
    this.cloudSnapshotIntervalMs = options.cloudSnapshotIntervalMs;
    this.now = now;
    this.tracker = new HealthTracker(config.fall, config.rise);
    this.clients = options.clients;
    this.name = options.name;
    this.provider = options.provider;
    this.historySize = options.historySize;
    this.onEvent = options.onEvent;
    this.leases = new LeaseTracker(now, config.checkIntervalMs);
    const primaryIp = config.mode === 'secondary' ? (config.peerUnderlayIp ?? '') : (config.myUnderlayIp ?? '');
    const me = config.mode === 'secondary' ? [{ ip: config.myUnderlayIp ?? '', priority: config.priority }] : [];
    this.group = groupDigest(primaryIp, [...me, ...config.standbys.map((s) => ({ ip: s.underlayIp, priority: s.priority }))]);
    this.state = {
      mode: config.mode,
      cloud: config.cloud,
      dryRun: config.dryRun,
      running: false,
      role: 'starting',
      reason: 'no check yet',
      roleSince: now(),
      health: 'unknown',
      fallCount: 0,
      riseCount: 0,
      recentChecks: [],
      routesHeld: { cloud: [], vns3: [] },
      snapshot: { cloud: [], vns3: [] },
      problems: [],
      counters: newCounters(),
    };
  }

  /** Emits an HA event about this agent's controller. */
  event(step: string, detail: string, data?: Record<string, unknown>, level?: Vns3Event['level']): void {
    // Absent, not undefined: handlers spread events over their own defaults (`vns3-ha` prints `level`).
    emit(this.onEvent, { controller: this.name, step, detail, ...(level ? { level } : {}), ...(data ? { data } : {}) });
  }

  /** Cloud identity of a controller by private IP, cached; undefined when the cloud does not know it (yet). */
  async ref(privateIp: string | undefined, signal?: AbortSignal): Promise<ControllerRef | undefined> {
    if (!privateIp) return undefined;
    const hit = this.refs.get(privateIp);
    if (hit) return hit;
    try {
      const ref = await (await this.provider()).resolve(privateIp, { signal });
      this.refs.set(privateIp, ref);
      return ref;
    } catch (e) {
      if (signal?.aborted) throw e;
      // Only "no such instance" means "not known yet"; anything else (credentials, throttling, a
      // timeout) is the cloud failing, shown as the cloud said it, and the caller's call fails.
      if (e instanceof CloudApiError && e.code === 'NotFound') {
        this.event('ha.resolve', `cloud does not know ${privateIp} yet: ${errorText(e)}`, undefined, 'debug');
        return undefined;
      }
      this.event('ha.cloud.error', `cannot resolve ${privateIp}: ${errorText(e)}`, undefined, 'warn');
      throw e;
    }
  }

  /**
   * Notes (message) or clears (undefined) a configuration problem found at run time, such as a
   * password a controller rejects; each new problem is an error event at once, and every check
   * records the problems as its error until they clear.
   */
  setProblem(key: string, message: string | undefined): void {
    const had = this.problems.get(key);
    if (message === undefined) {
      if (had === undefined) return;
      this.problems.delete(key);
      this.event('ha.config.ok', `${key}: problem cleared`, { key });
    } else {
      if (had === message) return;
      this.problems.set(key, message);
      this.state.counters.errors++;
      this.event('ha.config.error', `${key}: ${message}`, { key }, 'error');
    }
    this.state.problems = [...this.problems.entries()].map(([k, m]) => `${k}: ${m}`);
  }

  /** The run-time configuration problems, one line each. */
  get problemList(): readonly string[] {
    return this.state.problems;
  }

  /** What `ref` resolved earlier, without asking the cloud. */
  cachedRef(privateIp: string): ControllerRef | undefined {
    return this.refs.get(privateIp);
  }

  /** The role now. */
  get role(): HaRole {
    return this.state.role;
  }

  /** Why the agent is in its role (or not acting), in a few words. */
  get reason(): string {
    return this.state.reason;
  }

  /** The cloud routes this agent asserts while active. */
  get heldCloudRoutes(): readonly RouteAddress[] {
    return this.state.routesHeld.cloud;
  }

  /** A copy of the status, safe to hand out. */
  status(): HaStatus {
    return structuredClone(this.state);
  }

  /** Moves to `role` (an event when it changes) and says why. */
  setRole(role: HaRole, reason: string): void {
    const from = this.state.role;
    this.state.reason = reason;
    if (from === role) return;
    this.state.role = role;
    this.state.roleSince = this.now();
    this.event('ha.role', `${from} → ${role}: ${reason}`, { from, to: role, reason }, role === 'active' ? 'warn' : 'info');
  }

  /** Says why the agent stays in its role. */
  setReason(reason: string): void {
    this.state.reason = reason;
  }

  /** Whether the check loop runs. */
  setRunning(running: boolean): void {
    this.state.running = running;
  }

  /** One more yield, veto, split, release or error. */
  count(counter: PlainCounter): void {
    this.state.counters[counter]++;
  }

  /** A failure in `pointRoutesAt` or a check: counted and, when given, the check records it. */
  recordError(record?: CheckResult, message?: string): void {
    this.state.counters.errors++;
    if (record && message !== undefined) record.error = message;
  }

  /** What a standby defers to: counted, shown as the reason, and noted in the check. */
  recordDeferral(record: CheckResult, why: string): void {
    this.state.counters.deferrals++;
    this.state.reason = `not acting: ${why}`;
    record.actions.push(`deferred: ${why}`);
    this.event('ha.defer', why, undefined, 'info');
  }

  /** The cloud routes this agent now asserts (none when it stopped asserting). */
  holdCloudRoutes(routes: RouteAddress[]): void {
    this.state.routesHeld.cloud = routes;
  }

  /** The VNS3 routes this agent now holds (none after a withdrawal). */
  holdVns3Routes(cidrs: string[]): void {
    this.state.routesHeld.vns3 = cidrs;
  }

  /** Shows what a failover would move: the cloud snapshot and the given VNS3 routes. */
  publishSnapshot(vns3: Vns3RouteSpec[]): void {
    this.state.snapshot = { cloud: [...this.snapshot.values()], vns3 };
  }

  /** Counts and reports the cloud routes a write moved (or, in a dry run, would move). */
  reportCloudChanges(changes: readonly RouteChange[]): void {
    for (const c of changes) {
      if (c.action === 'unchanged') continue;
      if (!this.dryRun) this.state.counters.cloudRouteWrites++;
      this.event('ha.route.cloud', `${c.tableId} ${c.destination}: ${c.action} ${c.from ?? ''} → ${c.to}${this.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: this.dryRun });
    }
  }

  /** Counts and reports the VNS3 routes created or deleted (or, in a dry run, that would be). */
  reportVns3Changes(changes: readonly Vns3RouteChange[]): void {
    for (const c of changes) {
      if (!this.dryRun) this.state.counters.vns3RouteWrites++;
      this.event('ha.route.vns3', `${c.action} ${c.cidr}${this.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: this.dryRun });
    }
  }

  /** A standby's failover: what it now holds, the record, and its errors counted. */
  recordFailover(failover: FailoverRecord, held: HaStatus['routesHeld']): void {
    this.state.routesHeld = held;
    this.state.lastFailover = failover;
    this.state.counters.failovers++;
    this.state.counters.errors += failover.errors.length;
  }

  /** The standby's failover reached its goal: every route read back as moved. */
  completeFailover(at: number): void {
    if (!this.state.lastFailover) return;
    this.state.lastFailover.complete = true;
    this.state.lastFailover.completedAt = at;
  }

  /** A primary took its routes back: it asserts them again. */
  recordFailback(routes: RouteAddress[], why: string): void {
    this.state.counters.failbacks++;
    this.state.routesHeld.cloud = routes;
    this.setRole('active', why);
  }

  /** A finished check: the tracker's state copied into it and the status, and kept in the history. */
  recordCheck(record: CheckResult): void {
    const s = this.state;
    record.health = s.health = this.tracker.state;
    record.fallCount = s.fallCount = this.tracker.fallCount;
    record.riseCount = s.riseCount = this.tracker.riseCount;
    record.role = s.role;
    s.counters.checks++;
    s.lastCheck = record;
    s.recentChecks.push(record);
    if (s.recentChecks.length > this.historySize) s.recentChecks.splice(0, s.recentChecks.length - this.historySize);
  }

  /** The plan `agent.plan()` computed last. */
  recordPlan(plan: HaPlan): void {
    this.state.lastPlan = plan;
  }

  /** A copy of the counters, for the stop event. */
  counters(): HaCounters {
    return { ...this.state.counters };
  }
}

/** An error's message, or the thrown value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
