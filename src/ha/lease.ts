/**
 * How HA agents see each other: every agent publishes a lease (a heartbeat) through its own
 * controller's API, and reads the others' leases through the controllers' APIs it already talks
 * to, so that "alive" means "this agent runs and is willing", not merely "its controller answers".
 *
 * The lease is a route, because routes are what every VNS3 controller (and the simulator) lets an
 * API client create, read back and delete, with a free-text description: a `/32` host route to
 * an address of TEST-NET-1 (192.0.2.0/24, RFC 5737: never a real destination), never advertised,
 * so that no other controller learns it and no traffic follows it. System variables would be
 * tidier but are not on every controller release the agent supports. The description carries the
 * lease: `vns3-ha lease v1 mode=secondary role=passive prio=200 seq=17 iv=150 willing=1 group=…
 * watch=10.0.1.10`. Freshness is judged by the reader on its own clock, by the sequence number
 * changing, so controllers' clocks need not agree.
 */
import { createHash } from 'node:crypto';
import { Vns3ApiError, type Vns3Client } from '../client/index.js';

/** Every lease route's description starts with this (and never with `vns3-ha:`, the assumed routes' marker). */
export const LEASE_PREFIX = 'vns3-ha lease v1 ';
/**
 * The lease routes' destinations: addresses that route nowhere (RFC 5737 TEST-NET-1). Two, used
 * in turn, because a controller refuses a second route with the same destination and next hop:
 * the new lease is created before the old one is deleted, so a reader never finds none.
 */
export const LEASE_CIDRS = ['192.0.2.254/32', '192.0.2.253/32'] as const;

/** What an agent says about itself. */
export interface Lease {
  mode: 'primary' | 'secondary';
  role: string;
  priority: number;
  seq: number;
  /** The publisher's check interval, ms. */
  intervalMs: number;
  /** False while the agent refuses to act (configuration mismatch, authentication failure, dry run). */
  willing: boolean;
  /** A digest of the HA group as the publisher is configured: primary, every standby and its priority. */
  group: string;
  /** The primary a standby watches (its own address for a primary). */
  watch: string;
}

