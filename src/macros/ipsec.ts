/**
 * IPsec macros. `ensureIpsecEndpoint` is the Python SDK's `ipsec.create_tunnel_endpoint` made
 * idempotent: it finds the endpoint by name, compares it with the desired one (the pre-shared key
 * included, which the controller shows to its API user) and writes only the difference — an
 * endpoint, its policy-based tunnels or route-based VTI, its traffic pairs, and the routes to the
 * remote networks through the tunnel. A second run writes nothing. The key never appears in an
 * event, an error or a plan: plans name the fields that differ, never their values.
 */
import { isOutcomeUnknown, Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { isIPv4, normalizeCidr, parseCidr } from '../net/index.js';
import { converge } from './core/reconcile.js';
import type { MacroOptions } from './core/types.js';
import { checkFlags, checkSecret, hasControl } from './core/validate.js';

type RemoteEndpoint = components['schemas']['IpsecRemoteEndpoint'];
type EndpointBody = components['schemas']['IpsecEndpointCreateRequest'];

/** A policy-based tunnel or a traffic pair: which local subnet talks to which remote one. */
export interface IpsecSubnetPair {
  localSubnet: string;
  remoteSubnet: string;
  description?: string;
}

/** The desired endpoint on one controller. */
export interface IpsecEndpointSpec {
  /** Name of the endpoint on this controller: how the macro finds it again. */
  name: string;
  /** The remote gateway's public IPv4 address. */
  remoteIp: string;
  /** Pre-shared key; the same on both ends. Never shown in events, errors or plans. */
  psk: string;
  /** Default 2. */
  ikeVersion?: 1 | 2;
  /** Perfect forward secrecy; default true. */
  pfs?: boolean;
  /** NAT traversal; default true. */
  natTraversal?: boolean;
  /** Extra options, e.g. `phase1=aes256-sha2_256-dh14 phase2=aes256`. */
  extraConfig?: string;
  /** The remote gateway's address behind its NAT (its IKE id), when it differs. */
  remotePrivateIp?: string;
  description?: string;
  /**
   * Route-based: the VTI address of this end with its /30 (`169.254.0.1/30`). Without it the
   * endpoint is policy-based and carries `tunnels`.
   */
  vtiAddress?: string;
  /** Policy-based tunnels (only without `vtiAddress`). */
  tunnels?: readonly IpsecSubnetPair[];
  /** Traffic pairs of the endpoint. */
  trafficPairs?: readonly IpsecSubnetPair[];
  /** Route-based: the remote networks routed into the tunnel (one route each). */
  remoteNetworks?: readonly string[];
  /** Advertise those routes to the controller's mesh peers (default false). */
  advertiseRemoteNetworks?: boolean;
}

/** How `ensureIpsecEndpoint` reconciles. */
export interface EnsureIpsecEndpointOptions extends MacroOptions {
  /**
   * Delete and create the endpoint when it differs, instead of changing it in place (`PUT`). A
   * change of kind (policy-based ↔ route-based) needs it; without it that change is refused.
   */
  replace?: boolean;
  /** Plan without writing. */
  dryRun?: boolean;
}

/** What the macro did (or, with `dryRun`, would do) on one controller. Never holds the key. */
export interface IpsecEndpointPlan {
  endpoint: 'create' | 'update' | 'replace' | 'unchanged';
  /** Names of the endpoint fields that differ (`psk`, `ipaddress`, …), never their values. */
  changed: string[];
  tunnels: { create: IpsecSubnetPair[]; update: Array<{ id: number } & IpsecSubnetPair>; remove: number[] };
  trafficPairs: { create: IpsecSubnetPair[]; update: Array<{ id: number } & IpsecSubnetPair>; remove: number[] };
  routes: { create: string[]; remove: Array<{ id: number; cidr: string }> };
}

/** The outcome on one controller. */
export interface IpsecEndpointResult {
  controller: string;
  /** The endpoint's id (undefined in a dry run that would create it). */
  endpointId?: number;
  /** Ids of its tunnels (the VTI's one for a route-based endpoint). */
  tunnelIds: number[];
  plan: IpsecEndpointPlan;
  /** Requests that changed something. */
  writes: number;
  dryRun: boolean;
}

interface Desired {
  name: string;
  body: EndpointBody;
  tunnels: IpsecSubnetPair[];
  pairs: IpsecSubnetPair[];
  networks: string[];
  advertise: boolean;
}

function cidrOf(field: string, value: unknown, controller: string): string {
  if (typeof value !== 'string' || !value.includes('/') || !isIPv4(value.split('/')[0])) {
    throw new Vns3ValidationError(field, value, 'must be an IPv4 CIDR such as "10.0.0.0/16"', { controller });
  }
  return normalizeCidr(value, field);
}

function pairsOf(field: string, value: readonly IpsecSubnetPair[] | undefined, controller: string): IpsecSubnetPair[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Vns3ValidationError(field, value, 'must be a list of { localSubnet, remoteSubnet }', { controller });
  return value.map((p, i) => ({
    localSubnet: cidrOf(`${field}[${i}].localSubnet`, p?.localSubnet, controller),
    remoteSubnet: cidrOf(`${field}[${i}].remoteSubnet`, p?.remoteSubnet, controller),
    description: p.description,
  }));
}

/** Checks the whole spec before any request; Vns3ValidationError names the field (the key redacted). */
export function resolveIpsecSpec(spec: IpsecEndpointSpec, controller: string): Desired {
  if (spec === null || typeof spec !== 'object') throw new Vns3ValidationError('spec', spec, 'must be an IPsec endpoint spec', { controller });
  const name = typeof spec.name === 'string' ? spec.name.trim() : '';
  if (!name || name.length > 64 || hasControl(name)) throw new Vns3ValidationError('name', spec.name, 'must be a single-line name of 1 to 64 characters', { controller });
  if (!isIPv4(spec.remoteIp)) throw new Vns3ValidationError('remoteIp', spec.remoteIp, 'must be the IPv4 address of the remote gateway', { controller });
  checkSecret('psk', spec.psk, controller);
  if (spec.ikeVersion !== undefined && spec.ikeVersion !== 1 && spec.ikeVersion !== 2) throw new Vns3ValidationError('ikeVersion', spec.ikeVersion, 'must be 1 or 2', { controller });
  checkFlags(spec, ['pfs', 'natTraversal', 'advertiseRemoteNetworks'], controller);
  if (spec.remotePrivateIp !== undefined && !isIPv4(spec.remotePrivateIp)) throw new Vns3ValidationError('remotePrivateIp', spec.remotePrivateIp, 'must be an IPv4 address', { controller });
  for (const f of ['extraConfig', 'description'] as const) {
    if (spec[f] !== undefined && (typeof spec[f] !== 'string' || hasControl(spec[f]!))) throw new Vns3ValidationError(f, spec[f], 'must be a single-line string', { controller });
  }
  const vti = spec.vtiAddress;
  if (vti !== undefined) {
    const parsed = typeof vti === 'string' && vti.includes('/') ? parseCidr(vti, 'vtiAddress') : undefined;
    if (!parsed || parsed.prefix !== 30 || parsed.ip === parsed.network || parsed.ip === parsed.broadcast) {
      throw new Vns3ValidationError('vtiAddress', vti, 'must be a host address of a /30, e.g. "169.254.0.1/30"', { controller });
    }
    if (spec.tunnels?.length) throw new Vns3ValidationError('tunnels', spec.tunnels, 'a route-based endpoint (vtiAddress) has no policy-based tunnels; use remoteNetworks', { controller });
  } else if (spec.remoteNetworks?.length) {
    throw new Vns3ValidationError('remoteNetworks', spec.remoteNetworks, 'are routed into a route-based tunnel: give vtiAddress, or use tunnels for a policy-based endpoint', { controller });
  }
  const networks = (spec.remoteNetworks ?? []).map((n, i) => cidrOf(`remoteNetworks[${i}]`, n, controller));
  const body: EndpointBody = {
    name,
    ipaddress: spec.remoteIp,
    secret: spec.psk,
    ike_version: spec.ikeVersion ?? 2,
    pfs: spec.pfs ?? true,
    nat_t_enabled: spec.natTraversal ?? true,
    extra_config: spec.extraConfig,
    private_ipaddress: spec.remotePrivateIp,
    description: spec.description,
    vpn_type: vti === undefined ? 'policy' : 'vti',
    route_based_int_address: vti,
    route_based_local: vti === undefined ? undefined : '0.0.0.0/0',
    route_based_remote: vti === undefined ? undefined : '0.0.0.0/0',
  };
  return { name, body, tunnels: pairsOf('tunnels', spec.tunnels, controller), pairs: pairsOf('trafficPairs', spec.trafficPairs, controller), networks: [...new Set(networks)], advertise: spec.advertiseRemoteNetworks === true };
}

/** Endpoint fields that differ from the desired ones (names only). */
function endpointDifferences(have: RemoteEndpoint, want: EndpointBody): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => (a ?? '') === (b ?? '');
  if (!same(have.ipaddress, want.ipaddress)) out.push('ipaddress');
  if (have.psk !== undefined && have.psk !== want.secret) out.push('psk');
  if (have.ike_version !== want.ike_version) out.push('ike_version');
  if (have.pfs !== want.pfs) out.push('pfs');
  if (have.nat_t_enabled !== want.nat_t_enabled) out.push('nat_t_enabled');
  if (want.extra_config !== undefined && (have.extra_config ?? []).join(' ') !== want.extra_config.split(/\s+/).filter(Boolean).join(' ')) out.push('extra_config');
  if (want.private_ipaddress !== undefined && !same(have.private_ipaddress, want.private_ipaddress)) out.push('private_ipaddress');
  if (want.description !== undefined && !same(have.description, want.description)) out.push('description');
  if ((have.vpn_type ?? 'policy') !== want.vpn_type) out.push('vpn_type');
  if (want.vpn_type === 'vti' && !same(have.route_based_int_address, want.route_based_int_address)) out.push('route_based_int_address');
  return out;
}

