// The Azure SDKs are optional peer dependencies: only type imports here
// (erased at build); the modules are loaded when a provider is created.
import type { TokenCredential } from '@azure/core-auth';
import type { NetworkInterface, NetworkManagementClient, Route, RouteTable } from '@azure/arm-network';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { Vns3Error, Vns3ValidationError } from '../../client/errors.js';
import type { Vns3EventHandler } from '../../events.js';
import {
  changeEachRoute,
  CloudApiError,
  cloudCaller,
  isModuleNotFound,
  reportRouteChange,
  type CloudErrorParts,
  type CloudRoute,
  type CloudRouteProvider,
  type ControllerRef,
  type InstanceState,
  type RouteChange,
} from './provider.js';

export interface AzureRouteProviderOptions {
  subscriptionId: string;
  /** Scope: the route tables of this resource group (also where the controllers' NICs are looked up first). */
  resourceGroup: string;
  /** Scope: only route tables carrying all these tags. */
  routeTableTags?: Record<string, string>;
  /** ARM endpoint; default https://management.azure.com (or the Azure emulator of `vns3-sdk/testing`). */
  endpoint?: string;
  /**
   * Required in production, e.g. `new DefaultAzureCredential()` from
   * `@azure/identity` (managed identity on the controller VM).
   */
  credential?: TokenCredential;
  /** Extra trusted CA (PEM), for an emulator with a self-signed certificate. */
  ca?: string;
  /** Aborts every call of this provider (combined with each call's own signal). */
  signal?: AbortSignal;
  /** SDK retries per call (default: the SDK's). Set 0 for deterministic tests. */
  maxRetries?: number;
  /** How often to poll a long-running route write; default: the SDK's. */
  pollIntervalMs?: number;
  onEvent?: Vns3EventHandler;
}

async function loadAzure(): Promise<{
  network: typeof import('@azure/arm-network');
  compute: typeof import('@azure/arm-compute');
}> {
  try {
    const [network, compute] = await Promise.all([import('@azure/arm-network'), import('@azure/arm-compute')]);
    return { network, compute };
  } catch (e) {
    if (isModuleNotFound(e)) {
      throw new Vns3Error(
        'The Azure provider needs @azure/arm-network, @azure/arm-compute and @azure/core-auth: npm install @azure/arm-network @azure/arm-compute @azure/core-auth',
      );
    }
    throw e;
  }
}

const POWER_STATES: Record<string, InstanceState> = {
  running: 'running',
  starting: 'pending',
  stopping: 'stopping',
  stopped: 'stopped',
  deallocating: 'stopping',
  deallocated: 'deallocated',
};

interface ResourceName {
  resourceGroup: string;
  name: string;
}

/** `/subscriptions/…/resourceGroups/RG/providers/…/TYPE/NAME` → { RG, NAME }; a bare name uses `fallbackRg`. */
function parseResourceId(id: string, fallbackRg: string): ResourceName {
  if (!id.includes('/')) return { resourceGroup: fallbackRg, name: id };
  const rg = /\/resourceGroups\/([^/]+)/i.exec(id)?.[1];
  const name = id.split('/').filter(Boolean).pop();
  if (!rg || !name) throw new Vns3ValidationError('resource id', id, 'not an Azure resource id');
  return { resourceGroup: decodeURIComponent(rg), name: decodeURIComponent(name) };
}

function targets(r: Route, who: ControllerRef): boolean {
  return r.nextHopType === 'VirtualAppliance' && r.nextHopIpAddress === who.privateIp;
}

function describeHop(r: Route): string {
  return r.nextHopType === 'VirtualAppliance' ? (r.nextHopIpAddress ?? 'none') : (r.nextHopType ?? 'none');
}

