/**
 * Primary mode: keep the cloud routes pointing at this controller while it is
 * the primary, and take them back after a failover only when it is safe.
 *
 * - `active`: re-asserts its routes every interval; a route found pointing at
 *   a standby means a failover happened, so it stops (yields) instead of
 *   writing it back. Any other target is put right.
 * - `passive`: its own controller is unhealthy, or a standby holds the
 *   routes. It takes them back only when preemption is on, its controller has
 *   been healthy for `rise` checks since it yielded, and the standby has
 *   released them: seen directly (no `vns3-ha: assumed` routes left on the
 *   standby, or the standby is down) plus one interval of grace; when the
 *   standby cannot be read (no `peer_api_password`), after `preempt_delay` +
 *   (`rise` + 1) intervals, by which time a standby that saw the same recovery
 *   has released.
 *
 * Which routes are "its own": those that target it while it is active,
 * remembered even when they vanish. An agent that starts while a standby
 * holds everything (it restarted after a failover) adopts the routes that
 * target `peer_underlay_ip`: set that in primary mode.
 */
import type { ControllerRef, RouteAddress, RouteChange } from './cloud/types.js';
import { errorText, type AgentContext, type RoleLogic } from './context.js';
import { RouteChangeError } from './errors.js';
import { assumedRoutes, mergeRoutes, planCloudRoutes, targetIds, type CloudPlan } from './failover.js';
import { probeApi, type WitnessReport } from './monitor.js';
import { authProblem } from './standby-peers.js';
import type { CheckResult } from './status.js';

/** What the primary can see of the standby's hold on its routes. */
type StandbyHold = 'holding' | 'released' | 'down' | 'unobservable';

const routeAddress = (c: RouteChange): RouteAddress => ({ tableId: c.tableId, destination: c.destination });

/** The primary's decisions, check by check (see the top of this file). */
export class PrimaryRole implements RoleLogic {
  /** This controller's private IP: configured, or read from its own API. */
  private myIp: string | undefined;
  private seeded = false;
  private lastSnapshotAt = -Infinity;
  /** Healthy checks in a row (of its own controller) since it last yielded. */
  private upSinceYield = 0;
  private releasedSeenAt: number | undefined;
  private readonly standbyIps: string[];

  constructor(private readonly ctx: AgentContext) {
    this.myIp = ctx.config.myUnderlayIp;
    this.standbyIps = [ctx.config.peerUnderlayIp, ...ctx.config.standbys.map((s) => s.underlayIp)].filter((x): x is string => !!x);
  }

  async check(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const { ctx } = this;
    const [own, peer] = await Promise.all([this.self(signal), this.standby(signal)]);
    record.witnesses = [own, peer.report];
    ctx.setProblem('my_api_password', authProblem(own, 'this controller'));
    ctx.setProblem('peer_api_password', authProblem(peer.report, 'the standby'));
    record.verdict = own.result === 'unknown' ? 'unknown' : own.result;
    const change = ctx.tracker.observe(record.verdict);
    if (change) ctx.event('ha.health', `own controller ${change.from} → ${change.to}`, { ...change }, change.to === 'failed' ? 'warn' : 'info');
    this.upSinceYield = record.verdict === 'up' ? this.upSinceYield + 1 : 0;
    const healthy = ctx.tracker.state === 'healthy';
    if (ctx.role === 'active') return this.whileActive(signal, record, healthy);
    if (healthy) await this.whilePassive(signal, record, peer.hold);
  }

  async plan(signal?: AbortSignal): Promise<{ cloud: RouteChange[] }> {
    const provider = await this.ctx.provider();
    if (!this.seeded) await this.refreshSnapshot(signal, true);
    const routes = [...this.ctx.snapshot.values()];
    return { cloud: routes.length ? await provider.pointRoutesAt(routes, await this.ref(signal), { signal, dryRun: true }) : [] };
  }