const pairKey = (p: { localSubnet?: string; remoteSubnet?: string; local_subnet?: string; remote_subnet?: string }): string =>
  `${p.localSubnet ?? p.local_subnet}|${p.remoteSubnet ?? p.remote_subnet}`;

/** Matches desired pairs with existing ones; leftovers are changed in place, then created or removed. */
function planPairs(want: IpsecSubnetPair[], have: Array<{ id: number; local_subnet?: string; remote_subnet?: string }>): IpsecEndpointPlan['tunnels'] {
  const haveKeys = new Set(have.map((h) => pairKey(h)));
  const wantKeys = new Set(want.map((w) => pairKey(w)));
  const missing = want.filter((w, i) => !haveKeys.has(pairKey(w)) && want.findIndex((x) => pairKey(x) === pairKey(w)) === i);
  const extra = have.filter((h) => !wantKeys.has(pairKey(h)));
  const update = missing.slice(0, extra.length).map((w, i) => ({ id: extra[i]!.id, ...w }));
  return { create: missing.slice(extra.length), update, remove: extra.slice(missing.length).map((h) => h.id) };
}

type RouteRow = { id: number; cidr: string; tunnel: number | undefined; advertise: boolean };

async function readState(client: Vns3Client, name: string, signal?: AbortSignal): Promise<{ endpoint?: RemoteEndpoint; routes: RouteRow[] }> {
  const [ipsec, routes] = await Promise.all([client.get('/ipsec', { signal }), client.get('/routes', { signal })]);
  const endpoint = Object.values(ipsec.remote_endpoints).find((e) => e.name === name);
  const rows = Object.entries(routes)
    .filter(([, r]) => r.editable !== false)
    .map(([id, r]) => ({ id: r.id ?? Number(id), cidr: r.cidr, advertise: r.advertise, tunnel: typeof r.tunnel === 'number' ? r.tunnel : r.tunnel?.id }));
  return { endpoint, routes: rows };
}

