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
import { RouteChangeError, type CloudRoute, type RouteChange } from './cloud/provider.js';
import { errorText, type AgentContext, type CheckResult } from './context.js';
import {
  advertisedRoutes,
  assumedElsewhere,
  assumeVns3Routes,
  mergeRoutes,
  planCloudRoutes,
  targetIds,
  withdrawVns3Routes,
  type Vns3RouteChange,
} from './failover.js';
import { classifyApiOutcome, judge, probeApi, probeCloud, probeMesh, type WitnessReport } from './monitor.js';

export interface StandbyLogic {
  check(signal: AbortSignal | undefined, record: CheckResult): Promise<void>;
  /** What a failover would do now, computed without writing. */
  plan(signal?: AbortSignal): Promise<{ cloud: RouteChange[]; vns3: Vns3RouteChange[] }>;
}

export function createStandbyLogic(ctx: AgentContext): StandbyLogic {
  const cfg = ctx.config;
  const primaryIp = cfg.peerUnderlayIp ?? '';
  const me = cfg.myUnderlayIp ?? '';
  let actedOnFailure = false;
  let healthySince: number | undefined;
  let lastCloudSnapshotAt = -Infinity;
  let firstFailedAt: number | undefined;
  let gateway: string | null | undefined;

  const call = (signal: AbortSignal | undefined) => ({ ...(signal ? { signal } : {}), timeoutMs: ctx.probeTimeoutMs });

  async function witnesses(signal: AbortSignal | undefined): Promise<{ list: WitnessReport[]; routes?: unknown }> {
    const opts = { ...(signal ? { signal } : {}), timeoutMs: ctx.probeTimeoutMs };
    const provider = await ctx.provider();
    const [underlay, pub, mesh, cloud] = await Promise.all([
      probeApi('underlay', (o) => ctx.clients.peerUnderlay!.get('/routes', o), opts),
      probeApi('public', (o) => ctx.clients.peerPublic!.get('/config', o), opts),
      probeMesh(ctx.clients.own!, { ...(cfg.peerOverlayIp ? { overlayIp: cfg.peerOverlayIp } : {}), addresses: [primaryIp, cfg.peerPublicIp ?? ''] }, opts),
      provider.cloud === 'overlay'
        ? undefined
        : probeCloud(async (s) => {
            const ref = await ctx.ref(primaryIp, s);
            return ref ? provider.instanceState(ref, { ...(s ? { signal: s } : {}) }) : 'unknown';
          }, { ...(signal ? { signal } : {}) }),
    ]);
    const list = [underlay.report, pub.report, mesh, ...(cloud ? [cloud] : [])];
    return { list, ...(underlay.body !== undefined ? { routes: underlay.body } : {}) };
  }

  /** Who else may hold the routes: the primary and the other standbys, by every id the cloud may use. */
  async function claimants(signal: AbortSignal | undefined, withPrimary: boolean): Promise<string[]> {
    const ips = [...(withPrimary ? [primaryIp] : []), ...cfg.standbys.map((s) => s.underlayIp)];
    const refs = await Promise.all(ips.map((ip) => ctx.ref(ip, signal).catch(() => undefined)));
    return [...refs.flatMap(targetIds), ...ips];
  }

  async function standbyAlive(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    const client = ctx.clients.standbys.get(name);
    if (!client) return false;
    try {
      await client.get('/config', { ...call(signal), retry: false });
      return true;
    } catch (e) {
      if (signal?.aborted) throw e;
      return classifyApiOutcome(e).result === 'up';
    }
  }

  /** Why this standby must not act now, or undefined when it should. */
  async function deferral(signal: AbortSignal | undefined): Promise<string | undefined> {
    const higher = cfg.standbys.filter((s) => s.priority > cfg.priority || (s.priority === cfg.priority && s.underlayIp < me));
    for (const s of higher.sort((a, b) => b.priority - a.priority)) {
      if (await standbyAlive(s.name, signal)) return `higher-priority standby ${s.name} (${s.priority}) is alive`;
    }
    const provider = await ctx.provider();
    const self = await ctx.ref(me, signal);
    if (provider.cloud !== 'overlay' && self && ctx.snapshot.size > 0) {
      const plan = await planCloudRoutes(provider, [...ctx.snapshot.values()], self, await claimants(signal, false), { ...(signal ? { signal } : {}) });
      for (const c of plan.claimed) {
        const holder = cfg.standbys.find((s) => c.from === s.underlayIp || targetIds(ctx.cachedRef(s.underlayIp)).includes(c.from ?? ''));
        if (holder && (await standbyAlive(holder.name, signal))) return `standby ${holder.name} already holds ${c.destination}`;
      }
    }
    const own = await ctx.clients.own!.get('/routes', call(signal));
    const elsewhere = assumedElsewhere(own, primaryIp);
    if (elsewhere.length > 0) return `another standby already advertises ${elsewhere.join(', ')} for the primary`;
    return undefined;
  }

  async function ownGateway(signal: AbortSignal | undefined): Promise<string | undefined> {
    if (gateway === undefined) {
      const config = await ctx.clients.own!.get('/config', call(signal));
      gateway = (config as { subnet_gateway?: string | null }).subnet_gateway ?? null;
    }
    return gateway ?? undefined;
  }

  async function refreshCloudSnapshot(signal: AbortSignal | undefined, force: boolean): Promise<void> {
    const provider = await ctx.provider();
    if (provider.cloud === 'overlay') return;
    if (!force && ctx.now() - lastCloudSnapshotAt < ctx.cloudSnapshotIntervalMs) return;
    const ref = await ctx.ref(primaryIp, signal);
    if (!ref) return;
    const added = mergeRoutes(ctx.snapshot, await provider.routesTargeting(ref, { ...(signal ? { signal } : {}) }));
    lastCloudSnapshotAt = ctx.now();
    if (added > 0) ctx.event('ha.snapshot', `${added} cloud route(s) of the primary noted`, { cloudRoutes: ctx.snapshot.size });
  }

  async function moveCloud(routes: Pick<CloudRoute, 'tableId' | 'destination'>[], signal: AbortSignal | undefined, errors: string[]): Promise<RouteChange[]> {
    const provider = await ctx.provider();
    const self = await ctx.ref(me, signal);
    if (provider.cloud === 'overlay' || routes.length === 0) return [];
    if (!self) throw new Error(`this controller (${me}) is not known to the cloud`);
    let changes: RouteChange[];
    try {
      changes = await provider.pointRoutesAt(routes, self, { ...(signal ? { signal } : {}), dryRun: ctx.dryRun });
    } catch (e) {
      if (!(e instanceof RouteChangeError)) throw e;
      changes = e.changes;
      errors.push(errorText(e));
    }
    for (const c of changes) {
      if (c.action === 'unchanged') continue;
      if (!ctx.dryRun) ctx.status.counters.cloudRouteWrites++;
      ctx.event('ha.route.cloud', `${c.tableId} ${c.destination}: ${c.action} ${c.from ?? ''} → ${c.to}${ctx.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: ctx.dryRun });
    }
    return changes;
  }

  async function assumeVns3(signal: AbortSignal | undefined): Promise<Vns3RouteChange[]> {
    const changes = await assumeVns3Routes(ctx.clients.own!, ctx.vns3Snapshot, primaryIp, await ownGateway(signal), {
      ...call(signal),
      dryRun: ctx.dryRun,
    });
    for (const c of changes) {
      if (!ctx.dryRun) ctx.status.counters.vns3RouteWrites++;
      ctx.event('ha.route.vns3', `${c.action} ${c.cidr}${ctx.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: ctx.dryRun });
    }
    return changes;
  }

  async function withdraw(signal: AbortSignal | undefined): Promise<Vns3RouteChange[]> {
    const changes = await withdrawVns3Routes(ctx.clients.own!, primaryIp, { ...call(signal), dryRun: ctx.dryRun });
    for (const c of changes) {
      if (!ctx.dryRun) ctx.status.counters.vns3RouteWrites++;
      ctx.event('ha.route.vns3', `${c.action} ${c.cidr}${ctx.dryRun ? ' (dry run)' : ''}`, { ...c, dryRun: ctx.dryRun });
    }
    ctx.status.routesHeld.vns3 = [];
    return changes;
  }

  async function failover(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const detectedAt = ctx.now();
    ctx.event('ha.failover.start', `primary ${primaryIp} failed; taking over its routes${ctx.dryRun ? ' (dry run)' : ''}`, {
      firstFailedCheckAt: firstFailedAt,
    }, 'warn');
    const errors: string[] = [];
    // Routes still pointing at the dead primary join the snapshot; a failing cloud read must not stop the VNS3 part.
    await refreshCloudSnapshot(signal, true).catch((e) => errors.push(errorText(e)));
    const routes = [...ctx.snapshot.values()];
    const [cloud, vns3] = await Promise.all([
      moveCloud(routes, signal, errors).catch((e) => (errors.push(errorText(e)), [] as RouteChange[])),
      assumeVns3(signal).catch((e) => (errors.push(errorText(e)), [] as Vns3RouteChange[])),
    ]);
    const finishedAt = ctx.now();
    ctx.status.routesHeld = { cloud: routes, vns3: ctx.vns3Snapshot.map((r) => r.cidr) };
    ctx.status.lastFailover = {
      ...(firstFailedAt !== undefined ? { firstFailedCheckAt: firstFailedAt } : {}),
      detectedAt,
      finishedAt,
      durationMs: finishedAt - detectedAt,
      cloudRoutes: cloud,
      vns3Routes: vns3,
      dryRun: ctx.dryRun,
      errors,
    };
    ctx.status.counters.failovers++;
    if (errors.length > 0) ctx.status.counters.errors += errors.length;
    actedOnFailure = true;
    ctx.setRole('active', errors.length ? `failed over with ${errors.length} error(s); re-asserting` : 'primary failed; holding its routes');
    record.actions.push(`failover: ${cloud.filter((c) => c.action !== 'unchanged').length} cloud, ${vns3.length} VNS3 route(s)`);
    ctx.event('ha.failover.done', `took over ${routes.length} cloud and ${ctx.vns3Snapshot.length} VNS3 route(s) in ${finishedAt - detectedAt} ms`, {
      ...ctx.status.lastFailover,
    }, errors.length ? 'error' : 'warn');
  }

  async function release(signal: AbortSignal | undefined, record: CheckResult, why: string): Promise<void> {
    // Stop asserting first: from here on nothing of ours rewrites the cloud routes.
    ctx.setRole('passive', why);
    ctx.status.routesHeld.cloud = [];
    const withdrawn = await withdraw(signal);
    record.actions.push(`released: withdrew ${withdrawn.length} VNS3 route(s)`);
  }

  async function reassert(signal: AbortSignal | undefined, record: CheckResult): Promise<void> {
    const provider = await ctx.provider();
    const self = await ctx.ref(me, signal);
    if (provider.cloud !== 'overlay' && self && ctx.status.routesHeld.cloud.length > 0) {
      const plan = await planCloudRoutes(provider, ctx.status.routesHeld.cloud, self, await claimants(signal, true), { ...(signal ? { signal } : {}) });
      if (plan.claimed.length > 0) {
        const byPrimary = plan.claimed.some((c) => c.from === primaryIp || targetIds(ctx.cachedRef(primaryIp)).includes(c.from ?? ''));
        ctx.status.counters.yields++;
        ctx.event('ha.yield', `${plan.claimed.length} route(s) now held by ${byPrimary ? 'the primary' : 'another standby'}; no longer asserting`, { claimed: plan.claimed }, 'warn');
        // Taken back by the primary: this failure is over for us. By another standby: re-evaluate who should act.
        actedOnFailure = byPrimary;
        await release(signal, record, `routes held by ${byPrimary ? 'the primary' : 'another standby'}`);
        return;
      }
      if (plan.pending.length > 0) {
        const changes = await moveCloud(plan.pending.map((c) => ({ tableId: c.tableId, destination: c.destination })), signal, []);
        record.actions.push(`re-asserted ${changes.length} cloud route(s)`);
      }
    }
    const vns3 = await assumeVns3(signal);
    if (vns3.length > 0) record.actions.push(`re-created ${vns3.length} VNS3 route(s)`);
  }

  return {
    async check(signal, record) {
      const { list, routes } = await witnesses(signal);
      record.witnesses = list;
      const verdict = judge(list, { cloudVeto: ctx.cloudVeto });
      record.verdict = verdict;
      if (verdict === 'vetoed') {
        ctx.status.counters.vetoes++;
        ctx.event('ha.veto', `network witnesses say the primary is down but the cloud runs it (${list.find((w) => w.name === 'cloud')?.detail}); not failing over`, undefined, 'warn');
      }
      if (verdict === 'split') ctx.status.counters.splits++;
      if (verdict === 'down' && ctx.tracker.fallCount === 0) firstFailedAt = record.startedAt;
      const change = ctx.tracker.observe(verdict);
      if (change) {
        if (change.to === 'healthy') {
          healthySince = ctx.now();
          actedOnFailure = false;
        }
        ctx.event('ha.health', `primary ${change.from} → ${change.to}`, { ...change, verdict }, change.to === 'failed' ? 'warn' : 'info');
      }
      // Only a primary seen healthy tells what it advertises and which cloud routes are its own.
      if (verdict === 'up' && routes !== undefined && ctx.tracker.state === 'healthy') ctx.vns3Snapshot = advertisedRoutes(routes);
      if (ctx.tracker.state === 'healthy' && ctx.status.role === 'passive') await refreshCloudSnapshot(signal, false);
      ctx.status.snapshot = { cloud: [...ctx.snapshot.values()], vns3: ctx.vns3Snapshot };

      if (ctx.status.role === 'passive' && ctx.tracker.state === 'failed' && !actedOnFailure) {
        const why = await deferral(signal);
        if (why) {
          ctx.status.counters.deferrals++;
          ctx.status.reason = `not acting: ${why}`;
          record.actions.push(`deferred: ${why}`);
          ctx.event('ha.defer', why, undefined, 'info');
        } else {
          await failover(signal, record);
        }
      } else if (ctx.status.role === 'active') {
        if (ctx.tracker.state === 'healthy' && cfg.preempt && healthySince !== undefined && ctx.now() >= healthySince + cfg.preemptDelayMs) {
          ctx.status.counters.releases++;
          await release(signal, record, `primary healthy for ${cfg.rise} checks; released`);
        } else {
          await reassert(signal, record);
        }
      }
    },

    async plan(signal) {
      const provider = await ctx.provider();
      const self = await ctx.ref(me, signal);
      const routes = [...ctx.snapshot.values()];
      const cloud = provider.cloud === 'overlay' || !self || routes.length === 0 ? [] : await provider.pointRoutesAt(routes, self, { ...(signal ? { signal } : {}), dryRun: true });
      const vns3 = await assumeVns3Routes(ctx.clients.own!, ctx.vns3Snapshot, primaryIp, await ownGateway(signal), { ...call(signal), dryRun: true });
      return { cloud, vns3 };
    },
  };
}
