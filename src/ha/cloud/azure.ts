// The Azure SDKs are optional peer dependencies: only type imports here
// (erased at build); the modules are loaded when a provider is created.
import type { TokenCredential } from '@azure/core-auth';
import type { NetworkInterface, NetworkManagementClient, Route, RouteTable } from '@azure/arm-network';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { combineSignals } from '../../abort.js';
import { Vns3Error, Vns3ValidationError } from '../../client/index.js';
import type { Vns3EventHandler } from '../../events.js';
import { CloudApiError } from '../errors.js';
import { changeEachRoute, cloudCaller, isModuleNotFound, reportRouteChange, type CloudErrorParts } from './sdk.js';
import type { CloudCallOptions, CloudRoute, CloudRouteProvider, ControllerRef, InstanceState, RouteAddress, RouteChange } from './types.js';

/**
 * Structurally an `@azure/core-auth` `TokenCredential` (what `new DefaultAzureCredential()` is),
 * declared here so that the published types do not need the optional Azure SDKs installed.
 */
export interface AzureTokenCredential {
  getToken(scopes: string | string[], options?: never): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** How {@link createAzureRouteProvider} reaches Azure Resource Manager and which route tables it may touch. */
export interface AzureRouteProviderOptions {
  subscriptionId: string;
  /** Scope: the route tables of this resource group (also where the controllers' NICs are looked up first). */
  resourceGroup: string;
  /** Scope: only route tables carrying all these tags. */
  routeTableTags?: Record<string, string> | undefined;
  /** ARM endpoint; default https://management.azure.com (or the Azure emulator of `vns3-sdk/testing`). */
  endpoint?: string | undefined;
  /**
   * Required in production, e.g. `new DefaultAzureCredential()` from
   * `@azure/identity` (managed identity on the controller VM).
   */
  credential?: AzureTokenCredential | undefined;
  /** Extra trusted CA (PEM), for an emulator with a self-signed certificate. */
  ca?: string | undefined;
  /** Aborts every call of this provider (combined with each call's own signal). */
  signal?: AbortSignal | undefined;
  /** SDK retries per call (default: the SDK's). Set 0 for deterministic tests. */
  maxRetries?: number | undefined;
  /** How often to poll a long-running route write; default: the SDK's. */
  pollIntervalMs?: number | undefined;
  onEvent?: Vns3EventHandler | undefined;
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
  return { code: err.code, status: err.statusCode, message: err.message };
}

/**
 * Creates the Azure route provider; loads the Azure SDKs now, so missing packages fail early.
 * Throws `Vns3ValidationError` without a subscription, resource group or credential, `Vns3Error`
 * when the SDKs are not installed.
 */
export async function createAzureRouteProvider(options: AzureRouteProviderOptions): Promise<CloudRouteProvider> {
  if (!options.subscriptionId) throw new Vns3ValidationError('subscriptionId', options.subscriptionId, 'required');
  if (!options.resourceGroup) throw new Vns3ValidationError('resourceGroup', options.resourceGroup, 'required');
  if (!options.credential) {
    throw new Vns3ValidationError('credential', undefined, 'required, e.g. new DefaultAzureCredential() from @azure/identity');
  }
  const { network, compute } = await loadAzure();
  // The SDK clients read their own defaults for settings left out, so absent ones stay absent.
  const clientOptions: { endpoint?: string; $host?: string; tlsOptions?: { ca: string }; retryOptions?: { maxRetries: number } } = {};
  if (options.endpoint !== undefined) Object.assign(clientOptions, { endpoint: options.endpoint, $host: options.endpoint });
  if (options.ca !== undefined) clientOptions.tlsOptions = { ca: options.ca };
  if (options.maxRetries !== undefined) clientOptions.retryOptions = { maxRetries: options.maxRetries };
  const net: NetworkManagementClient = new network.NetworkManagementClient(options.credential, options.subscriptionId, clientOptions);
  const vms: ComputeManagementClient = new compute.ComputeManagementClient(options.credential, options.subscriptionId, clientOptions);
  return new AzureRouteProvider(net, vms, options);
}

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

/** Routes in Azure route tables, with a controller's private IP as the virtual appliance next hop. */
class AzureRouteProvider implements CloudRouteProvider {
  readonly cloud = 'azure' as const;
  private readonly call = cloudCaller('azure', azureErrorParts);
  private readonly rg: string;

  constructor(
    private readonly net: NetworkManagementClient,
    private readonly vms: ComputeManagementClient,
    private readonly options: AzureRouteProviderOptions,
  ) {
    this.rg = options.resourceGroup;
  }

  async resolve(privateIp: string, options: CloudCallOptions = {}): Promise<ControllerRef> {
    const nic = await this.findNic(privateIp, combineSignals(this.options.signal, options.signal));
    if (!nic) {
      throw new CloudApiError({ cloud: 'azure', operation: 'networkInterfaces.list', code: 'NotFound', reason: `no network interface has private IP ${privateIp}` });
    }
    const vmId = nic.virtualMachine?.id || undefined;
    return { privateIp, instanceId: vmId, name: vmId && parseResourceId(vmId, this.rg).name, networkInterfaceId: nic.id || undefined };
  }

