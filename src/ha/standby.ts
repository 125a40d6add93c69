/**
 * Secondary mode: watch the primary and, when it has failed, take over its cloud and VNS3 routes.
 *
 * A failover is a goal: once active, the standby re-drives it every check until the cloud and VNS3
 * routes read back as moved. A route pointing back at the primary is given up only when the
 * primary's agent says it is active again (its lease): a failed write leaves the same target, and
 * mistaking one for the other strands traffic on a dead controller.
 *
 * What keeps several agents from fighting over one route:
 * - a standby fails over once per failure (edge-triggered), and only if no higher-priority
 *   standby's agent is running and willing (its lease), no running standby already holds the
 *   routes, and every running standby is configured like this one (same list, same priorities);
 * - while active, a route held by another HA member whose agent asserts it makes it stop;
 * - on release it first stops asserting and then withdraws its VNS3 routes; the primary takes the
 *   cloud routes back only after it has seen that withdrawal (primary.ts).
 */
import type { RouteAddress, RouteChange } from './cloud/types.js';
import { errorText, type AgentContext, type RoleLogic } from './context.js';
import { RouteChangeError } from './errors.js';
import { advertisedRoutes, assumedElsewhere, assumeVns3Routes, mergeRoutes, planCloudRoutes, targetIds, withdrawVns3Routes, type Vns3RouteChange, type Vns3RouteSpec } from './failover.js';
import { readLease, type Lease } from './lease.js';
import { judge, probeApi, probeCloud, probeMesh, probeObservers, type WitnessReport } from './monitor.js';
import { authProblem, groupMismatch, learnedFromPrimary, observerClients, readStandbyLeases } from './standby-peers.js';
import { StandbyMemory } from './state.js';
import type { CheckResult } from './status.js';

/** The primary's key among the leases (not a name a `standbys` entry can have: they are non-empty strings, this one is a NUL). */
const PRIMARY = '\u0000primary';

/** Where the standby learned the primary's VNS3 routes from; the primary itself is the authority. */
type Vns3Source = 'primary' | 'mesh' | 'state';

/** The secondary's decisions, check by check (see the top of this file). */
export class StandbyRole implements RoleLogic {
  private readonly primaryIp: string;
  private readonly me: string;
  /** Set once this failure has been acted on (failed over, or the primary took the routes back). */
  private actedOnFailure = false;
  private healthySince: number | undefined;
  private lastCloudSnapshotAt = -Infinity;
  private firstFailedAt: number | undefined;
  /** This controller's subnet gateway: undefined until read, null when it reports none. */
  private gateway: string | null | undefined;
  /** The VNS3 routes the primary advertises, and where that was learned. */
  private vns3Snapshot: Vns3RouteSpec[] = [];
  private vns3Source: Vns3Source | undefined;
  /** The primary agent's lease as read in this check (undefined when its controller did not answer). */
  private primaryLeaseNow: Lease | undefined;
  /** Whether the primary's agent has ever published a lease (an older or embedded primary may not). */
  private primaryLeaseSeen = false;
  /** The first lease number of the primary read since this standby failed over: only a later one can say "taken back". */
  private leaseBaseline: number | undefined;
  private readonly memory: StandbyMemory;

  constructor(private readonly ctx: AgentContext) {
    this.primaryIp = ctx.config.peerUnderlayIp ?? '';
    this.me = ctx.config.myUnderlayIp ?? '';
    this.memory = new StandbyMemory(ctx, this.primaryIp);
    const saved = this.memory.restore();
    if (saved) this.learnVns3(saved.vns3, 'state');
  }

  async check(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    await this.observe(signal, record);
    if (ctx.tracker.state === 'healthy' && ctx.role === 'passive') await this.refreshCloudSnapshot(signal, false);
    ctx.publishSnapshot(this.vns3Snapshot);
    if (this.vns3Source !== undefined) await this.memory.save(this.vns3Snapshot);

    if (ctx.role === 'passive' && ctx.tracker.state === 'failed' && !this.actedOnFailure) {
      const why = await this.deferral(signal);
      if (why) ctx.recordDeferral(record, why);
      else await this.failover(signal, record);
    } else if (ctx.role === 'active') {
      if (this.mayRelease()) {
        ctx.count('releases');
        await this.release(signal, record, `primary healthy for ${ctx.config.rise} checks; released`);
      } else {
        await this.reassert(signal, record);
      }
    }
  }