  /** Active: keep asserting, unless its own controller fails or a standby holds the routes. */
  private async whileActive(signal: AbortSignal | undefined, record: CheckResult, healthy: boolean): Promise<void> {
    const { ctx } = this;
    if (!healthy) {
      ctx.holdCloudRoutes([]);
      ctx.setRole('passive', 'own controller unhealthy; not asserting');
      return;
    }
    await this.refreshSnapshot(signal, false);
    const p = await this.planRoutes(signal);
    if (p.claimed.length > 0) return this.yieldTo(p, record, true);
    ctx.holdCloudRoutes([...ctx.snapshot.values()]);
    await this.write(p.pending.map(routeAddress), signal, record, 're-asserted');
  }

  /** Passive and healthy: carry on as the primary if nothing moved, else take back only when safe. */
  private async whilePassive(signal: AbortSignal | undefined, record: CheckResult, hold: StandbyHold): Promise<void> {
    const { ctx } = this;
    const { preempt, rise } = ctx.config;
    if (!this.seeded) await this.refreshSnapshot(signal, true);
    const p = await this.planRoutes(signal);
    ctx.publishSnapshot([]);
    if (p.claimed.length === 0) {
      // Nothing moved while we were unhealthy (or starting): simply carry on as the primary.
      await this.write(p.pending.map(routeAddress), signal, record, 'asserted');
      ctx.holdCloudRoutes([...ctx.snapshot.values()]);
      ctx.setRole('active', 'primary; routes point here');
      return;
    }
    if (ctx.reason.startsWith('own controller') || ctx.role === 'starting') this.yieldTo(p, record, false);
    if (!preempt) return ctx.setReason('preempt off: the standby keeps the routes');
    if (this.upSinceYield < rise) return ctx.setReason(`waiting for ${rise} healthy checks (${this.upSinceYield} so far)`);
    const why = this.mayTakeBack(hold);
    if (why) await this.takeBack(signal, record, why);
    else ctx.setReason(`waiting for the standby to release (${hold})`);
  }

  private async self(signal: AbortSignal | undefined): Promise<WitnessReport> {
    const own = this.ctx.clients.own;
    if (!own) return { name: 'self', result: 'up', durationMs: 0, detail: 'no own API configured; the agent runs on the controller' };
    const { report, body } = await probeApi('self', (o) => own.get('/config', o), { signal, timeoutMs: this.ctx.probeTimeoutMs });
    if (!this.myIp && body) this.myIp = (body as { private_ipaddress?: string }).private_ipaddress;
    return report;
  }

  private async standby(signal: AbortSignal | undefined): Promise<{ report: WitnessReport; hold: StandbyHold }> {
    const peer = this.ctx.clients.peerPublic;
    if (!peer || !this.ctx.config.peerApiPassword) {
      return { report: { name: 'standby', result: 'unknown', durationMs: 0, detail: 'not observable (no peer_api_password)' }, hold: 'unobservable' };
    }
    const { report, body } = await probeApi('standby', (o) => peer.get('/routes', o), { signal, timeoutMs: this.ctx.probeTimeoutMs });
    if (body !== undefined && this.myIp) {
      const held = assumedRoutes(body, this.myIp).length;
      return { report: { ...report, detail: `${held} assumed route(s)` }, hold: held > 0 ? 'holding' : 'released' };
    }
    return { report, hold: report.result === 'down' ? 'down' : 'unobservable' };
  }

  /** This controller as the cloud knows it; throws while the cloud does not know it yet. */
  private async ref(signal: AbortSignal | undefined): Promise<ControllerRef> {
    const ref = await this.ctx.ref(this.myIp, signal);
    if (!ref) throw new Error(`this controller${this.myIp ? ` (${this.myIp})` : ''} is not known to the cloud yet`);
    return ref;
  }

  private async claimantIds(signal: AbortSignal | undefined): Promise<string[]> {
    const refs = await Promise.all(this.standbyIps.map((ip) => this.ctx.ref(ip, signal).catch(() => undefined)));
    return [...refs.flatMap(targetIds), ...this.standbyIps];
  }