  async routesTargeting(who: ControllerRef, options: CloudCallOptions = {}): Promise<CloudRoute[]> {
    const signal = combineSignals(this.options.signal, options.signal);
    const tables = await this.call('routeTables.list', (abortSignal) => collect(this.net.routeTables.list(this.rg, { abortSignal })), signal);
    const found: CloudRoute[] = [];
    for (const t of tables) {
      if (!t.id || !hasTags(t, this.options.routeTableTags)) continue;
      for (const r of t.routes ?? []) {
        if (!r.addressPrefix || !targets(r, who)) continue;
        found.push({ tableId: t.id, tableName: t.name, destination: r.addressPrefix, target: who.privateIp });
      }
    }
    return found;
  }

  async pointRoutesAt(routes: readonly RouteAddress[], to: ControllerRef, options: CloudCallOptions & { dryRun?: boolean | undefined } = {}): Promise<RouteChange[]> {
    const signal = combineSignals(this.options.signal, options.signal);
    if (!to.privateIp) throw new Vns3ValidationError('to.privateIp', to.privateIp, 'required as the next hop');
    // Each table is read once per call, however many of its routes move.
    const tables = new Map<string, Promise<RouteTable>>();
    const table = (tableId: string, destination: string): Promise<RouteTable> => {
      let t = tables.get(tableId);
      if (!t) {
        const { resourceGroup, name } = parseResourceId(tableId, this.rg);
        t = this.call('routeTables.get', (abortSignal) => this.net.routeTables.get(resourceGroup, name, { abortSignal }), signal, { tableId, destination });
        tables.set(tableId, t);
      }
      return t;
    };

    return changeEachRoute(routes, signal, async ({ tableId, destination }) => {
      const current = (await table(tableId, destination)).routes?.find((r) => r.addressPrefix === destination);
      const base = { tableId, destination, to: to.privateIp };
      if (current && targets(current, to)) return { ...base, action: 'unchanged', from: describeHop(current) };
      const change: RouteChange = current ? { ...base, action: 'replaced', from: describeHop(current) } : { ...base, action: 'created' };
      // PUT is an upsert: keep the route's own name when it exists, so nothing else changes.
      if (!options.dryRun) await this.putRoute(tableId, current?.name ?? routeNameFor(destination), destination, to.privateIp, signal);
      return reportRouteChange(this.options.onEvent, 'azure', to.privateIp, change, options.dryRun);
    });
  }

  async instanceState(who: ControllerRef, options: CloudCallOptions = {}): Promise<InstanceState> {
    const signal = combineSignals(this.options.signal, options.signal);
    const vmId = who.instanceId ?? (await this.resolve(who.privateIp, { signal })).instanceId;
    if (!vmId) return 'unknown';
    const { resourceGroup, name } = parseResourceId(vmId, this.rg);
    try {
      const view = await this.call('virtualMachines.instanceView', (abortSignal) => this.vms.virtualMachines.instanceView(resourceGroup, name, { abortSignal }), signal);
      const code = view.statuses?.map((s) => s.code ?? '').find((c) => c.startsWith('PowerState/'));
      return (code && POWER_STATES[code.slice('PowerState/'.length)]) || 'unknown';
    } catch (e) {
      // A deleted VM is gone for good: for failover that is terminated.
      if (e instanceof CloudApiError && e.status === 404) return 'terminated';
      throw e;
    }
  }

  private async putRoute(tableId: string, routeName: string, destination: string, nextHop: string, signal: AbortSignal | undefined): Promise<void> {
    const { resourceGroup, name } = parseResourceId(tableId, this.rg);
    await this.call(
      'routes.createOrUpdate',
      (abortSignal) =>
        this.net.routes.beginCreateOrUpdateAndWait(
          resourceGroup,
          name,
          routeName,
          { addressPrefix: destination, nextHopType: 'VirtualAppliance', nextHopIpAddress: nextHop },
          { abortSignal, updateIntervalInMs: this.options.pollIntervalMs },
        ),
      signal,
      { tableId, destination },
    );
  }

  private async findNic(privateIp: string, signal: AbortSignal | undefined): Promise<NetworkInterface | undefined> {
    const hasIp = (n: NetworkInterface): boolean => (n.ipConfigurations ?? []).some((c) => c.privateIPAddress === privateIp);
    const local = await this.call('networkInterfaces.list', (abortSignal) => collect(this.net.networkInterfaces.list(this.rg, { abortSignal })), signal);
    const found = local.find(hasIp);
    if (found) return found;
    // Controllers sometimes live in another resource group than the route tables.
    const all = await this.call('networkInterfaces.listAll', (abortSignal) => collect(this.net.networkInterfaces.listAll({ abortSignal })), signal);
    return all.find(hasIp);
  }
}
