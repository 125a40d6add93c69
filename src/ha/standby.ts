/**
 * Secondary mode: watch the primary, take its routes when it has failed,
 * give them back (release) once it has been healthy for `rise` checks and
 * preemption allows.
 *
 * Rules that keep two agents from fighting over one route:
 * - a standby fails over once per failure (edge-triggered), and only if no
 *   higher-priority standby is alive and no live standby already holds the
 *   routes;
 * - while active it re-asserts every interval, but a route found pointing at
 *   another HA member (the primary taking it back, another standby) makes it
 *   stop asserting rather than write it back;
 * - on release it first stops asserting and then withdraws its VNS3 routes;
 *   the primary takes the cloud routes back only after it has seen that
 *   withdrawal (primary.ts).
 */
import type { RouteAddress, RouteChange } from './cloud/types.js';
import { errorText, type AgentContext, type RoleLogic } from './context.js';
import { RouteChangeError } from './errors.js';
import { advertisedRoutes, assumedElsewhere, assumeVns3Routes, mergeRoutes, planCloudRoutes, targetIds, withdrawVns3Routes, type Vns3RouteChange, type Vns3RouteSpec } from './failover.js';
import { classifyApiOutcome, judge, probeApi, probeCloud, probeMesh, type WitnessReport } from './monitor.js';
import type { CheckResult } from './status.js';

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
  /** The VNS3 routes the primary advertised when last seen healthy. */
  private vns3Snapshot: Vns3RouteSpec[] = [];

  constructor(private readonly ctx: AgentContext) {
    this.primaryIp = ctx.config.peerUnderlayIp ?? '';
    this.me = ctx.config.myUnderlayIp ?? '';
  }

  async check(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    await this.observe(signal, record);
    if (ctx.tracker.state === 'healthy' && ctx.role === 'passive') await this.refreshCloudSnapshot(signal, false);
    ctx.publishSnapshot(this.vns3Snapshot);

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

  private call(signal: AbortSignal | undefined): { signal: AbortSignal | undefined; timeoutMs: number } {
    return { signal, timeoutMs: this.ctx.probeTimeoutMs };
  }

  /** Asks the witnesses, judges, and moves the health tracker; remembers what a healthy primary advertises. */
  private async observe(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    const { list, routes } = await this.witnesses(signal);
    record.witnesses = list;
    const verdict = judge(list, { cloudVeto: ctx.cloudVeto });
    record.verdict = verdict;
    if (verdict === 'vetoed') {
      ctx.count('vetoes');
      ctx.event('ha.veto', `network witnesses say the primary is down but the cloud runs it (${list.find((w) => w.name === 'cloud')?.detail}); not failing over`, undefined, 'warn');
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
    // Only a primary seen healthy tells what it advertises and which cloud routes are its own.
    if (verdict === 'up' && routes !== undefined && ctx.tracker.state === 'healthy') this.vns3Snapshot = advertisedRoutes(routes);
  }

  /** The primary has been healthy long enough, and preemption allows giving its routes back. */
  private mayRelease(): boolean {
    const { ctx } = this;
    return ctx.tracker.state === 'healthy' && ctx.config.preempt && this.healthySince !== undefined && ctx.now() >= this.healthySince + ctx.config.preemptDelayMs;
  }

  private async witnesses(signal: AbortSignal | undefined): Promise<{ list: WitnessReport[]; routes?: unknown }> {
    const { ctx, primaryIp } = this;
    const options = this.call(signal);
    const provider = await ctx.provider();
    const [underlay, pub, mesh, cloud] = await Promise.all([
      probeApi('underlay', (o) => ctx.clients.peerUnderlay!.get('/routes', o), options),
      probeApi('public', (o) => ctx.clients.peerPublic!.get('/config', o), options),
      probeMesh(ctx.clients.own!, { overlayIp: ctx.config.peerOverlayIp, addresses: [primaryIp, ctx.config.peerPublicIp ?? ''] }, options),
      provider.cloud === 'overlay'
        ? undefined
        : probeCloud(async (s) => {
            const ref = await ctx.ref(primaryIp, s);
            return ref ? provider.instanceState(ref, { signal: s }) : 'unknown';
          }, { signal }),
    ]);
    return { list: [underlay.report, pub.report, mesh, ...(cloud ? [cloud] : [])], routes: underlay.body };
  }

  /** Who else may hold the routes: the primary and the other standbys, by every id the cloud may use. */
  private async claimants(signal: AbortSignal | undefined, withPrimary: boolean): Promise<string[]> {
    const ips = [...(withPrimary ? [this.primaryIp] : []), ...this.ctx.config.standbys.map((s) => s.underlayIp)];
    const refs = await Promise.all(ips.map((ip) => this.ctx.ref(ip, signal).catch(() => undefined)));
    return [...refs.flatMap(targetIds), ...ips];
  }

  private async standbyAlive(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    const client = this.ctx.clients.standbys.get(name);
    if (!client) return false;
    try {
      await client.get('/config', { ...this.call(signal), retry: false });
      return true;
    } catch (e) {
      if (signal?.aborted) throw e;
      return classifyApiOutcome(e).result === 'up';
    }
  }

  /** Why this standby must not act now, or undefined when it should. */
  private async deferral(signal: AbortSignal | undefined): Promise<string | undefined> {
    const { ctx } = this;
    const { standbys, priority } = ctx.config;
    const higher = standbys.filter((s) => s.priority > priority || (s.priority === priority && s.underlayIp < this.me));
    for (const s of higher.sort((a, b) => b.priority - a.priority)) {
      if (await this.standbyAlive(s.name, signal)) return `higher-priority standby ${s.name} (${s.priority}) is alive`;
    }
    const provider = await ctx.provider();
    const self = await ctx.ref(this.me, signal);
    if (provider.cloud !== 'overlay' && self && ctx.snapshot.size > 0) {
      const plan = await planCloudRoutes(provider, [...ctx.snapshot.values()], self, await this.claimants(signal, false), { signal });
      for (const c of plan.claimed) {
        const holder = standbys.find((s) => c.from === s.underlayIp || targetIds(ctx.cachedRef(s.underlayIp)).includes(c.from ?? ''));
        if (holder && (await this.standbyAlive(holder.name, signal))) return `standby ${holder.name} already holds ${c.destination}`;
      }
    }
    const own = await ctx.clients.own!.get('/routes', this.call(signal));
    const elsewhere = assumedElsewhere(own, this.primaryIp);
    if (elsewhere.length > 0) return `another standby already advertises ${elsewhere.join(', ')} for the primary`;
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
    const self = await this.ctx.ref(this.me, signal);
    if (provider.cloud === 'overlay' || routes.length === 0) return [];
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
    ctx.event('ha.failover.start', `primary ${this.primaryIp} failed; taking over its routes${ctx.dryRun ? ' (dry run)' : ''}`, { firstFailedCheckAt: this.firstFailedAt }, 'warn');
    const errors: string[] = [];
    // Routes still pointing at the dead primary join the snapshot; a failing cloud read must not stop the VNS3 part.
    await this.refreshCloudSnapshot(signal, true).catch((e) => errors.push(errorText(e)));
    const routes = [...ctx.snapshot.values()];
    const [cloud, vns3] = await Promise.all([
      this.moveCloud(routes, signal, errors).catch((e) => (errors.push(errorText(e)), [] as RouteChange[])),
      this.assumeVns3(signal).catch((e) => (errors.push(errorText(e)), [] as Vns3RouteChange[])),
    ]);
    const finishedAt = ctx.now();
    const failover = { firstFailedCheckAt: this.firstFailedAt, detectedAt, finishedAt, durationMs: finishedAt - detectedAt, cloudRoutes: cloud, vns3Routes: vns3, dryRun: ctx.dryRun, errors };
    ctx.recordFailover(failover, { cloud: routes, vns3: this.vns3Snapshot.map((r) => r.cidr) });
    this.actedOnFailure = true;
    ctx.setRole('active', errors.length ? `failed over with ${errors.length} error(s); re-asserting` : 'primary failed; holding its routes');
    record.actions.push(`failover: ${cloud.filter((c) => c.action !== 'unchanged').length} cloud, ${vns3.length} VNS3 route(s)`);
    const level = errors.length ? 'error' : 'warn';
    ctx.event('ha.failover.done', `took over ${routes.length} cloud and ${this.vns3Snapshot.length} VNS3 route(s) in ${finishedAt - detectedAt} ms`, { ...failover }, level);
  }

  private async release(signal: AbortSignal | undefined, record: CheckResult, why: string): Promise<void> {
    // Stop asserting first: from here on nothing of ours rewrites the cloud routes.
    this.ctx.setRole('passive', why);
    this.ctx.holdCloudRoutes([]);
    const withdrawn = await this.withdraw(signal);
    record.actions.push(`released: withdrew ${withdrawn.length} VNS3 route(s)`);
  }

  private async reassert(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    const provider = await ctx.provider();
    const self = await ctx.ref(this.me, signal);
    const held = [...ctx.heldCloudRoutes];
    if (provider.cloud !== 'overlay' && self && held.length > 0) {
      const plan = await planCloudRoutes(provider, held, self, await this.claimants(signal, true), { signal });
      if (plan.claimed.length > 0) {
        const byPrimary = plan.claimed.some((c) => c.from === this.primaryIp || targetIds(ctx.cachedRef(this.primaryIp)).includes(c.from ?? ''));
        ctx.count('yields');
        ctx.event('ha.yield', `${plan.claimed.length} route(s) now held by ${byPrimary ? 'the primary' : 'another standby'}; no longer asserting`, { claimed: plan.claimed }, 'warn');
        // Taken back by the primary: this failure is over for us. By another standby: re-evaluate who should act.
        this.actedOnFailure = byPrimary;
        await this.release(signal, record, `routes held by ${byPrimary ? 'the primary' : 'another standby'}`);
        return;
      }
      if (plan.pending.length > 0) {
        const changes = await this.moveCloud(plan.pending.map((c) => ({ tableId: c.tableId, destination: c.destination })), signal, []);
        record.actions.push(`re-asserted ${changes.length} cloud route(s)`);
      }
    }
    const vns3 = await this.assumeVns3(signal);
    if (vns3.length > 0) record.actions.push(`re-created ${vns3.length} VNS3 route(s)`);
  }
}