  private async planRoutes(signal: AbortSignal | undefined): Promise<CloudPlan> {
    const provider = await this.ctx.provider();
    const routes = [...this.ctx.snapshot.values()];
    const result = await planCloudRoutes(provider, routes, await this.ref(signal), await this.claimantIds(signal), { signal });
    if (this.standbyIps.length === 0) {
      // Without knowing the standbys, any route moved elsewhere may be a failover: never fight over it.
      const moved = result.pending.filter((c) => c.from !== undefined);
      return { ...result, claimed: [...result.claimed, ...moved], pending: result.pending.filter((c) => c.from === undefined) };
    }
    return result;
  }

  private async refreshSnapshot(signal: AbortSignal | undefined, force: boolean): Promise<void> {
    const { ctx } = this;
    if (!force && ctx.now() - this.lastSnapshotAt < ctx.cloudSnapshotIntervalMs) return;
    const provider = await ctx.provider();
    const added = mergeRoutes(ctx.snapshot, await provider.routesTargeting(await this.ref(signal), { signal }));
    this.lastSnapshotAt = ctx.now();
    if (!this.seeded && ctx.snapshot.size === 0 && ctx.config.peerUnderlayIp) {
      const peer = await ctx.ref(ctx.config.peerUnderlayIp, signal);
      if (peer) {
        const adopted = mergeRoutes(ctx.snapshot, await provider.routesTargeting(peer, { signal }));
        if (adopted > 0) ctx.event('ha.snapshot', `no route targets this controller; adopted ${adopted} route(s) the standby holds`, { adopted });
      }
    }
    this.seeded = true;
    if (added > 0) ctx.event('ha.snapshot', `${added} cloud route(s) of this controller noted`, { cloudRoutes: ctx.snapshot.size });
  }

  private async write(routes: RouteAddress[], signal: AbortSignal | undefined, record: CheckResult, what: string): Promise<RouteChange[]> {
    if (routes.length === 0) return [];
    const provider = await this.ctx.provider();
    let changes: RouteChange[];
    try {
      changes = await provider.pointRoutesAt(routes, await this.ref(signal), { signal, dryRun: this.ctx.dryRun });
    } catch (e) {
      if (!(e instanceof RouteChangeError)) throw e;
      changes = e.changes;
      this.ctx.recordError(record, errorText(e));
    }
    this.ctx.reportCloudChanges(changes);
    record.actions.push(`${what}: ${changes.filter((c) => c.action !== 'unchanged').length} cloud route(s)`);
    return changes;
  }

  /** `recount`: it was healthy all along, so `rise` counts from now; after its own outage the run so far counts. */
  private yieldTo(p: CloudPlan, record: CheckResult, recount: boolean): void {
    this.ctx.count('yields');
    if (recount) this.upSinceYield = 0;
    this.releasedSeenAt = undefined;
    this.ctx.holdCloudRoutes([]);
    this.ctx.setRole('passive', `a standby holds ${p.claimed.length} route(s): failed over`);
    record.actions.push('yielded to standby');
    this.ctx.event('ha.yield', `${p.claimed.length} route(s) point at a standby; not asserting until it releases`, { claimed: p.claimed }, 'warn');
  }

  private async takeBack(signal: AbortSignal | undefined, record: CheckResult, why: string): Promise<void> {
    const routes = [...this.ctx.snapshot.values()];
    await this.write(routes, signal, record, 'took back');
    this.ctx.recordFailback(routes, why);
    this.ctx.event('ha.failback', `took back ${routes.length} route(s): ${why}`, undefined, 'warn');
  }

  /** Why the primary may take its routes back now, or undefined while it must wait. */
  private mayTakeBack(hold: StandbyHold): string | undefined {
    const { checkIntervalMs, preemptDelayMs, rise } = this.ctx.config;
    const now = this.ctx.now();
    if (hold === 'holding') {
      this.releasedSeenAt = undefined;
      return undefined;
    }
    if (hold === 'unobservable') {
      const wait = preemptDelayMs + (rise + 1) * checkIntervalMs;
      return this.upSinceYield * checkIntervalMs >= wait ? 'standby not observable; waited preempt_delay + rise + 1 intervals' : undefined;
    }
    this.releasedSeenAt ??= now;
    return now - this.releasedSeenAt >= checkIntervalMs ? `standby ${hold === 'down' ? 'is down' : 'released'}; one interval of grace passed` : undefined;
  }
}
