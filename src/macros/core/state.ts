import type { Vns3Client } from '../../client/index.js';
import { runBulk } from './bulk.js';
import type { BulkMacroOptions, BulkResult, MacroOptions } from './types.js';

/**
 * What macros need to know about a controller, read from `GET /config`, `GET /peering` and
 * `GET /cloud_data`. The Python SDK keeps these in a dict on the client; we keep them in a
 * `StateCache` the caller owns, so that nothing is global and a run can share one cache.
 */
export interface ControllerState {
  host: string;
  privateIp: string;
  publicIp: string;
  publicDns?: string;
  overlayIp: string;
  /** The controller's peering id, when set. */
  peerId?: number;
  vns3Version: string;
  asn?: number;
  licensed: boolean;
  topologyName: string;
  controllerName: string;
  /** `ec2`, `azure`, … as `GET /cloud_data` reports it. */
  cloudType?: string;
  /** The cloud's id for the instance (AWS instance id, Azure VM id or name). */
  instanceId?: string;
}

/** How `StateCache.get` reads. */
export interface StateOptions extends MacroOptions {
  /** Read from the controller even if the cache has the state. */
  refresh?: boolean;
}

/**
 * Per-controller cached state, fetched on demand and shared by the macros of one run (pass it as
 * `cache`). `get` rejects with the client's error when the read fails; a failed read is not cached.
 */
export class StateCache {
  private readonly entries = new Map<Vns3Client, Promise<ControllerState>>();

  /** The controller's state, from the cache unless `refresh` (or after `invalidate`). */
  get(client: Vns3Client, options: StateOptions = {}): Promise<ControllerState> {
    const cached = this.entries.get(client);
    if (cached && !options.refresh) return cached;
    const pending = readControllerState(client, options);
    this.entries.set(client, pending);
    // A failed read must not be served from the cache next time.
    pending.catch(() => {
      if (this.entries.get(client) === pending) this.entries.delete(client);
    });
    return pending;
  }

  /** Forget one controller (after a change such as a new peer id) or all. */
  invalidate(client?: Vns3Client): void {
    if (client) this.entries.delete(client);
    else this.entries.clear();
  }
}

/** Reads the state straight from the controller, in parallel requests; rejects with the client's error. */
export async function readControllerState(client: Vns3Client, options: MacroOptions = {}): Promise<ControllerState> {
  const { signal } = options;
  const [config, cloud] = await Promise.all([client.get('/config', { signal }), client.get('/cloud_data', { signal }).catch(() => undefined)]);
  let peerId = typeof config.manager_id === 'number' && config.manager_id > 0 ? config.manager_id : undefined;
  if (peerId === undefined && config.licensed) {
    // Some versions report the peering id only under /peering.
    const peering = await client.get('/peering', { signal }).catch(() => undefined);
    peerId = typeof peering?.id === 'number' && peering.id > 0 ? peering.id : undefined;
  }
  const cloudData = (cloud?.cloud_data ?? {}) as Record<string, unknown>;
  const instanceId = cloudData.instanceId ?? cloudData.vmId ?? cloudData.name;
  return {
    host: client.host,
    privateIp: config.private_ipaddress ?? '',
    publicIp: config.public_ipaddress ?? '',
    publicDns: config.public_dns || undefined,
    overlayIp: config.overlay_ipaddress ?? '',
    peerId,
    vns3Version: config.vns3_version ?? '',
    asn: typeof config.asn === 'number' ? config.asn : undefined,
    licensed: config.licensed === true,
    topologyName: config.topology_name ?? '',
    controllerName: config.controller_name ?? '',
    cloudType: cloud?.cloud_type || undefined,
    instanceId: typeof instanceId === 'string' ? instanceId : undefined,
  };
}

/** How `fetchStates` reads. */
export interface FetchStatesOptions extends BulkMacroOptions {
  /** Read from the controllers even where the cache has their state. */
  refresh?: boolean;
  /** Where states are kept (and found); default a new cache for this call. */
  cache?: StateCache;
}

/**
 * The state of many controllers, read in parallel (`GET /config`, `/cloud_data`, `/peering`); one
 * failure does not hide the others: it is reported in `failed`. Throws only Vns3ValidationError
 * for a bad `concurrency`.
 */
export function fetchStates(
  clients: readonly Vns3Client[],
  options: FetchStatesOptions = {},
): Promise<BulkResult<ControllerState>> {
  const cache = options.cache ?? new StateCache();
  return runBulk(clients, (c) => c.host, (client, ctx) => cache.get(client, { ...options, signal: ctx.signal }), {
    ...options,
    step: 'state.fetch',
  });
}
