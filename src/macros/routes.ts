/**
 * Routing macros. `ensureRouteTable` is the Python `create_route_table` made
 * idempotent: it substitutes variables, compares with what the controller has
 * and writes only the difference. The mesh helpers (local gateway routes to the
 * peers, subnet advertisements) are built on it, so they are idempotent too.
 */
import { isOutcomeUnknown, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { cidrContains, hostCidr, isIp, isIPv4, normalizeCidr, subnetGateway } from '../net/index.js';
import { readThenWrite, type Reading } from './core/read-then-write.js';
import { StateCache, type ControllerState } from './core/state.js';
import { controllerVariables, substitute, type TemplateVariables } from './core/template.js';
import type { BulkMacroOptions, BulkResult, MacroOptions } from './core/types.js';
import { checkBoolean, checkClients, checkFlags, checkRouteShapes, checkText, hasControl, INTERFACE, TABLE } from './core/validate.js';
import { converge } from './core/reconcile.js';

type Route = components['schemas']['Route'];

/**
 * A desired route, exactly as `POST /routes` takes it (the spec's RouteCreateRequest). String fields may
 * hold `{variable}`s; absent, `''` and `_notset` interface/gateway all mean "not set"; `advertise`
 * defaults to false and `table` to `main`.
 */
export type RouteSpec = components['schemas']['RouteCreateRequest'];

/** A route the controller has, with its id. */
export interface ExistingRoute extends RouteSpec {
  id: number;
}

/** What a route macro did (or, with `dryRun`, would do) on one controller. */
export interface RoutePlan {
  created: RouteSpec[];
  removed: ExistingRoute[];
  unchanged: ExistingRoute[];
  /** True when nothing was written because of `dryRun`. */
  dryRun: boolean;
}

/** How `ensureRouteTable` (and `createLocalGatewayRoute`) reconcile. */
export interface EnsureRouteTableOptions extends MacroOptions {
  /** Extra template variables; they win over the controller's (see `stateVariables`). */
  variables?: TemplateVariables;
  /** Delete editable routes that are not desired (default false). Learned routes are never touched. */
  removeUndesired?: boolean;
  /** Compute and return the plan without writing. */
  dryRun?: boolean;
  cache?: StateCache;
}

/** Told after each write that succeeded, so the reconcile loop knows the attempt made progress. */
interface Progress {
  onWrite?: () => void;
}

const NOT_SET = '_notset';
const unset = (v: string | null | undefined): string => (v === undefined || v === null || v.trim() === '' || v.trim() === NOT_SET ? NOT_SET : v.trim());
const cidrKey = (c: string): string => (isIPv4(c.split('/')[0]) ? normalizeCidr(c) : c.trim().toLowerCase());

/** Identity of a route for comparison: metric and description do not count. */
function routeKey(r: { cidr: string; interface?: string | null; gateway?: string | null; advertise?: boolean; table?: string }): string {
  return [cidrKey(r.cidr), unset(r.interface), unset(r.gateway), r.advertise === true, r.table?.trim() || 'main'].join('|');
}
/** What the controller itself refuses to hold twice (advertise does not count there). */
const slotKey = (r: Parameters<typeof routeKey>[0]): string => routeKey({ ...r, advertise: false });

type Matcher = (want: RouteSpec, have: ExistingRoute) => boolean;
const exactMatch: Matcher = (want, have) => routeKey(want) === routeKey(have);

function toExisting(id: string, r: Route): ExistingRoute {
  return {
    id: typeof r.id === 'number' ? r.id : Number(id),
    cidr: r.cidr,
    description: r.description || undefined,
    interface: unset(r.interface),
    gateway: unset(r.gateway),
    advertise: r.advertise === true,
    metric: r.metric,
    table: r.table || 'main',
  };
}

/** Editable (local) routes; learned routes have `editable: false`. */
async function readLocalRoutes(client: Vns3Client, signal?: AbortSignal): Promise<ExistingRoute[]> {
  const map = await client.get('/routes', { signal });
  return Object.entries(map).filter(([, r]) => r.editable !== false).map(([id, r]) => toExisting(id, r));
}

/** Substitutes variables in every string field and checks the result, before any write. */
function resolveSpecs(desired: readonly RouteSpec[], vars: TemplateVariables, controller: string): RouteSpec[] {
  return desired.map((spec, i) => {
    if (spec === null || typeof spec !== 'object') throw new Vns3ValidationError(`routes[${i}]`, spec, 'must be a route object', { controller });
    const sub = (field: keyof RouteSpec): string | undefined => {
      const v = spec[field];
      if (v === undefined) return undefined;
      return substitute(v as string, vars, { field: `routes[${i}].${field}`, controller });
    };
    const out: RouteSpec = { ...spec, cidr: sub('cidr') ?? '' };
    for (const f of ['description', 'interface', 'gateway', 'table'] as const) {
      const v = sub(f);
      if (v !== undefined) out[f] = v;
    }
    const ip = out.cidr.split('/')[0];
    if (!out.cidr.includes('/') || !isIp(ip)) throw new Vns3ValidationError(`routes[${i}].cidr`, out.cidr, 'must be a CIDR such as "10.0.0.0/16"', { controller });
    if (isIPv4(ip)) normalizeCidr(out.cidr, `routes[${i}].cidr`);
    if (unset(out.gateway) !== NOT_SET && !isIp(out.gateway!.trim())) {
      throw new Vns3ValidationError(`routes[${i}].gateway`, out.gateway, 'must be an IP address or _notset', { controller });
    }
    if (unset(out.interface) !== NOT_SET) {
      checkText(`routes[${i}].interface`, out.interface!.trim(), { max: 32, pattern: INTERFACE, hint: 'must be an interface name such as eth0 or _notset', controller });
    }
    if (out.table !== undefined && out.table.trim() !== '') {
      checkText(`routes[${i}].table`, out.table.trim(), { max: 64, pattern: TABLE, hint: 'must be a table name of letters, digits, - and _', controller });
    }
    if (out.description !== undefined && hasControl(out.description)) {
      throw new Vns3ValidationError(`routes[${i}].description`, out.description, 'must be a single line', { controller });
    }
    return out;
  });
}

function plan(desired: RouteSpec[], have: ExistingRoute[], match: Matcher, removeUndesired: boolean): Omit<RoutePlan, 'dryRun'> {
  const unchanged: ExistingRoute[] = [];
  const created: RouteSpec[] = [];
  const used = new Set<number>();
  const seen = new Set<string>();
  for (const want of desired) {
    const key = routeKey(want);
    if (seen.has(key)) continue;
    seen.add(key);
    const hit = have.find((h) => !used.has(h.id) && match(want, h));
    if (hit) {
      used.add(hit.id);
      unchanged.push(hit);
    } else created.push(want);
  }
  const removed: ExistingRoute[] = [];
  for (const h of have) {
    if (used.has(h.id)) continue;
    // A route in the same slot (differing only in `advertise`) blocks the new one: replace it.
    const blocks = created.some((c) => slotKey(c) === slotKey(h));
    if (removeUndesired || blocks) removed.push(h);
  }
  return { created, removed, unchanged };
}

async function postRoute(client: Vns3Client, spec: RouteSpec, signal?: AbortSignal): Promise<void> {
  const body = {
    cidr: spec.cidr,
    description: spec.description ?? '',
    interface: spec.interface === undefined ? undefined : unset(spec.interface),
    gateway: spec.gateway === undefined ? undefined : unset(spec.gateway),
    advertise: spec.advertise === true,
    metric: spec.metric,
    table: spec.table,
    tunnel: spec.tunnel,
  };
  try {
    await client.post('/routes', { body, signal });
  } catch (err) {
    // POST is not idempotent: after an ambiguous failure, re-read and decide.
    if (!isOutcomeUnknown(err)) throw err;
    const now = await readLocalRoutes(client, signal);
    if (!now.some((r) => routeKey(r) === routeKey(spec))) throw err;
  }
}

/** What a route plan rests on: the desired routes resolved for this controller, and its routes. */
interface RouteReading {
  specs: RouteSpec[];
  have: ExistingRoute[];
}

/** Substitutes the controller's variables into `desired` (Vns3ValidationError before any write) and reads its routes. */
async function readRoutes(client: Vns3Client, desired: readonly RouteSpec[], options: EnsureRouteTableOptions): Promise<RouteReading> {
  const usesVars = desired.some((d) => Object.values(d).some((v) => typeof v === 'string' && v.includes('{')));
  const vars = usesVars ? await controllerVariables(client, options) : { ...options.variables };
  const specs = resolveSpecs(desired, vars, client.host);
  return { specs, have: await readLocalRoutes(client, options.signal) };
}

/** Writes the plan (unless a dry run): removals first, so that a replaced route's slot is free. */
async function applyRoutes(client: Vns3Client, result: RoutePlan, options: MacroOptions & Progress): Promise<RoutePlan> {
  const { signal, onEvent } = options;
  const host = client.host;
  emit(onEvent, {
    controller: host,
    step: 'routes.plan',
    detail: `${result.created.length} to create, ${result.removed.length} to remove, ${result.unchanged.length} unchanged${result.dryRun ? ' (dry run)' : ''}`,
    data: { created: result.created.length, removed: result.removed.length, unchanged: result.unchanged.length },
  });
  if (result.dryRun) return result;
  for (const r of result.removed) {
    await client.delete('/routes/{route_id}', { params: { path: { route_id: r.id } }, signal });
    options.onWrite?.();
    emit(onEvent, { controller: host, step: 'routes.remove', detail: `removed route ${r.id} to ${r.cidr}`, data: { id: r.id } });
  }
  for (const c of result.created) {
    await postRoute(client, c, signal);
    options.onWrite?.();
    emit(onEvent, { controller: host, step: 'routes.create', detail: `created route to ${c.cidr}${c.advertise ? ' (advertised)' : ''}` });
  }
  return result;
}

const planOf = (reading: RouteReading, match: Matcher, options: EnsureRouteTableOptions): RoutePlan => ({
  ...plan(reading.specs, reading.have, match, options.removeUndesired === true),
  dryRun: options.dryRun === true,
});

async function reconcile(client: Vns3Client, desired: readonly RouteSpec[], options: EnsureRouteTableOptions & Progress, match: Matcher): Promise<RoutePlan> {
  return applyRoutes(client, planOf(await readRoutes(client, desired, options), match, options), options);
}

/**
 * Makes the controller's routes include `desired`: creates the missing ones and, with
 * `removeUndesired`, deletes editable routes not desired. Routes are compared on cidr, interface,
 * gateway, advertise and table (`_notset`, `''` and absent are the same; table defaults to
 * `main`). A route that differs from a desired one only in `advertise` is replaced. Throws
 * Vns3ValidationError for a bad route or an unknown `{variable}` before any write, and the
 * client's error when a request fails.
 */
export function ensureRouteTable(client: Vns3Client, desired: readonly RouteSpec[], options?: EnsureRouteTableOptions): Promise<RoutePlan>;
/**
 * The same route table (its `{variables}` filled in per controller) on many controllers: reads
 * every controller first, so that a bad template fails before any write (Vns3ValidationError),
 * then writes each controller's difference in parallel. Controllers that cannot be read or
 * written are in `failed`.
 */
export function ensureRouteTable(clients: readonly Vns3Client[], desired: readonly RouteSpec[], options?: EnsureRouteTableOptions & BulkMacroOptions): Promise<BulkResult<RoutePlan>>;
export async function ensureRouteTable(
  target: Vns3Client | readonly Vns3Client[],
  desired: readonly RouteSpec[],
  options: EnsureRouteTableOptions & BulkMacroOptions = {},
): Promise<RoutePlan | BulkResult<RoutePlan>> {
  checkRouteShapes<RouteSpec>(desired, isClientList(target) ? undefined : target?.host);
  checkFlags(options, ['removeUndesired', 'dryRun']);
  if (!isClientList(target)) return converge(target.host, 'routes.table', ({ progress }) => reconcile(target, desired, { ...options, onWrite: progress }, exactMatch), options);
  checkClients(target);
  const cache = options.cache ?? new StateCache();
  return readThenWrite(
    target,
    {
      read: (client, { signal }) => readRoutes(client, desired, { ...options, cache, signal }),
      plan: (readings) => {
        const invalid = readings.find((r) => r.error instanceof Vns3ValidationError);
        if (invalid) throw invalid.error;
        return readings.map((r) => (r.value ? planOf(r.value, exactMatch, options) : new Error('not read')));
      },
      write: (client, routePlan, { signal, progress }) => applyRoutes(client, routePlan, { ...options, signal, onWrite: progress }),
    },
    { ...options, readStep: 'routes.read', writeStep: 'routes.table' },
  );
}

function isClientList(target: Vns3Client | readonly Vns3Client[]): target is readonly Vns3Client[] {
  return Array.isArray(target);
}

/** A route to `cidr` through the gateway of the controller's own subnet. */
export interface LocalGatewayRouteSpec {
  cidr: string;
  /** The controller's subnet; the route goes to its gateway (network + 1) on eth0. */
  subnet: string;
  description?: string;
  /** Default false. */
  advertise?: boolean;
}

function localGatewayRoute(spec: LocalGatewayRouteSpec, field: string): RouteSpec {
  return {
    cidr: spec.cidr,
    interface: 'eth0',
    gateway: subnetGateway(spec.subnet, `${field}subnet`),
    advertise: spec.advertise === true,
    description: spec.description ?? 'Local Underlay Network Routing',
  };
}

/** A route to `cidr` via the subnet's gateway on eth0; created only if missing. Throws Vns3ValidationError for a bad CIDR or subnet before any write. */
export async function createLocalGatewayRoute(client: Vns3Client, spec: LocalGatewayRouteSpec, options: MacroOptions = {}): Promise<RoutePlan> {
  if (spec === null || typeof spec !== 'object') throw new Vns3ValidationError('spec', spec, 'must be { cidr, subnet }', { controller: client.host });
  if (typeof spec.cidr !== 'string') throw new Vns3ValidationError('cidr', spec.cidr, 'must be a CIDR string', { controller: client.host });
  if (typeof spec.subnet !== 'string') throw new Vns3ValidationError('subnet', spec.subnet, 'must be a CIDR string', { controller: client.host });
  normalizeCidr(spec.cidr, 'cidr');
  checkBoolean('advertise', spec.advertise, client.host);
  const route = localGatewayRoute(spec, '');
  checkRouteShapes<RouteSpec>([route], client.host);
  resolveSpecs([route], {}, client.host);
  return converge(client.host, 'routes.local-gateway', ({ progress }) => reconcile(client, [route], { ...options, onWrite: progress }, exactMatch), options);
}

/** The subnets of the mesh macros' controllers. */
export interface MeshSubnetsSpec {
  /** Each controller's subnet, aligned with `clients`. */
  subnets: readonly string[];
}

/** How the mesh route macros run. */
export interface MeshRoutingOptions extends BulkMacroOptions {
  cache?: StateCache;
}

function checkSubnets(clients: readonly Vns3Client[], subnets: readonly string[]): void {
  checkClients(clients);
  if (!Array.isArray(subnets) || subnets.length !== clients.length) {
    throw new Vns3ValidationError('subnets', subnets, `needs one subnet per client (${clients.length})`);
  }
  subnets.forEach((s, i) => normalizeCidr(s, `subnets[${i}]`));
}

/** Each controller's subnet, once its private IP is known to lie in it (else Vns3ValidationError, before any write). */
function subnetsOfStates(readings: readonly Reading<ControllerState>[], subnets: readonly string[]): string[] {
  return readings.map(({ client, index, value: state }) => {
    const subnet = subnets[index]!;
    if (state && !cidrContains(subnet, state.privateIp, `subnets[${index}]`)) {
      throw new Vns3ValidationError(`subnets[${index}]`, subnet, `does not contain the controller's private IP ${state.privateIp}`, { controller: client.host });
    }
    return subnet;
  });
}

/** How one mesh route macro differs from the other: what it plans and how it recognises a route. */
interface MeshRouteRule {
  /** Each controller's routes, from every controller's state and its own subnet (checked). */
  plan: (readings: readonly Reading<ControllerState>[], subnets: readonly string[]) => RouteSpec[][];
  match: Matcher;
  writeStep: string;
}

/** Both mesh route macros: subnets checked, every controller's state read, then routes reconciled. */
function reconcileMeshRoutes(
  clients: readonly Vns3Client[],
  spec: MeshSubnetsSpec,
  options: MeshRoutingOptions,
  rule: MeshRouteRule,
): Promise<BulkResult<RoutePlan>> {
  checkSubnets(clients, spec?.subnets);
  const cache = options.cache ?? new StateCache();
  return readThenWrite(
    clients,
    {
      read: (client, { signal }) => cache.get(client, { signal }),
      plan: (readings) => rule.plan(readings, subnetsOfStates(readings, spec.subnets)),
      write: (client, routes, { signal, progress }) => reconcile(client, routes, { ...options, signal, onWrite: progress }, rule.match),
    },
    { ...options, readStep: 'state.fetch', writeStep: rule.writeStep },
  );
}

/**
 * Each controller gets a /32 to every other controller's private IP via its own subnet's gateway
 * on eth0 (not advertised), so peering traffic takes the underlay. Reads every controller's state
 * first; throws Vns3ValidationError (a bad subnet, or one without its controller's private IP)
 * before any write. Controllers that cannot be read are in `failed` and not written.
 */
export async function createPeerMeshLocalGatewayRoutes(
  clients: readonly Vns3Client[],
  spec: MeshSubnetsSpec,
  options: MeshRoutingOptions = {},
): Promise<BulkResult<RoutePlan>> {
  return reconcileMeshRoutes(clients, spec, options, {
    plan: (readings, subnets) => {
      const ips = readings.map((r) => r.value?.privateIp);
      return readings.map((_, index) =>
        ips
          .filter((ip, j): ip is string => j !== index && typeof ip === 'string' && ip !== ips[index])
          .map((ip) => localGatewayRoute({ cidr: hostCidr(ip), subnet: subnets[index]!, description: 'Peer route to local gateway' }, `subnets[${index}].`)),
      );
    },
    match: exactMatch,
    writeStep: 'routes.peer-gateways',
  });
}

// An advertisement is identified by what is advertised: a controller may fill in an interface.
const advertisementMatch: Matcher = (want, have) =>
  have.advertise === true && cidrKey(have.cidr) === cidrKey(want.cidr) && (have.table || 'main') === (want.table || 'main');

/**
 * Advertises each controller's subnet to the mesh (`advertise: true`, gateway `_notset`, as the
 * Python SDK does). Reads every controller's state first; throws Vns3ValidationError (a bad
 * subnet, or one without its controller's private IP) before any write. Controllers that cannot
 * be read are in `failed` and not written.
 */
export async function createRouteAdvertisements(
  clients: readonly Vns3Client[],
  spec: MeshSubnetsSpec,
  options: MeshRoutingOptions = {},
): Promise<BulkResult<RoutePlan>> {
  return reconcileMeshRoutes(clients, spec, options, {
    plan: (_, subnets) => subnets.map((subnet) => [{ cidr: normalizeCidr(subnet), description: 'Local subnet advertisement', advertise: true, gateway: NOT_SET }]),
    match: advertisementMatch,
    writeStep: 'routes.advertise',
  });
}