  /** What a failover would do now, computed without writing. */
  async plan(signal?: AbortSignal): Promise<{ cloud: RouteChange[]; vns3: Vns3RouteChange[] }> {
    const provider = await this.ctx.provider();
    const self = await this.ctx.ref(this.me, signal);
    const routes = [...this.ctx.snapshot.values()];
    const cloud = provider.cloud === 'overlay' || !self || routes.length === 0 ? [] : await provider.pointRoutesAt(routes, self, { signal, dryRun: true });
    const vns3 = await assumeVns3Routes(this.ctx.clients.own!, this.vns3Snapshot, this.primaryIp, await this.ownGateway(signal), { ...this.call(signal), dryRun: true });
    return { cloud, vns3 };
  }

  private call = (signal: AbortSignal | undefined): { signal: AbortSignal | undefined; timeoutMs: number } => ({ signal, timeoutMs: this.ctx.probeTimeoutMs });

  /** Asks the witnesses, judges, and moves the health tracker; learns what the primary advertises. */
  private async observe(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    const { list, routes, ownRoutes } = await this.witnesses(signal);
    record.witnesses = list;
    const needThirdParty = ctx.config.cloud === 'overlay' || !ctx.cloudVeto;
    const verdict = judge(list, { cloudVeto: ctx.cloudVeto, needThirdParty });
    record.verdict = verdict;
    if (verdict === 'vetoed') {
      ctx.count('vetoes');
      const by = list.find((w) => w.name === 'observers' && w.result === 'up') ?? list.find((w) => w.name === 'cloud');
      ctx.event('ha.veto', `network witnesses say the primary is down but ${by?.name === 'observers' ? 'an observer reaches it' : 'the cloud runs it'} (${by?.detail}); not failing over`, undefined, 'warn');
    }
    if (verdict === 'split') ctx.count('splits');
    if (verdict === 'down' && ctx.tracker.fallCount === 0) this.firstFailedAt = record.startedAt;
    const change = ctx.tracker.observe(verdict);
    if (change) {
      if (change.to === 'healthy') {
        this.healthySince = ctx.now();
        this.actedOnFailure = false;
      }
      ctx.event('ha.health', `primary ${change.from} → ${change.to}`, { ...change, verdict }, change.to === 'failed' ? 'warn' : 'info');
    }
    // Only a primary seen healthy tells what it advertises; the mesh's copy stands in until then.
    if (verdict === 'up' && routes !== undefined && ctx.tracker.state === 'healthy') this.learnVns3(advertisedRoutes(routes), 'primary');
    else if (ownRoutes !== undefined && this.vns3Source !== 'primary') {
      const learned = learnedFromPrimary(ownRoutes, ctx.config.peerOverlayIp);
      if (learned.length > 0) this.learnVns3(learned, 'mesh');
    }
  }

  private learnVns3(routes: Vns3RouteSpec[], source: Vns3Source): void {
    const before = JSON.stringify(this.vns3Snapshot);
    this.vns3Snapshot = routes;
    if (this.vns3Source !== source || before !== JSON.stringify(routes)) {
      this.ctx.event('ha.snapshot', `${routes.length} VNS3 route(s) of the primary learned from ${source === 'primary' ? 'the primary' : source === 'mesh' ? 'the mesh' : 'the state file'}`, { vns3: routes.map((r) => r.cidr), source });
    }
    this.vns3Source = source;
  }

  /** The primary has been healthy long enough, and preemption allows giving its routes back. */
  private mayRelease(): boolean {
    const { ctx } = this;
    return ctx.tracker.state === 'healthy' && ctx.config.preempt && this.healthySince !== undefined && ctx.now() >= this.healthySince + ctx.config.preemptDelayMs;
  }