/** Azure route names allow letters, digits, `_ . -`; derived from the prefix so a re-created route is stable. */
export function routeNameFor(destination: string): string {
  return `vns3-ha-${destination.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 80);
}

function hasTags(t: RouteTable, wanted: Record<string, string> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => t.tags?.[k] === v);
}

/** RestError keeps the request (with its bearer token): copy only code, status and message. */
function azureErrorParts(e: unknown): CloudErrorParts {
  const err = e as { code?: string; statusCode?: number; message?: string };
  return {
    ...(err.code !== undefined ? { code: err.code } : {}),
    ...(err.statusCode !== undefined ? { status: err.statusCode } : {}),
    ...(err.message !== undefined ? { message: err.message } : {}),
  };
}

/** Creates the Azure route provider; loads the Azure SDKs now, so missing packages fail early. */
export async function createAzureRouteProvider(options: AzureRouteProviderOptions): Promise<CloudRouteProvider> {
  if (!options.subscriptionId) throw new Vns3ValidationError('subscriptionId', options.subscriptionId, 'required');
  if (!options.resourceGroup) throw new Vns3ValidationError('resourceGroup', options.resourceGroup, 'required');
  if (!options.credential) {
    throw new Vns3ValidationError('credential', undefined, 'required, e.g. new DefaultAzureCredential() from @azure/identity');
  }
  const { network, compute } = await loadAzure();
  const rg = options.resourceGroup;
  const clientOptions = {
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint, $host: options.endpoint } : {}),
    ...(options.ca !== undefined ? { tlsOptions: { ca: options.ca } } : {}),
    ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
  };
  const net: NetworkManagementClient = new network.NetworkManagementClient(
    options.credential,
    options.subscriptionId,
    clientOptions,
  );
  const vms: ComputeManagementClient = new compute.ComputeManagementClient(
    options.credential,
    options.subscriptionId,
    clientOptions,
  );

  function combined(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (!options.signal) return signal;
    return signal ? AbortSignal.any([options.signal, signal]) : options.signal;
  }

  const call = cloudCaller('azure', azureErrorParts);

  async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const x of iter) out.push(x);
    return out;
  }

  async function findNic(privateIp: string, signal: AbortSignal | undefined): Promise<NetworkInterface | undefined> {
    const hasIp = (n: NetworkInterface): boolean =>
      (n.ipConfigurations ?? []).some((c) => c.privateIPAddress === privateIp);
    const local = await call('networkInterfaces.list', (abortSignal) => collect(net.networkInterfaces.list(rg, { abortSignal })), signal);
    const found = local.find(hasIp);
    if (found) return found;
    // Controllers sometimes live in another resource group than the route tables.
    const all = await call('networkInterfaces.listAll', (abortSignal) => collect(net.networkInterfaces.listAll({ abortSignal })), signal);
    return all.find(hasIp);
  }

  async function resolve(privateIp: string, opts: { signal?: AbortSignal } = {}): Promise<ControllerRef> {
    const signal = combined(opts.signal);
    const nic = await findNic(privateIp, signal);
    if (!nic) {
      throw new CloudApiError({
        cloud: 'azure',
        operation: 'networkInterfaces.list',
        code: 'NotFound',
        reason: `no network interface has private IP ${privateIp}`,
      });
    }
    const vmId = nic.virtualMachine?.id;
    return {
      privateIp,
      ...(vmId ? { instanceId: vmId, name: parseResourceId(vmId, rg).name } : {}),
      ...(nic.id ? { networkInterfaceId: nic.id } : {}),
    };
  }

  async function routesTargeting(who: ControllerRef, opts: { signal?: AbortSignal } = {}): Promise<CloudRoute[]> {
    const signal = combined(opts.signal);
    const tables = await call('routeTables.list', (abortSignal) => collect(net.routeTables.list(rg, { abortSignal })), signal);
    const found: CloudRoute[] = [];
    for (const t of tables) {
      if (!t.id || !hasTags(t, options.routeTableTags)) continue;
      for (const r of t.routes ?? []) {
        if (!r.addressPrefix || !targets(r, who)) continue;
        found.push({
          tableId: t.id,
          ...(t.name !== undefined ? { tableName: t.name } : {}),
          destination: r.addressPrefix,
          target: who.privateIp,
        });
      }
    }
    return found;
  }

  async function pointRoutesAt(
    routes: readonly Pick<CloudRoute, 'tableId' | 'destination'>[],
    to: ControllerRef,
    opts: { signal?: AbortSignal; dryRun?: boolean } = {},
  ): Promise<RouteChange[]> {
    const signal = combined(opts.signal);
    if (!to.privateIp) throw new Vns3ValidationError('to.privateIp', to.privateIp, 'required as the next hop');
    const tables = new Map<string, Promise<RouteTable>>();
    const table = (tableId: string, destination: string): Promise<RouteTable> => {
      let t = tables.get(tableId);
      if (!t) {
        const { resourceGroup, name } = parseResourceId(tableId, rg);
        t = call(
          'routeTables.get',
          (abortSignal) => net.routeTables.get(resourceGroup, name, { abortSignal }),
          signal,
          { tableId, destination },
        );
        tables.set(tableId, t);
      }
      return t;
    };

    return changeEachRoute(routes, signal, async ({ tableId, destination }) => {
      const current = (await table(tableId, destination)).routes?.find((r) => r.addressPrefix === destination);
      const base = { tableId, destination, to: to.privateIp };
      if (current && targets(current, to)) return { ...base, action: 'unchanged', from: describeHop(current) };
      const change: RouteChange = current
        ? { ...base, action: 'replaced', from: describeHop(current) }
        : { ...base, action: 'created' };
      if (!opts.dryRun) {
        const { resourceGroup, name } = parseResourceId(tableId, rg);
        // PUT is an upsert: keep the route's own name when it exists, so nothing else changes.
        const routeName = current?.name ?? routeNameFor(destination);
        await call(
          'routes.createOrUpdate',
          (abortSignal) =>
            net.routes.beginCreateOrUpdateAndWait(
              resourceGroup,
              name,
              routeName,
              { addressPrefix: destination, nextHopType: 'VirtualAppliance', nextHopIpAddress: to.privateIp },
              {
                abortSignal,
                ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
              },
            ),
          signal,
          { tableId, destination },
        );
      }
      return reportRouteChange(options.onEvent, 'azure', to.privateIp, change, opts.dryRun);
    });
  }

  async function instanceState(who: ControllerRef, opts: { signal?: AbortSignal } = {}): Promise<InstanceState> {
    const signal = combined(opts.signal);
    const vmId = who.instanceId ?? (await resolve(who.privateIp, { signal })).instanceId;
    if (!vmId) return 'unknown';
    const { resourceGroup, name } = parseResourceId(vmId, rg);
    try {
      const view = await call(
        'virtualMachines.instanceView',
        (abortSignal) => vms.virtualMachines.instanceView(resourceGroup, name, { abortSignal }),
        signal,
      );
      const code = view.statuses?.map((s) => s.code ?? '').find((c) => c.startsWith('PowerState/'));
      return (code && POWER_STATES[code.slice('PowerState/'.length)]) || 'unknown';
    } catch (e) {
      // A deleted VM is gone for good: for failover that is terminated.
      if (e instanceof CloudApiError && e.status === 404) return 'terminated';
      throw e;
    }
  }

  return { cloud: 'azure', resolve, routesTargeting, pointRoutesAt, instanceState };
}
