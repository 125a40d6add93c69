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
import { RouteChangeError, type CloudRoute, type RouteChange } from './cloud/provider.js';
import { errorText, type AgentContext, type CheckResult } from './context.js';
import { assumedRoutes, mergeRoutes, planCloudRoutes, targetIds, type CloudPlan } from './failover.js';
import { probeApi, type WitnessReport } from './monitor.js';

export interface PrimaryLogic {
  check(signal: AbortSignal | undefined, record: CheckResult): Promise<void>;
  plan(signal?: AbortSignal): Promise<{ cloud: RouteChange[] }>;
}

type StandbyHold = 'holding' | 'released' | 'down' | 'unobservable';

export function createPrimaryLogic(ctx: AgentContext): PrimaryLogic {
  const cfg = ctx.config;
  let myIp = cfg.myUnderlayIp;
  let seeded = false;
  let lastSnapshotAt = -Infinity;
  let upSinceYield = 0;
  let releasedSeenAt: number | undefined;
  const standbyIps = [cfg.peerUnderlayIp, ...cfg.standbys.map((s) => s.underlayIp)].filter((x): x is string => !!x);
  const sig = (signal: AbortSignal | undefined) => (signal ? { signal } : {});

  async function self(signal: AbortSignal | undefined): Promise<WitnessReport> {
    const own = ctx.clients.own;
    if (!own) return { name: 'self', result: 'up', durationMs: 0, detail: 'no own API configured; the agent runs on the controller' };
    const { report, body } = await probeApi('self', (o) => own.get('/config', o), { ...sig(signal), timeoutMs: ctx.probeTimeoutMs });
    if (!myIp && body) myIp = (body as { private_ipaddress?: string }).private_ipaddress;
    return report;
  }

  async function standby(signal: AbortSignal | undefined): Promise<{ report: WitnessReport; hold: StandbyHold }> {
    const peer = ctx.clients.peerPublic;
    if (!peer || !cfg.peerApiPassword) {
      return { report: { name: 'standby', result: 'unknown', durationMs: 0, detail: 'not observable (no peer_api_password)' }, hold: 'unobservable' };
    }
    const { report, body } = await probeApi('standby', (o) => peer.get('/routes', o), { ...sig(signal), timeoutMs: ctx.probeTimeoutMs });
    if (body !== undefined && myIp) {
      const held = assumedRoutes(body, myIp).length;
      return { report: { ...report, detail: `${held} assumed route(s)` }, hold: held > 0 ? 'holding' : 'released' };
    }
    return { report, hold: report.result === 'down' ? 'down' : 'unobservable' };
  }

  async function me(signal: AbortSignal | undefined) {
    const ref = await ctx.ref(myIp, signal);
    if (!ref) throw new Error(`this controller${myIp ? ` (${myIp})` : ''} is not known to the cloud yet`);
    return ref;
  }

  async function claimantIds(signal: AbortSignal | undefined): Promise<string[]> {
    const refs = await Promise.all(standbyIps.map((ip) => ctx.ref(ip, signal).catch(() => undefined)));
    return [...refs.flatMap(targetIds), ...standbyIps];
  }

  async function plan(signal: AbortSignal | undefined): Promise<CloudPlan> {
    const provider = await ctx.provider();
    const routes = [...ctx.snapshot.values()];
    const result = await planCloudRoutes(provider, routes, await me(signal), await claimantIds(signal), sig(signal));
    if (standbyIps.length === 0) {
      // Without knowing the standbys, any route moved elsewhere may be a failover: never fight over it.
      const moved = result.pending.filter((c) => c.from !== undefined);
      return { ...result, claimed: [...result.claimed, ...moved], pending: result.pending.filter((c) => c.from === undefined) };
    }
    return result;
  }

  async function refreshSnapshot(signal: AbortSignal | undefined, force: boolean): Promise<void> {
    if (!force && ctx.now() - lastSnapshotAt < ctx.cloudSnapshotIntervalMs) return;
    const provider = await ctx.provider();
    const added = mergeRoutes(ctx.snapshot, await provider.routesTargeting(await me(signal), sig(signal)));
    lastSnapshotAt = ctx.now();
    if (!seeded && ctx.snapshot.size === 0 && cfg.peerUnderlayIp) {
      const peer = await ctx.ref(cfg.peerUnderlayIp, signal);
      if (peer) {
        const adopted = mergeRoutes(ctx.snapshot, await provider.routesTargeting(peer, sig(signal)));
        if (adopted > 0) ctx.event('ha.snapshot', `no route targets this controller; adopted ${adopted} route(s) the standby holds`, { adopted });
      }
    }
    seeded = true;
    if (added > 0) ctx.event('ha.snapshot', `${added} cloud route(s) of this controller noted`, { cloudRoutes: ctx.snapshot.size });
  }

  async function write(routes: Pick<CloudRoute, 'tableId' | 'destination'>[], signal: AbortSignal | undefined, record: CheckResult, what: string): Promise<RouteChange[]> {
    if (routes.length === 0) return [];
    const provider = await ctx.provider();
    let changes: RouteChange[];
    try {
      changes = await provider.pointRoutesAt(routes, await me(signal), { ...sig(signal), dryRun: ctx.dryRun });
    } catch (e) {
      if (!(e instanceof RouteChangeError)) throw e;
      changes = e.changes;
      ctx.status.counters.errors++;
      record.error = errorText(e);
    }
    for (const c of changes) {
      if (c.action === 'unchanged') continue;
      if (!ctx.dryRun) ctx.status.counters.cloudRouteWrites++;
      ctx.event('ha.route.cloud', `${c.tableId} ${c.destination}: ${c.action} ${c.from ?? ''} → ${c.to}${ctx.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: ctx.dryRun });
    }
    record.actions.push(`${what}: ${changes.filter((c) => c.action !== 'unchanged').length} cloud route(s)`);
    return changes;
  }

  /** `recount`: it was healthy all along, so `rise` counts from now; after its own outage the run so far counts. */
  function yieldTo(p: CloudPlan, record: CheckResult, recount: boolean): void {
    ctx.status.counters.yields++;
    if (recount) upSinceYield = 0;
    releasedSeenAt = undefined;
    ctx.status.routesHeld.cloud = [];
    ctx.setRole('passive', `a standby holds ${p.claimed.length} route(s): failed over`);
    record.actions.push('yielded to standby');
    ctx.event('ha.yield', `${p.claimed.length} route(s) point at a standby; not asserting until it releases`, { claimed: p.claimed }, 'warn');
  }

  async function takeBack(signal: AbortSignal | undefined, record: CheckResult, why: string): Promise<void> {
    const routes = [...ctx.snapshot.values()];
    await write(routes, signal, record, 'took back');
    ctx.status.counters.failbacks++;
    ctx.status.routesHeld.cloud = routes;
    ctx.setRole('active', why);
    ctx.event('ha.failback', `took back ${routes.length} route(s): ${why}`, undefined, 'warn');
  }

  function mayTakeBack(hold: StandbyHold): string | undefined {
    const now = ctx.now();
    if (hold === 'holding') {
      releasedSeenAt = undefined;
      return undefined;
    }
    if (hold === 'unobservable') {
      const wait = cfg.preemptDelayMs + (cfg.rise + 1) * cfg.checkIntervalMs;
      return upSinceYield * cfg.checkIntervalMs >= wait ? 'standby not observable; waited preempt_delay + rise + 1 intervals' : undefined;
    }
    releasedSeenAt ??= now;
    return now - releasedSeenAt >= cfg.checkIntervalMs ? `standby ${hold === 'down' ? 'is down' : 'released'}; one interval of grace passed` : undefined;
  }

  return {
    async check(signal, record) {
      const [own, peer] = await Promise.all([self(signal), standby(signal)]);
      record.witnesses = [own, peer.report];
      record.verdict = own.result === 'unknown' ? 'unknown' : own.result;
      const change = ctx.tracker.observe(record.verdict);
      if (change) ctx.event('ha.health', `own controller ${change.from} → ${change.to}`, { ...change }, change.to === 'failed' ? 'warn' : 'info');
      upSinceYield = record.verdict === 'up' ? upSinceYield + 1 : 0;
      const healthy = ctx.tracker.state === 'healthy';

      if (ctx.status.role === 'active') {
        if (!healthy) {
          ctx.status.routesHeld.cloud = [];
          ctx.setRole('passive', 'own controller unhealthy; not asserting');
          return;
        }
        await refreshSnapshot(signal, false);
        const p = await plan(signal);
        if (p.claimed.length > 0) return yieldTo(p, record, true);
        ctx.status.routesHeld.cloud = [...ctx.snapshot.values()];
        await write(p.pending.map((c) => ({ tableId: c.tableId, destination: c.destination })), signal, record, 're-asserted');
        return;
      }

      if (!healthy) return;
      if (!seeded) await refreshSnapshot(signal, true);
      const p = await plan(signal);
      ctx.status.snapshot = { cloud: [...ctx.snapshot.values()], vns3: [] };
      if (p.claimed.length === 0) {
        // Nothing moved while we were unhealthy (or starting): simply carry on as the primary.
        await write(p.pending.map((c) => ({ tableId: c.tableId, destination: c.destination })), signal, record, 'asserted');
        ctx.status.routesHeld.cloud = [...ctx.snapshot.values()];
        ctx.setRole('active', 'primary; routes point here');
        return;
      }
      if (ctx.status.reason.startsWith('own controller') || ctx.status.role === 'starting') yieldTo(p, record, false);
      if (!cfg.preempt) {
        ctx.status.reason = 'preempt off: the standby keeps the routes';
        return;
      }
      if (upSinceYield < cfg.rise) {
        ctx.status.reason = `waiting for ${cfg.rise} healthy checks (${upSinceYield} so far)`;
        return;
      }
      const why = mayTakeBack(peer.hold);
      if (why) await takeBack(signal, record, why);
      else ctx.status.reason = `waiting for the standby to release (${peer.hold})`;
    },

    async plan(signal) {
      const provider = await ctx.provider();
      if (!seeded) await refreshSnapshot(signal, true);
      const routes = [...ctx.snapshot.values()];
      return { cloud: routes.length ? await provider.pointRoutesAt(routes, await me(signal), { ...sig(signal), dryRun: true }) : [] };
    },
  };
}