/** The digest two agents must agree on: the primary and every standby with its priority, in a stable order. */
export function groupDigest(primaryIp: string, members: readonly { ip: string; priority: number }[]): string {
  const text = [primaryIp, ...members.map((m) => `${m.ip}:${m.priority}`).sort()].join(',');
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** The route description that carries `lease`. */
export function encodeLease(lease: Lease): string {
  const { mode, role, priority, seq, intervalMs, willing, group, watch } = lease;
  return `${LEASE_PREFIX}mode=${mode} role=${role} prio=${priority} seq=${seq} iv=${intervalMs} willing=${willing ? 1 : 0} group=${group} watch=${watch}`;
}

/** The lease a description carries, or undefined when it carries none. */
export function decodeLease(description: string | null | undefined): Lease | undefined {
  if (!description?.startsWith(LEASE_PREFIX)) return undefined;
  const f = Object.fromEntries(description.slice(LEASE_PREFIX.length).split(' ').map((kv) => kv.split('=') as [string, string]));
  const n = (k: string): number => Number(f[k]);
  if (f.mode !== 'primary' && f.mode !== 'secondary') return undefined;
  if (![n('prio'), n('seq'), n('iv')].every(Number.isFinite)) return undefined;
  return { mode: f.mode, role: f.role ?? '', priority: n('prio'), seq: n('seq'), intervalMs: n('iv'), willing: f.willing === '1', group: f.group ?? '', watch: f.watch ?? '' };
}

interface RouteLike {
  id?: number;
  cidr?: string;
  description?: string | null;
  editable?: boolean;
}

/** The lease routes of a route map (the controller's own, not learned ones), newest (highest seq) first. */
export function leaseRoutes(map: unknown): { id: number; cidr: string; lease: Lease }[] {
  const out: { id: number; cidr: string; lease: Lease }[] = [];
  for (const [key, r] of Object.entries((map ?? {}) as Record<string, RouteLike>)) {
    if (!r || r.editable === false || !(LEASE_CIDRS as readonly (string | undefined)[]).includes(r.cidr)) continue;
    const lease = decodeLease(r.description);
    if (lease) out.push({ id: r.id ?? Number(key), cidr: r.cidr!, lease });
  }
  return out.sort((a, b) => b.lease.seq - a.lease.seq);
}

/** The newest lease a controller's route map carries. */
export function readLease(map: unknown): Lease | undefined {
  return leaseRoutes(map)[0]?.lease;
}

/** Request options of the lease calls: the check's signal and a deadline. */
export interface LeaseCallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/**
 * Publishes an agent's lease on its own controller: creates the new lease route, then deletes
 * every older one (from this run or an earlier one). Remembers the lease routes it saw so that a
 * renewal costs one create and one delete. `publish` throws the API error when the controller
 * refuses or does not answer; the next renewal starts from a fresh read.
 */
export class LeasePublisher {
  private known: { id: number; cidr: string; lease: Lease }[] | undefined;

  constructor(private readonly own: Vns3Client) {}

  async publish(lease: Lease, options: LeaseCallOptions): Promise<void> {
    const call = { signal: options.signal, timeoutMs: options.timeoutMs, retry: false as const };
    const cidr = LEASE_CIDRS[lease.seq % 2]!;
    try {
      this.known ??= leaseRoutes(await this.own.get('/routes', call));
      for (const r of this.known.filter((k) => k.cidr === cidr)) await deleteRoute(this.own, r.id, call);
      const map = await this.own.post('/routes', {
        ...call,
        body: { cidr, description: encodeLease(lease), interface: '_notset', gateway: '_notset', advertise: false, metric: 0 },
      });
      const all = leaseRoutes(map);
      for (const old of all.filter((r) => r.lease.seq !== lease.seq)) await deleteRoute(this.own, old.id, call);
      this.known = all.filter((r) => r.lease.seq === lease.seq);
    } catch (e) {
      this.known = undefined;
      throw e;
    }
  }
}

/** Deletes every lease route on `own` (an agent that stops says so at once instead of going stale). */
export async function withdrawLease(own: Vns3Client, options: LeaseCallOptions): Promise<void> {
  const call = { signal: options.signal, timeoutMs: options.timeoutMs, retry: false as const };
  const map = await own.get('/routes', call);
  for (const old of leaseRoutes(map)) await deleteRoute(own, old.id, call);
}

async function deleteRoute(own: Vns3Client, id: number, call: { signal: AbortSignal | undefined; timeoutMs: number; retry: false }): Promise<void> {
  try {
    await own.delete('/routes/{route_id}', { ...call, params: { path: { route_id: id } } });
  } catch (e) {
    // Already gone: a controller answers 400 "bad route id or route not found" (older ones 404).
    if (!(e instanceof Vns3ApiError && (e.status === 400 || e.status === 404))) throw e;
  }
}

/** What a reader concludes about another agent from its leases over time. */
export type PeerAgentState = 'alive' | 'stale' | 'absent';

/**
 * Remembers, per peer, the last sequence number seen and when (on the reader's clock) it last
 * changed: a lease whose number has not moved for four of the slower of the two intervals belongs
 * to an agent that stopped without saying so. A lease seen for the first time counts as alive for
 * that long, so that a reader that just started does not declare everyone dead.
 */
export class LeaseTracker {
  private readonly seen = new Map<string, { seq: number; changedAt: number; lease: Lease }>();

  constructor(
    private readonly now: () => number,
    private readonly myIntervalMs: number,
  ) {}

  /** Notes what `peer`'s controller showed: a route map, or undefined when it could not be read. */
  observe(peer: string, map: unknown): void {
    if (map === undefined) return;
    const lease = readLease(map);
    if (!lease) {
      this.seen.delete(peer);
      return;
    }
    const prev = this.seen.get(peer);
    if (!prev || prev.seq !== lease.seq) this.seen.set(peer, { seq: lease.seq, changedAt: this.now(), lease });
    else prev.lease = lease;
  }

  /** The peer's last lease, fresh or not. */
  lease(peer: string): Lease | undefined {
    return this.seen.get(peer)?.lease;
  }

  /** Whether the peer's agent runs (`alive`), stopped without withdrawing (`stale`), or never published (`absent`). */
  state(peer: string): PeerAgentState {
    const s = this.seen.get(peer);
    if (!s) return 'absent';
    const window = 4 * Math.max(s.lease.intervalMs, this.myIntervalMs);
    return this.now() - s.changedAt <= window ? 'alive' : 'stale';
  }

  /** The peer's agent runs and is willing to act. */
  willing(peer: string): boolean {
    return this.state(peer) === 'alive' && this.lease(peer)?.willing === true;
  }
}
