/**
 * What the controllers of a topology are now: one read of each (config, license, keyset, peering,
 * routes), in parallel and bounded. Plan and status both start here; a controller that cannot be
 * read is kept with its error, so that the others are still planned and shown.
 */
import { readFileSync } from 'node:fs';
import type { Vns3Client } from '../client/index.js';
import { connectControllers, peeringEntries, readKeyset, readControllerState, runBulk, type ControllerSpec, type ControllerState } from '../macros/index.js';
import type { Topology, TopologyController } from './types.js';

/** A peer as a controller has it configured. */
export interface ObservedPeer {
  id: number;
  address: string;
  reachable: boolean;
  mtu?: string;
}

/** A route as a controller reports it. */
export interface ObservedRoute {
  id: number;
  cidr: string;
  advertise: boolean;
  /** False for routes learned from peers. */
  editable: boolean;
  gateway?: string;
  interface?: string;
  table: string;
}

/** One controller as it was read. */
export interface Observation {
  controller: TopologyController;
  client: Vns3Client;
  /** Why it could not be read (then nothing else is set). */
  error?: Error;
  state?: ControllerState;
  /** A license is uploaded (accepted or not). */
  licensePresent?: boolean;
  keysetPresent?: boolean;
  keysetInProgress?: boolean;
  keysetChecksum?: string;
  /** Configured peers by id (licensed controllers only). */
  peers?: Map<number, ObservedPeer>;
  routes?: ObservedRoute[];
}

/** One client per controller of the topology; throws Vns3ValidationError (a bad host, a missing credential) before any is made. */
export function connectTopology(topology: Topology): Vns3Client[] {
  const specs: ControllerSpec[] = topology.controllers.map((c) => {
    const k = c.connection;
    return {
      host: c.host,
      username: k.username,
      password: k.password?.reveal(),
      apiToken: k.apiToken?.reveal(),
      fingerprint256: k.fingerprint256,
      ca: k.caFile ? readFileSync(k.caFile, 'utf8') : undefined,
      insecure: k.insecure,
      timeoutMs: k.timeoutMs,
    };
  });
  return connectControllers(specs);
}

async function licensePresent(client: Vns3Client, signal?: AbortSignal): Promise<boolean> {
  try {
    const license = await client.get('/license', { signal });
    return license.license_present !== false;
  } catch {
    // An unlicensed controller without an upload answers an error here, not an empty license.
    return false;
  }
}

async function observeOne(controller: TopologyController, client: Vns3Client, signal?: AbortSignal): Promise<Observation> {
  const state = await readControllerState(client, { signal });
  const keyset = await readKeyset(client, { signal });
  const seen: Observation = {
    controller,
    client,
    state,
    licensePresent: state.licensed || (await licensePresent(client, signal)),
    keysetPresent: keyset?.keyset_present === true,
    keysetInProgress: keyset?.in_progress === true,
    keysetChecksum: keyset?.checksum || undefined,
  };
  if (!state.licensed) return seen;
  const [peering, routes] = await Promise.all([client.get('/peering', { signal }), client.get('/routes', { signal })]);
  seen.peers = new Map();
  for (const [id, e] of peeringEntries(peering)) {
    if (e.self === true || e.not_set === true || typeof e.address !== 'string' || e.address === '') continue;
    seen.peers.set(id, { id, address: e.address, reachable: e.reachable === true, mtu: e.mtu === undefined || e.mtu === null ? undefined : String(e.mtu) });
  }
  seen.routes = Object.entries(routes).map(([id, r]) => ({
    id: typeof r.id === 'number' ? r.id : Number(id),
    cidr: r.cidr,
    advertise: r.advertise === true,
    editable: r.editable !== false,
    gateway: r.gateway || undefined,
    interface: r.interface || undefined,
    table: r.table || 'main',
  }));
  return seen;
}

/** Reads every controller in parallel (at most `concurrency` at once); a failed read is kept as the observation's `error`. */
export async function observeTopology(topology: Topology, clients: readonly Vns3Client[], options: { concurrency?: number; signal?: AbortSignal } = {}): Promise<Observation[]> {
  const items = topology.controllers.map((controller, i) => ({ controller, client: clients[i]! }));
  const result = await runBulk(items, (item) => item.controller.name, (item, ctx) => observeOne(item.controller, item.client, ctx.signal), {
    concurrency: options.concurrency,
    signal: options.signal,
    step: 'topology.read',
  });
  const ok = new Map(result.succeeded.map((s) => [s.controller, s.value]));
  const failed = new Map(result.failed.map((f) => [f.controller, f.error]));
  return items.map((item) => ok.get(item.controller.name) ?? { controller: item.controller, client: item.client, error: failed.get(item.controller.name) ?? new Error('not read') });
}

/** The address peers of `o` dial, by the topology's address kind. */
export function peerAddress(o: Observation, kind: Topology['peering']['address']): string | undefined {
  const s = o.state;
  if (!s) return undefined;
  const address = kind === 'public' ? s.publicIp : kind === 'publicDns' ? s.publicDns : s.privateIp;
  return address || undefined;
}
