/**
 * `bridgeControllers`: both ends of a route-based IPsec bridge between two controllers — the
 * multi-cloud bridge of the Python SDK's AWS ↔ Azure example, or the link between two meshes'
 * edge controllers. It reads both sides first, gives the bridge a link-local /30 that collides
 * with no VTI already on either side (or keeps the one a previous run gave it), configures both
 * endpoints with `ensureIpsecEndpoint`, and waits through the SDK's poller until both report the
 * tunnel connected. A side whose tunnel cannot come up (a key mismatch, a closed underlay) is
 * reported in `failed` with the controller's own reason.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { components } from '../generated/vns3.js';
import { intToIp, ipToInt, isIPv4, parseCidr } from '../net/index.js';
import { runBulk } from './core/bulk.js';
import { pollUntil } from './core/poll-until.js';
import { checkTiming } from './core/poller.js';
import type { BulkResult, WaitingMacroOptions } from './core/types.js';
import { checkClients, checkFlags, checkSecret } from './core/validate.js';
import { ensureIpsecEndpoint, resolveIpsecSpec, type IpsecEndpointResult } from './ipsec.js';

type RemoteEndpoint = components['schemas']['IpsecRemoteEndpoint'];

/** One end of a bridge. */
export interface BridgeSide {
  client: Vns3Client;
  /** The networks behind this side, routed into the tunnel on the other side. */
  networks?: readonly string[];
  /** This side's public address as the other side must dial it; default its `public_ipaddress`. */
  publicIp?: string;
}

/** The bridge to build. */
export interface BridgeSpec {
  a: BridgeSide;
  b: BridgeSide;
  /** Pre-shared key of the tunnel. Never shown in events, errors or results. */
  psk: string;
  /** Name of the endpoint on both sides (default `bridge`). */
  name?: string;
  /** Default 2. */
  ikeVersion?: 1 | 2;
  /** Where VTI /30s are taken from (default `169.254.0.0/16`, link-local). */
  vtiPool?: string;
  /** Advertise the other side's networks to each side's mesh peers (default false). */
  advertise?: boolean;
}

/** How `bridgeControllers` runs. `timeoutMs` bounds the wait for the tunnel (default 60 s). */
export interface BridgeControllersOptions extends WaitingMacroOptions {
  /** Passed to `ensureIpsecEndpoint`: recreate an endpoint that differs instead of changing it. */
  replace?: boolean;
}

/** What one side ended with. */
export interface BridgeSideResult extends IpsecEndpointResult {
  side: 'a' | 'b';
  /** This side's VTI address with its /30. */
  vtiAddress: string;
  connected: boolean;
}

interface SideReading {
  publicIp: string;
  endpoints: RemoteEndpoint[];
}

async function readSide(side: BridgeSide, signal?: AbortSignal): Promise<SideReading> {
  const [config, ipsec] = await Promise.all([side.publicIp ? undefined : side.client.get('/config', { signal }), side.client.get('/ipsec', { signal })]);
  const publicIp = side.publicIp ?? config?.public_ipaddress ?? '';
  if (!isIPv4(publicIp)) throw new Vns3ValidationError('publicIp', publicIp, 'the controller reports no public IPv4 address; give the side a publicIp', { controller: side.client.host });
  return { publicIp, endpoints: Object.values(ipsec.remote_endpoints) };
}

const slotOf = (address: string | null | undefined): number | undefined => {
  if (!address || !address.includes('/')) return undefined;
  try {
    return ipToInt(parseCidr(address).network) >>> 2;
  } catch {
    return undefined;
  }
};

/**
 * The bridge's /30: the one both sides' endpoints of this name already share, else the first /30
 * of the pool that no VTI on either side uses (Vns3ValidationError when the pool is full).
 */
export function allocateVti(pool: string, name: string, a: readonly RemoteEndpoint[], b: readonly RemoteEndpoint[]): { a: string; b: string } {
  const parsed = parseCidr(pool, 'vtiPool');
  if (parsed.prefix > 30) throw new Vns3ValidationError('vtiPool', pool, 'must hold at least one /30');
  const mineA = slotOf(a.find((e) => e.name === name)?.route_based_int_address);
  const mineB = slotOf(b.find((e) => e.name === name)?.route_based_int_address);
  const used = new Set<number>();
  for (const e of [...a, ...b]) {
    if (e.name === name) continue;
    const slot = slotOf(e.route_based_int_address);
    if (slot !== undefined) used.add(slot);
  }
  const first = ipToInt(parsed.network) >>> 2;
  const count = 2 ** (30 - parsed.prefix);
  const pick = (slot: number) => ({ a: `${intToIp(((slot << 2) >>> 0) + 1)}/30`, b: `${intToIp(((slot << 2) >>> 0) + 2)}/30` });
  if (mineA !== undefined && mineA === mineB && !used.has(mineA)) return pick(mineA);
  for (let slot = first; slot < first + count; slot++) if (!used.has(slot)) return pick(slot);
  throw new Vns3ValidationError('vtiPool', pool, `has no free /30 left on both sides (${used.size} in use)`);
}