  private async witnesses(signal: AbortSignal | undefined): Promise<{ list: WitnessReport[]; routes?: unknown; ownRoutes?: unknown }> {
    const { ctx, primaryIp } = this;
    const options = this.call(signal);
    const provider = await ctx.provider();
    const match = { overlayIp: ctx.config.peerOverlayIp, addresses: [primaryIp, ctx.config.peerPublicIp ?? ''] };
    const observers = observerClients(ctx);
    const [underlay, pub, mesh, cloud, seen, ownRoutes] = await Promise.all([
      probeApi('underlay', (o) => ctx.clients.peerUnderlay!.get('/routes', o), options),
      probeApi('public', (o) => ctx.clients.peerPublic!.get('/routes', o), options),
      probeMesh(ctx.clients.own!, match, options),
      provider.cloud === 'overlay'
        ? undefined
        : probeCloud(async (s) => {
            const ref = await ctx.ref(primaryIp, s);
            return ref ? provider.instanceState(ref, { signal: s }) : 'unknown';
          }, { signal }),
      observers.size > 0 ? probeObservers(observers, match, options) : undefined,
      this.vns3Source === 'primary' ? undefined : ctx.clients.own!.get('/routes', { ...options, retry: false }).catch(() => undefined),
      readStandbyLeases(ctx, options),
    ]);
    const routes = underlay.body ?? pub.body;
    this.primaryLeaseNow = routes === undefined ? undefined : readLease(routes);
    if (this.primaryLeaseNow) this.primaryLeaseSeen = true;
    if (this.primaryLeaseNow && ctx.role === 'active') this.leaseBaseline ??= this.primaryLeaseNow.seq;
    ctx.leases.observe(PRIMARY, routes);
    ctx.setProblem('peer_api_password', authProblem(underlay.report, 'the primary') ?? authProblem(pub.report, 'the primary'));
    ctx.setProblem('my_api_password', authProblem(mesh, 'this controller'));
    ctx.config.observers.forEach((o, i) => ctx.setProblem(`observers[${i}].api_password`, authProblem(seen?.each.get(o.name), `observer ${o.name}`)));
    ctx.setProblem('standbys', groupMismatch(ctx));
    return { list: [underlay.report, pub.report, mesh, ...(cloud ? [cloud] : []), ...(seen ? [seen.report] : [])], routes, ownRoutes };
  }

  /** Who else may hold the routes: the primary and the other standbys, by every id the cloud may use. */
  private async claimants(signal: AbortSignal | undefined, withPrimary: boolean): Promise<string[]> {
    const ips = [...(withPrimary ? [this.primaryIp] : []), ...this.ctx.config.standbys.map((s) => s.underlayIp)];
    const refs = await Promise.all(ips.map((ip) => this.ctx.ref(ip, signal).catch(() => undefined)));
    return [...refs.flatMap(targetIds), ...ips];
  }

  /** The listed standby a cloud route target names, if any. */
  private standbyHolding(from: string | undefined): string | undefined {
    const { ctx } = this;
    return ctx.config.standbys.find((s) => from === s.underlayIp || targetIds(ctx.cachedRef(s.underlayIp)).includes(from ?? ''))?.name;
  }

  /** Whether `name`'s agent runs and asserts routes: a claim it makes is respected, a claim left by a dead agent is not. */
  private standbyAsserting(name: string): boolean {
    return this.ctx.leases.state(name) === 'alive' && this.ctx.leases.lease(name)?.role === 'active';
  }

  /**
   * The primary's agent says, in this check and in a lease renewed after the first one this
   * standby read while active (a lease left from before the crash says "active" too), that it
   * asserts its routes again.
   */
  private primaryTookBack(): boolean {
    if (this.primaryLeaseNow) return this.primaryLeaseNow.role === 'active' && this.leaseBaseline !== undefined && this.primaryLeaseNow.seq > this.leaseBaseline;
    // A primary agent that never publishes a lease (no my_api_password): trust the targets only while the primary is healthy.
    return !this.primaryLeaseSeen && this.ctx.tracker.state === 'healthy';
  }