const tunnelIdsOf = (e: RemoteEndpoint | undefined): number[] => Object.values(e?.tunnels ?? {}).map((t) => t.id);

function planFor(want: Desired, state: { endpoint?: RemoteEndpoint; routes: RouteRow[] }, options: EnsureIpsecEndpointOptions, controller: string): IpsecEndpointPlan {
  const have = state.endpoint;
  const changed = have ? endpointDifferences(have, want.body) : [];
  if (changed.includes('vpn_type') && options.replace !== true) {
    throw new Vns3ValidationError('vtiAddress', want.body.route_based_int_address ?? null, `endpoint ${want.name} exists as ${have?.vpn_type ?? 'policy'}-based; pass replace: true to replace it`, { controller });
  }
  const action = !have ? 'create' : changed.length === 0 ? 'unchanged' : options.replace === true ? 'replace' : 'update';
  const fresh = action === 'create' || action === 'replace';
  const tunnels = fresh ? { create: want.tunnels, update: [], remove: [] } : want.body.vpn_type === 'vti' ? { create: [], update: [], remove: [] } : planPairs(want.tunnels, Object.values(have!.tunnels));
  const pairs = fresh ? { create: want.pairs, update: [], remove: [] } : planPairs(want.pairs, Object.values(have!.traffic_pairs ?? {}));
  // Routes into the tunnel: ours are the ones naming one of the endpoint's tunnels (or the replaced one's).
  const ours = new Set(tunnelIdsOf(have));
  const mine = state.routes.filter((r) => r.tunnel !== undefined && ours.has(r.tunnel));
  const keep = fresh ? [] : mine.filter((r) => want.networks.includes(r.cidr) && r.advertise === want.advertise);
  return {
    endpoint: action,
    changed,
    tunnels,
    trafficPairs: pairs,
    routes: { create: want.networks.filter((n) => !keep.some((r) => r.cidr === n)), remove: mine.filter((r) => !keep.includes(r)).map((r) => ({ id: r.id, cidr: r.cidr })) },
  };
}