function checkSpec(spec: BridgeSpec): void {
  if (spec === null || typeof spec !== 'object') throw new Vns3ValidationError('spec', spec, 'must be { a, b, psk }');
  checkClients([spec.a?.client, spec.b?.client], 'a/b.client');
  if (spec.a.client === spec.b.client) throw new Vns3ValidationError('b.client', spec.b.client.host, 'must be another controller than a');
  checkSecret('psk', spec.psk);
  checkFlags(spec, ['advertise']);
  parseCidr(spec.vtiPool ?? '169.254.0.0/16', 'vtiPool');
  // Everything ensureIpsecEndpoint will check, checked now for both sides, so nothing is written on a typo.
  for (const [key, side, other] of [['a', spec.a, spec.b], ['b', spec.b, spec.a]] as const) {
    if (side.publicIp !== undefined && !isIPv4(side.publicIp)) throw new Vns3ValidationError(`${key}.publicIp`, side.publicIp, 'must be an IPv4 address');
    resolveIpsecSpec({ name: spec.name ?? 'bridge', remoteIp: '192.0.2.1', psk: spec.psk, ikeVersion: spec.ikeVersion, vtiAddress: '169.254.0.1/30', remoteNetworks: other.networks }, side.client.host);
  }
}

/** How `waitForIpsecEndpoints` waits. `timeoutMs` defaults to 60 s. */
export interface WaitForIpsecOptions extends WaitingMacroOptions {
  concurrency?: number;
}

/** Waits until every tunnel of the endpoint named `name` reports connected; returns their ids. */
async function waitConnected(client: Vns3Client, name: string, options: WaitForIpsecOptions): Promise<number[]> {
  const tunnels = await pollUntil(
    {
      what: `IPsec endpoint ${name} connected`,
      controller: client.host,
      probe: async (signal) => Object.values(await client.get('/status/ipsec', { signal })).filter((t) => t.endpoint_name === name),
      done: (ts) => ts.length > 0 && ts.every((t) => t.connected),
      describe: (ts) =>
        ts.length === 0 ? `no tunnel of endpoint ${name}` : ts.map((t) => `tunnel ${t.id} ${t.connected ? 'connected' : `not connected (${t.tunnel_params?.phase1 || 'no IKE state'})`}`).join('; '),
    },
    { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: options.intervalMs, signal: options.signal, onEvent: options.onEvent },
  );
  return tunnels.map((t) => t.id);
}

/**
 * Waits on each controller until every tunnel of its endpoint named `name` reports connected,
 * through the SDK's poller. A controller whose tunnel does not come up in `timeoutMs` is in
 * `failed` with a Vns3WaitTimeoutError whose message carries the controller's reason
 * (`authentication failed (pre-shared key mismatch)`, `no response …`). Throws Vns3ValidationError
 * for bad clients or timing before any request.
 */
export async function waitForIpsecEndpoints(clients: readonly Vns3Client[], name: string, options: WaitForIpsecOptions = {}): Promise<BulkResult<number[]>> {
  checkClients(clients);
  if (typeof name !== 'string' || name.trim() === '') throw new Vns3ValidationError('name', name, 'must be the name of an IPsec endpoint');
  checkTiming(options);
  return runBulk(clients, (c) => c.host, (c) => waitConnected(c, name, options), { ...options, step: 'ipsec.wait' });
}

/**
 * Builds or reconciles a route-based IPsec bridge between controllers `a` and `b`: an endpoint
 * named `name` on each side pointing at the other's public address with the same key, a VTI pair
 * from a /30 of `vtiPool` unused on both sides, and routes to the other side's networks into the
 * tunnel (advertised to the mesh with `advertise`); then waits until both report the tunnel
 * connected. A second run writes nothing. Throws Vns3ValidationError for a bad spec before any
 * request; every other failure is reported per side in `failed` (a side that cannot be read, a
 * write refused, or a tunnel that did not come up — Vns3WaitTimeoutError with the reason).
 */
export async function bridgeControllers(spec: BridgeSpec, options: BridgeControllersOptions = {}): Promise<BulkResult<BridgeSideResult>> {
  checkSpec(spec);
  checkTiming(options);
  checkFlags(options, ['replace']);
  const name = spec.name ?? 'bridge';
  const sides = [{ key: 'a' as const, side: spec.a, other: spec.b }, { key: 'b' as const, side: spec.b, other: spec.a }];
  const read = await runBulk(sides, (s) => s.side.client.host, (s) => readSide(s.side, options.signal), { ...options, step: 'bridge.read' });
  if (read.failed.length > 0) return { succeeded: [], failed: read.failed };
  const [ra, rb] = read.succeeded.map((s) => s.value) as [SideReading, SideReading];
  const vti = allocateVti(spec.vtiPool ?? '169.254.0.0/16', name, ra.endpoints, rb.endpoints);
  emit(options.onEvent, { controller: '*', step: 'bridge.plan', detail: `bridge ${name}: ${spec.a.client.host} ${vti.a} <-> ${spec.b.client.host} ${vti.b}` });
  const remoteIp = { a: rb.publicIp, b: ra.publicIp };
  return runBulk(
    sides,
    (s) => s.side.client.host,
    async ({ key, side, other }) => {
      const result = await ensureIpsecEndpoint(
        side.client,
        { name, remoteIp: remoteIp[key], psk: spec.psk, ikeVersion: spec.ikeVersion, vtiAddress: vti[key], remoteNetworks: other.networks, advertiseRemoteNetworks: spec.advertise, description: `IPsec bridge ${name}` },
        { replace: options.replace, retryBudget: options.retryBudget, signal: options.signal, onEvent: options.onEvent },
      );
      const tunnels = await waitConnected(side.client, name, options);
      emit(options.onEvent, { controller: side.client.host, step: 'bridge.connected', detail: `tunnel ${tunnels.join(', ')} to ${remoteIp[key]} connected` });
      return { ...result, side: key, vtiAddress: vti[key], connected: true };
    },
    { ...options, step: 'bridge.side' },
  );
}