  /** Why this standby must not act now, or undefined when it should. */
  private async deferral(signal: AbortSignal | undefined): Promise<string | undefined> {
    const { ctx } = this;
    const { standbys, priority } = ctx.config;
    const mismatch = groupMismatch(ctx);
    if (mismatch) return `configuration mismatch: ${mismatch}`;
    if (!ctx.leaseRenewed && standbys.length > 0) return 'this agent cannot renew its lease, so the other standbys cannot see it (acting unseen is how two act)';
    const higher = standbys.filter((s) => s.priority > priority || (s.priority === priority && s.underlayIp < this.me));
    for (const s of higher.sort((a, b) => b.priority - a.priority)) {
      if (ctx.leases.willing(s.name)) return `higher-priority standby ${s.name} (${s.priority}) has a running agent`;
    }
    for (const s of standbys) if (this.standbyAsserting(s.name)) return `standby ${s.name} is active (its lease says so)`;
    try {
      const held = await this.heldByStandby(signal);
      if (held) return held;
    } catch (e) {
      // The cloud failing must not stop the VNS3 part of a failover; the leases above already tell who asserts.
      if (signal?.aborted) throw e;
      ctx.event('ha.cloud.error', `cannot read who holds the cloud routes: ${errorText(e)}`, undefined, 'warn');
    }
    const own = await ctx.clients.own!.get('/routes', this.call(signal));
    const elsewhere = assumedElsewhere(own, this.primaryIp);
    if (elsewhere.length > 0) return `another standby already advertises ${elsewhere.join(', ')} for the primary`;
    return undefined;
  }

  /** A cloud route held by a listed standby whose agent asserts it, as a reason to defer. */
  private async heldByStandby(signal: AbortSignal | undefined): Promise<string | undefined> {
    const { ctx } = this;
    const provider = await ctx.provider();
    // Only a listed standby's hold counts below: without any, reading the tables would only cost time.
    if (provider.cloud === 'overlay' || ctx.snapshot.size === 0 || ctx.config.standbys.length === 0) return undefined;
    const self = await ctx.ref(this.me, signal);
    if (!self) return undefined;
    const plan = await planCloudRoutes(provider, [...ctx.snapshot.values()], self, await this.claimants(signal, false), { signal });
    for (const c of plan.claimed) {
      const holder = this.standbyHolding(c.from);
      if (holder && this.standbyAsserting(holder)) return `standby ${holder} already holds ${c.destination}`;
    }
    return undefined;
  }

  private async ownGateway(signal: AbortSignal | undefined): Promise<string | undefined> {
    if (this.gateway === undefined) {
      const config = await this.ctx.clients.own!.get('/config', this.call(signal));
      this.gateway = (config as { subnet_gateway?: string | null }).subnet_gateway ?? null;
    }
    return this.gateway ?? undefined;
  }

  private async refreshCloudSnapshot(signal: AbortSignal | undefined, force: boolean): Promise<void> {
    const { ctx } = this;
    const provider = await ctx.provider();
    if (provider.cloud === 'overlay') return;
    if (!force && ctx.now() - this.lastCloudSnapshotAt < ctx.cloudSnapshotIntervalMs) return;
    const ref = await ctx.ref(this.primaryIp, signal);
    if (!ref) return;
    const added = mergeRoutes(ctx.snapshot, await provider.routesTargeting(ref, { signal }));
    this.lastCloudSnapshotAt = ctx.now();
    if (added > 0) ctx.event('ha.snapshot', `${added} cloud route(s) of the primary noted`, { cloudRoutes: ctx.snapshot.size });
  }

  /** Points the routes here; a partial failure is reported in `errors` and what did move is returned. */
  private async moveCloud(routes: RouteAddress[], signal: AbortSignal | undefined, errors: string[]): Promise<RouteChange[]> {
    const provider = await this.ctx.provider();
    if (provider.cloud === 'overlay' || routes.length === 0) return [];
    const self = await this.ctx.ref(this.me, signal);
    if (!self) throw new Error(`this controller (${this.me}) is not known to the cloud`);
    let changes: RouteChange[];
    try {
      changes = await provider.pointRoutesAt(routes, self, { signal, dryRun: this.ctx.dryRun });
    } catch (e) {
      if (!(e instanceof RouteChangeError)) throw e;
      changes = e.changes;
      errors.push(errorText(e));
    }
    this.ctx.reportCloudChanges(changes);
    return changes;
  }