const isEmpty = (p: IpsecEndpointPlan): boolean =>
  p.endpoint === 'unchanged' && [p.tunnels, p.trafficPairs].every((x) => x.create.length + x.update.length + x.remove.length === 0) && p.routes.create.length + p.routes.remove.length === 0;

/** Creates the endpoint; after an ambiguous failure, re-reads and takes the one that landed. */
async function createEndpoint(client: Vns3Client, want: Desired, signal?: AbortSignal): Promise<RemoteEndpoint> {
  try {
    return await client.post('/ipsec/endpoints', { body: want.body, signal });
  } catch (err) {
    if (!isOutcomeUnknown(err)) throw err;
    const landed = (await readState(client, want.name, signal)).endpoint;
    if (!landed) throw err;
    return landed;
  }
}

async function applyPlan(client: Vns3Client, want: Desired, plan: IpsecEndpointPlan, state: { endpoint?: RemoteEndpoint }, options: MacroOptions & { progress: () => void }): Promise<{ endpoint: RemoteEndpoint; writes: number }> {
  const { signal, onEvent } = options;
  const host = client.host;
  let writes = 0;
  const wrote = (step: string, detail: string) => {
    writes++;
    options.progress();
    emit(onEvent, { controller: host, step: `ipsec.${step}`, detail });
  };
  for (const r of plan.routes.remove) {
    await client.delete('/routes/{route_id}', { params: { path: { route_id: r.id } }, signal });
    wrote('route.remove', `removed route ${r.id} to ${r.cidr}`);
  }
  let endpoint = state.endpoint;
  if (plan.endpoint === 'replace' && endpoint) {
    await client.delete('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: endpoint.id } }, signal });
    wrote('endpoint.remove', `removed endpoint ${want.name} to replace it (${plan.changed.join(', ')} differ)`);
    endpoint = undefined;
  }
  if (!endpoint) {
    endpoint = await createEndpoint(client, want, signal);
    wrote('endpoint.create', `created ${want.body.vpn_type}-based endpoint ${want.name} to ${want.body.ipaddress}`);
  } else if (plan.endpoint === 'update') {
    endpoint = await client.put('/ipsec/endpoints/{endpoint_id}', { params: { path: { endpoint_id: endpoint.id } }, body: want.body, signal });
    wrote('endpoint.update', `changed ${plan.changed.join(', ')} of endpoint ${want.name}`);
  }
  const path = { endpoint_id: endpoint.id };
  for (const id of plan.tunnels.remove) {
    await client.delete('/ipsec/endpoints/{endpoint_id}/tunnels/{tunnel_id}', { params: { path: { ...path, tunnel_id: id } }, signal });
    wrote('tunnel.remove', `removed tunnel ${id}`);
  }
  for (const t of plan.tunnels.update) {
    await client.put('/ipsec/endpoints/{endpoint_id}/tunnels/{tunnel_id}', { params: { path: { ...path, tunnel_id: t.id } }, body: { local_subnet: t.localSubnet, remote_subnet: t.remoteSubnet, description: t.description }, signal });
    wrote('tunnel.update', `tunnel ${t.id} now ${t.localSubnet} <-> ${t.remoteSubnet}`);
  }
  for (const t of plan.tunnels.create) {
    endpoint = await client.post('/ipsec/endpoints/{endpoint_id}/tunnels', { params: { path }, body: { local_subnet: t.localSubnet, remote_subnet: t.remoteSubnet, description: t.description }, signal });
    wrote('tunnel.create', `created tunnel ${t.localSubnet} <-> ${t.remoteSubnet}`);
  }
  for (const id of plan.trafficPairs.remove) {
    await client.delete('/ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}', { params: { path: { ...path, pair_id: id } }, signal });
    wrote('pair.remove', `removed traffic pair ${id}`);
  }
  for (const p of plan.trafficPairs.update) {
    await client.put('/ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}', { params: { path: { ...path, pair_id: p.id } }, body: { local_subnet: p.localSubnet, remote_subnet: p.remoteSubnet, description: p.description }, signal });
    wrote('pair.update', `traffic pair ${p.id} now ${p.localSubnet} <-> ${p.remoteSubnet}`);
  }
  for (const p of plan.trafficPairs.create) {
    await client.post('/ipsec/endpoints/{endpoint_id}/traffic_pairs', { params: { path }, body: { local_subnet: p.localSubnet, remote_subnet: p.remoteSubnet, description: p.description }, signal });
    wrote('pair.create', `created traffic pair ${p.localSubnet} <-> ${p.remoteSubnet}`);
  }
  const tunnel = tunnelIdsOf(endpoint)[0];
  for (const cidr of plan.routes.create) {
    if (tunnel === undefined) break;
    await client.post('/routes', { body: { cidr, description: `Route to ${cidr} via IPsec ${want.name}`, tunnel, advertise: want.advertise }, signal });
    wrote('route.create', `routed ${cidr} into tunnel ${tunnel}${want.advertise ? ' (advertised)' : ''}`);
  }
  return { endpoint, writes };
}

/**
 * Makes the controller hold the IPsec endpoint `spec` describes, found by name: creates it, or
 * changes what differs in place (`PUT`; with `replace: true` deletes and recreates it instead),
 * with its tunnels (policy-based) or VTI (route-based), traffic pairs, and one route per remote
 * network into the tunnel. A second run writes nothing. Throws Vns3ValidationError for a bad spec
 * (the key redacted) or a change of kind without `replace`, before any write, and the client's
 * error when a request fails (after re-reading and retrying transient failures within `retryBudget`).
 */
export async function ensureIpsecEndpoint(client: Vns3Client, spec: IpsecEndpointSpec, options: EnsureIpsecEndpointOptions = {}): Promise<IpsecEndpointResult> {
  const controller = client?.host;
  const want = resolveIpsecSpec(spec, controller);
  checkFlags(options, ['replace', 'dryRun'], controller);
  return converge(controller, 'ipsec.endpoint', async ({ progress }) => {
    const state = await readState(client, want.name, options.signal);
    const plan = planFor(want, state, options, controller);
    emit(options.onEvent, {
      controller,
      step: 'ipsec.plan',
      detail: `endpoint ${want.name}: ${plan.endpoint}${plan.changed.length ? ` (${plan.changed.join(', ')})` : ''}${options.dryRun ? ' (dry run)' : ''}`,
      data: { endpoint: plan.endpoint, changed: plan.changed },
    });
    if (options.dryRun === true || isEmpty(plan)) {
      return { controller, endpointId: state.endpoint?.id, tunnelIds: tunnelIdsOf(state.endpoint), plan, writes: 0, dryRun: options.dryRun === true };
    }
    const { endpoint, writes } = await applyPlan(client, want, plan, state, { ...options, progress });
    return { controller, endpointId: endpoint.id, tunnelIds: tunnelIdsOf(endpoint), plan, writes, dryRun: false };
  }, options);
}
