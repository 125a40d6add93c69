/**
 * What a standby reads about the rest of its HA group each check, besides the primary's health:
 * the other standbys' leases (is their agent running, willing, active, configured like us?), the
 * observers' answers, the password problems those reads reveal, and the primary's advertised
 * routes as the mesh learned them.
 */
import type { Vns3Client } from '../client/index.js';
import type { AgentContext } from './context.js';
import { advertisedRoutes, type Vns3RouteSpec } from './failover.js';
import { probeApi, type WitnessReport } from './monitor.js';

/** A 401/403 from a controller means the password the agent holds for it is wrong: a configuration error. */
export function authProblem(report: WitnessReport | undefined, who: string): string | undefined {
  const status = report?.httpStatus;
  return status === 401 || status === 403 ? `${who} rejects this password (HTTP ${status}); fix it and restart the agent` : undefined;
}

/**
 * The key of an observer's controller among the leases (a NUL first: never a standby's name, which
 * keys the listed standbys' leases).
 */
export function observerLeaseKey(name: string): string {
  return `\u0000observer ${name}`;
}

/**
 * Reads the lease on every controller this agent can read: each listed standby's and each
 * observer's. A standby reads the observers' too because a standby it does not list (a mismatch
 * only the other side's list shows) can run on one of them; a rejected password is a problem of
 * that standby's entry (the observers' are reported by their mesh probe).
 */
export async function readStandbyLeases(ctx: AgentContext, options: { signal: AbortSignal | undefined; timeoutMs: number }): Promise<void> {
  const { standbys } = ctx.config;
  const ofStandbys = standbys.map(async (s, i) => {
    const client = ctx.clients.standbys.get(s.name);
    if (!client) return;
    const { report, body } = await probeApi('standby', (o) => client.get('/routes', o), options);
    ctx.leases.observe(s.name, body);
    ctx.setProblem(`standbys[${i}].api_password`, authProblem(report, `standby ${s.name}`));
  });
  const ofObservers = [...ctx.clients.observers].map(async ([name, client]) => {
    const { body } = await probeApi('observers', (o) => client.get('/routes', o), options);
    ctx.leases.observe(observerLeaseKey(name), body);
  });
  await Promise.all([...ofStandbys, ...ofObservers]);
}

/**
 * Why this standby's configuration disagrees with another running standby's (a different standby
 * list or priorities, another primary), or undefined when every running standby agrees. Two
 * standbys that disagree on who goes first would both fail over, so this one refuses to act. Both
 * sides see it: a listed standby by its lease, and a standby this one does not list by its lease
 * on an observer's controller (a standby agent of the same primary whose group differs).
 */
export function groupMismatch(ctx: AgentContext): string | undefined {
  const primary = ctx.config.peerUnderlayIp ?? '';
  const { leases } = ctx;
  for (const s of ctx.config.standbys) {
    const lease = leases.lease(s.name);
    if (!lease || leases.state(s.name) !== 'alive') continue;
    if (lease.mode !== 'secondary' || lease.watch !== primary) return `standby ${s.name} runs as ${lease.mode} watching ${lease.watch || 'nothing'}, not as a standby of ${primary}`;
    if (lease.group !== ctx.group) return `standby ${s.name} is configured with a different standby list or priorities (group ${lease.group}, ours ${ctx.group})`;
  }
  for (const o of ctx.config.observers) {
    const key = observerLeaseKey(o.name);
    const lease = leases.lease(key);
    // Another pair's standby (another primary) or a primary's agent is none of our business.
    if (!lease || leases.state(key) !== 'alive' || lease.mode !== 'secondary' || lease.watch !== primary) continue;
    if (lease.group !== ctx.group) {
      return `observer ${o.name} runs a standby agent of the same primary that is not configured like this one (not in our standbys list, or other priorities: group ${lease.group}, ours ${ctx.group})`;
    }
  }
  return undefined;
}

/** The observers' clients: every listed standby's controller and every `observers` entry. */
export function observerClients(ctx: AgentContext): Map<string, Vns3Client> {
  return new Map([...ctx.clients.standbys, ...ctx.clients.observers]);
}

interface LearnedRoute {
  cidr: string;
  description?: string | null;
  gateway?: string;
  editable?: boolean;
  advertise?: boolean;
  metric?: number;
}

/**
 * The primary's advertised routes as this controller learned them over the mesh: learned routes
 * (not editable) whose next hop is the primary's overlay address. The mesh forgets them when the
 * primary dies, so this only helps while it lives (its API refusing us, say).
 */
export function learnedFromPrimary(map: unknown, primaryOverlayIp: string | undefined): Vns3RouteSpec[] {
  if (!primaryOverlayIp) return [];
  const mine: Record<string, LearnedRoute> = {};
  for (const [id, r] of Object.entries((map ?? {}) as Record<string, LearnedRoute>)) {
    if (!r || r.editable !== false || r.gateway !== primaryOverlayIp) continue;
    // Shaped as the primary shows its own routes, so that advertisedRoutes() drops what it would drop.
    mine[id] = { ...r, editable: true, advertise: true, description: (r.description ?? '').replace(/^Learned from peer \d+: ?/, '') };
  }
  return advertisedRoutes(mine);
}