  private async assumeVns3(signal: AbortSignal | undefined): Promise<Vns3RouteChange[]> {
    const changes = await assumeVns3Routes(this.ctx.clients.own!, this.vns3Snapshot, this.primaryIp, await this.ownGateway(signal), {
      ...this.call(signal),
      dryRun: this.ctx.dryRun,
    });
    this.ctx.reportVns3Changes(changes);
    return changes;
  }

  private async withdraw(signal: AbortSignal | undefined): Promise<Vns3RouteChange[]> {
    const changes = await withdrawVns3Routes(this.ctx.clients.own!, this.primaryIp, { ...this.call(signal), dryRun: this.ctx.dryRun });
    this.ctx.reportVns3Changes(changes);
    this.ctx.holdVns3Routes([]);
    return changes;
  }

  private async failover(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    const detectedAt = ctx.now();
    this.leaseBaseline = undefined;
    ctx.event('ha.failover.start', `primary ${this.primaryIp} failed; taking over its routes${ctx.dryRun ? ' (dry run)' : ''}`, { firstFailedCheckAt: this.firstFailedAt }, 'warn');
    const errors: string[] = [];
    if (this.vns3Source === undefined) errors.push('the primary\'s VNS3 routes are unknown (never seen healthy, nothing learned from the mesh, no state_path file): no VNS3 route moved');
    // The VNS3 part runs beside the cloud part: a failover's time is round trips, not work.
    // Routes still pointing at the dead primary join the snapshot first; a failing cloud read must not stop the writes.
    const movingCloud = this.refreshCloudSnapshot(signal, true)
      .catch((e) => void errors.push(errorText(e)))
      .then(() => this.moveCloud([...ctx.snapshot.values()], signal, errors));
    const [cloud, vns3] = await Promise.all([
      movingCloud.catch((e) => (errors.push(errorText(e)), [] as RouteChange[])),
      this.assumeVns3(signal).catch((e) => (errors.push(errorText(e)), [] as Vns3RouteChange[])),
    ]);
    const routes = [...ctx.snapshot.values()];
    const finishedAt = ctx.now();
    const failover = { firstFailedCheckAt: this.firstFailedAt, detectedAt, finishedAt, durationMs: finishedAt - detectedAt, cloudRoutes: cloud, vns3Routes: vns3, dryRun: ctx.dryRun, errors, complete: false };
    ctx.recordFailover(failover, { cloud: routes, vns3: this.vns3Snapshot.map((r) => r.cidr) });
    this.actedOnFailure = true;
    ctx.setRole('active', errors.length ? `failed over with ${errors.length} error(s); re-driving every check` : 'primary failed; holding its routes');
    record.actions.push(`failover: ${cloud.filter((c) => c.action !== 'unchanged').length} cloud, ${vns3.length} VNS3 route(s)`);
    const what = `${cloud.length} of ${routes.length} cloud route(s) and ${vns3.length} VNS3 route(s) created of ${this.vns3Snapshot.length}`;
    if (errors.length > 0) {
      ctx.event('ha.failover.done', `partial failover: ${what} in ${finishedAt - detectedAt} ms; retrying every check: ${errors.join('; ')}`, { ...failover }, 'error');
    } else {
      ctx.event('ha.failover.done', `took over ${what} in ${finishedAt - detectedAt} ms`, { ...failover }, 'warn');
    }
  }

  private async release(signal: AbortSignal | undefined, record: CheckResult, why: string): Promise<void> {
    // Stop asserting first: from here on nothing of ours rewrites the cloud routes.
    this.ctx.setRole('passive', why);
    this.ctx.holdCloudRoutes([]);
    const withdrawn = await this.withdraw(signal);
    record.actions.push(`released: withdrew ${withdrawn.length} VNS3 route(s)`);
  }

