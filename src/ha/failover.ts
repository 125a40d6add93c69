/**
 * What a failover writes, kept apart from when it happens (agent.ts decides
 * that): cloud routes pointed at a controller, and the primary's advertised
 * VNS3 routes assumed on (or withdrawn from) the standby. Every function reads
 * first and writes only the difference, so running one twice writes nothing
 * the second time, and a dry run returns the same plan without writing.
 */
import { Vns3ApiError, type Vns3Client } from '../client/index.js';
import type { components } from '../generated/vns3.js';
import type { CloudRoute, CloudRouteProvider, ControllerRef, RouteAddress, RouteChange } from './cloud/types.js';

type RouteView = components['schemas']['Route'];
type RouteMap = Record<string, RouteView>;

/**
 * Routes the standby assumes carry this description so that withdrawal
 * deletes exactly those and nothing an operator added.
 */
export const ASSUMED_PREFIX = 'vns3-ha: assumed from ';

/** The description that marks a route as assumed from `primaryIp`. */
export function assumedDescription(primaryIp: string): string {
  return `${ASSUMED_PREFIX}${primaryIp}`;
}

/** A VNS3 route the primary advertises to the mesh. */
export interface Vns3RouteSpec {
  cidr: string;
  description: string;
  metric: number;
}

/** A VNS3 route a failover created on the standby, or a release deleted. */
export interface Vns3RouteChange {
  action: 'created' | 'deleted';
  cidr: string;
  id?: number;
}

const NOT_SET = '_notset';

/** The routes a controller itself advertises (learned and disabled routes excluded). */
export function advertisedRoutes(map: unknown): Vns3RouteSpec[] {
  const out = new Map<string, Vns3RouteSpec>();
  for (const r of Object.values((map ?? {}) as RouteMap)) {
    if (!r || !r.advertise || r.enabled === false || r.editable === false) continue;
    // Our own assumed routes on a controller that is itself a standby are not the primary's.
    if (r.description?.startsWith(ASSUMED_PREFIX)) continue;
    if (!out.has(r.cidr)) out.set(r.cidr, { cidr: r.cidr, description: r.description ?? '', metric: r.metric ?? 0 });
  }
  return [...out.values()];
}

/** Routes on `map` that this HA pair assumed from `primaryIp`. */
export function assumedRoutes(map: unknown, primaryIp: string): { id: number; cidr: string }[] {
  const marker = assumedDescription(primaryIp);
  return Object.entries((map ?? {}) as RouteMap)
    .filter(([, r]) => r?.description === marker && r.editable !== false)
    .map(([id, r]) => ({ id: r.id ?? Number(id), cidr: r.cidr }));
}

/** Routes learned from other controllers that say some standby assumed them from `primaryIp`. */
export function assumedElsewhere(map: unknown, primaryIp: string): string[] {
  const marker = assumedDescription(primaryIp);
  return Object.values((map ?? {}) as RouteMap)
    .filter((r) => r?.editable === false && (r.description ?? '').includes(marker))
    .map((r) => r.cidr);
}

/** How the VNS3 route writes run; `dryRun` computes the changes and writes nothing. */
export interface Vns3WriteOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  dryRun?: boolean | undefined;
}

/** The request options of every read and write; a zero timeout means the client's default. */
function requestOptions(options: Vns3WriteOptions): { signal: AbortSignal | undefined; timeoutMs: number | undefined } {
  return { signal: options.signal, timeoutMs: options.timeoutMs || undefined };
}

/**
 * Creates, on the standby, each of the primary's advertised routes it does
 * not hold yet, advertised, via the standby's own subnet gateway on eth0 (so
 * that mesh traffic for the primary's networks leaves into the shared VPC), or
 * unset when the controller reports no gateway.
 */