  /**
   * Active: re-drives the failover until every route reads back as moved. Routes held by another
   * HA member are given up only when that member's agent says it asserts them. A cloud that fails
   * this check does not stop the VNS3 part.
   */
  private async reassert(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    let cloud: 'yielded' | 'done' | 'pending';
    try {
      cloud = await this.reassertCloud(signal, record);
    } catch (e) {
      if (signal?.aborted) throw e;
      ctx.recordError(record, errorText(e));
      cloud = 'pending';
    }
    if (cloud === 'yielded') return;
    const vns3 = await this.assumeVns3(signal);
    if (vns3.length > 0) record.actions.push(`re-created ${vns3.length} VNS3 route(s)`);
    const failover = ctx.status().lastFailover;
    if (cloud === 'done' && vns3.length === 0 && this.vns3Source !== undefined && failover && !failover.complete) {
      ctx.completeFailover(ctx.now());
      const held = ctx.heldCloudRoutes.length;
      ctx.event('ha.failover.complete', `every route reads back as moved: ${held} cloud, ${this.vns3Snapshot.length} VNS3`, { cloudRoutes: held, vns3Routes: this.vns3Snapshot.map((r) => r.cidr) }, 'warn');
    }
  }

  /** The cloud part of {@link reassert}: yields, finds every route here, or re-drives those that are not. */
  private async reassertCloud(signal: AbortSignal | undefined, record: CheckResult): Promise<'yielded' | 'done' | 'pending'> {
    const { ctx } = this;
    const provider = await ctx.provider();
    const held = [...ctx.heldCloudRoutes];
    // The primary's agent says it asserts its routes again: whatever the targets read, this failure is over.
    if (this.primaryLeaseNow && this.primaryTookBack()) return this.yieldTo(true, record, signal, []);
    if (provider.cloud === 'overlay' || held.length === 0) return 'done';
    const self = await ctx.ref(this.me, signal);
    if (!self) throw new Error(`this controller (${this.me}) is not known to the cloud`);
    const plan = await planCloudRoutes(provider, held, self, await this.claimants(signal, true), { signal });
    const primaryIds = new Set([this.primaryIp, ...targetIds(ctx.cachedRef(this.primaryIp))]);
    const byPrimary = plan.claimed.filter((c) => primaryIds.has(c.from ?? ''));
    const asserted = plan.claimed.filter((c) => !primaryIds.has(c.from ?? '') && this.standbyAsserting(this.standbyHolding(c.from) ?? ''));
    if (byPrimary.length > 0 && this.primaryTookBack()) return this.yieldTo(true, record, signal, plan.claimed);
    if (asserted.length > 0) return this.yieldTo(false, record, signal, plan.claimed);
    // Pointing at the primary (or a standby) whose agent does not assert them: a write that failed, re-driven.
    const redo = [...plan.pending, ...plan.claimed].map((c) => ({ tableId: c.tableId, destination: c.destination }));
    if (redo.length === 0) return 'done';
    const errors: string[] = [];
    const changes = await this.moveCloud(redo, signal, errors);
    record.actions.push(`re-asserted ${changes.filter((c) => c.action !== 'unchanged').length} of ${redo.length} cloud route(s)`);
    if (errors.length > 0) ctx.recordError(record, errors.join('; '));
    return 'pending';
  }

  private async yieldTo(toPrimary: boolean, record: CheckResult, signal: AbortSignal | undefined, claimed: RouteChange[]): Promise<'yielded'> {
    const { ctx } = this;
    ctx.count('yields');
    const who = toPrimary ? 'the primary, whose agent is active again' : 'another standby, whose agent asserts them';
    ctx.event('ha.yield', `routes held by ${who}; no longer asserting`, { claimed }, 'warn');
    // Taken back by the primary: this failure is over for us. By another standby: re-evaluate who should act.
    this.actedOnFailure = toPrimary;
    await this.release(signal, record, `routes held by ${toPrimary ? 'the primary' : 'another standby'}`);
    return 'yielded';
  }
}