export async function assumeVns3Routes(
  own: Vns3Client,
  routes: readonly Vns3RouteSpec[],
  primaryIp: string,
  gateway: string | undefined,
  options: Vns3WriteOptions = {},
): Promise<Vns3RouteChange[]> {
  const call = requestOptions(options);
  const map = await own.get('/routes', call);
  const held = new Set(assumedRoutes(map, primaryIp).map((r) => r.cidr));
  const changes: Vns3RouteChange[] = [];
  for (const r of routes) {
    if (held.has(r.cidr)) continue;
    held.add(r.cidr);
    changes.push({ action: 'created', cidr: r.cidr });
    if (options.dryRun) continue;
    try {
      await own.post('/routes', {
        ...call,
        body: {
          cidr: r.cidr,
          description: assumedDescription(primaryIp),
          interface: gateway ? 'eth0' : NOT_SET,
          gateway: gateway ?? NOT_SET,
          advertise: true,
          metric: r.metric,
        },
      });
    } catch (e) {
      // A route an operator added by hand with the same path already carries the traffic.
      if (e instanceof Vns3ApiError && e.status === 400 && /already exists/i.test(e.apiMessage)) {
        changes.pop();
        continue;
      }
      throw e;
    }
  }
  return changes;
}

/** Deletes exactly the routes this standby assumed from `primaryIp`. */
export async function withdrawVns3Routes(own: Vns3Client, primaryIp: string, options: Vns3WriteOptions = {}): Promise<Vns3RouteChange[]> {
  const call = requestOptions(options);
  const map = await own.get('/routes', call);
  const changes: Vns3RouteChange[] = [];
  for (const r of assumedRoutes(map, primaryIp)) {
    changes.push({ action: 'deleted', cidr: r.cidr, id: r.id });
    if (options.dryRun) continue;
    try {
      await own.delete('/routes/{route_id}', { ...call, params: { path: { route_id: r.id } } });
    } catch (e) {
      // Gone already (a concurrent withdrawal or an operator): the goal is reached. A controller
      // answers 400 for an unknown route id (the reference: "bad route id or route not found"), so
      // a 400 counts only once a fresh read shows the route gone.
      if (!(e instanceof Vns3ApiError && (e.status === 404 || e.status === 400))) throw e;
      if (e.status === 400 && String(r.id) in (await own.get('/routes', call))) throw e;
    }
  }
  return changes;
}

/** Every id by which a cloud route can name this controller. */
export function targetIds(ref: ControllerRef | undefined): string[] {
  if (!ref) return [];
  return [ref.instanceId, ref.networkInterfaceId, ref.privateIp].filter((x): x is string => typeof x === 'string' && x !== '');
}

export interface CloudPlan {
  /** Routes that need a write to point at `to`. */
  pending: RouteChange[];
  /** Routes that point at one of `claimants` (another HA agent holds them). */
  claimed: RouteChange[];
  unchanged: number;
}

/**
 * Reads where each route points and sorts it: already ours, held by another
 * HA member (whose claim an asserting agent must respect, or two agents
 * would rewrite the same route for ever), or anything else (fixed by the next
 * write).
 */
export async function planCloudRoutes(
  provider: CloudRouteProvider,
  routes: readonly RouteAddress[],
  to: ControllerRef,
  claimants: readonly string[],
  options: { signal?: AbortSignal | undefined } = {},
): Promise<CloudPlan> {
  if (routes.length === 0) return { pending: [], claimed: [], unchanged: 0 };
  const changes = await provider.pointRoutesAt(routes, to, { signal: options.signal, dryRun: true });
  const claim = new Set(claimants);
  const plan: CloudPlan = { pending: [], claimed: [], unchanged: 0 };
  for (const c of changes) {
    if (c.action === 'unchanged') plan.unchanged++;
    else if (c.from !== undefined && claim.has(c.from)) plan.claimed.push(c);
    else plan.pending.push(c);
  }
  return plan;
}

/** The snapshot's key of a route: its table and destination. */
export function routeKey(r: RouteAddress): string {
  return `${r.tableId} ${r.destination}`;
}

/** Adds `more` to `into` (by table and destination), keeping routes that vanished from the cloud. */
export function mergeRoutes(into: Map<string, RouteAddress>, more: readonly CloudRoute[]): number {
  let added = 0;
  for (const r of more) {
    const key = routeKey(r);
    if (!into.has(key)) {
      into.set(key, { tableId: r.tableId, destination: r.destination });
      added++;
    }
  }
  return added;
}
