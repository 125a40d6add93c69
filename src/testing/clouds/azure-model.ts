import { randomUUID } from 'node:crypto';

/** A VM's power state as the Azure emulator reports it (`PowerState/…` in the instance view). */
export type AzurePowerState = 'running' | 'stopped' | 'deallocated' | 'starting' | 'stopping' | 'deallocating';

/** One route of an emulated Azure route table, as a test gives or reads it. */
export interface AzureRouteSpec {
  name: string;
  addressPrefix: string;
  nextHopType?: string;
  nextHopIpAddress?: string;
}

/** A route table as the Azure emulator holds it. */
export interface AzureRouteTableState {
  resourceGroup: string;
  name: string;
  tags: Record<string, string>;
  routes: AzureRouteSpec[];
}

export interface AzureVmState {
  resourceGroup: string;
  name: string;
  nicName: string;
  privateIp: string;
  powerState: AzurePowerState;
}

/** An ARM error: `{ error: { code, message } }` with an HTTP status. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

const NEXT_HOP_TYPES = ['VirtualNetworkGateway', 'VnetLocal', 'Internet', 'VirtualAppliance', 'None'];
const LOCATION = 'westeurope';

const key = (rg: string, name: string): string => `${rg.toLowerCase()}/${name.toLowerCase()}`;

/** Resource state plus the ARM JSON shapes the SDK deserializes. */
export class AzureModel {
  readonly groups = new Set<string>();
  readonly tables = new Map<string, AzureRouteTableState>();
  readonly vms = new Map<string, AzureVmState>();

  constructor(readonly subscriptionId: string) {}

  rgId(rg: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${rg}`;
  }

  requireGroup(rg: string): void {
    if (![...this.groups].some((g) => g.toLowerCase() === rg.toLowerCase())) {
      throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    }
  }

  table(rg: string, name: string): AzureRouteTableState {
    return this.lookup(this.tables, rg, 'Microsoft.Network/routeTables', name);
  }

  addTable(t: AzureRouteTableState): void {
    this.groups.add(t.resourceGroup);
    this.tables.set(key(t.resourceGroup, t.name), t);
  }

  vm(rg: string, name: string): AzureVmState {
    return this.lookup(this.vms, rg, 'Microsoft.Compute/virtualMachines', name);
  }

  /** A resource of a group, or ARM's 404 for it (the group's own 404 first, as ARM answers). */
  private lookup<T>(map: Map<string, T>, rg: string, type: string, name: string): T {
    this.requireGroup(rg);
    const found = map.get(key(rg, name));
    if (!found) throw new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${rg}' was not found.`);
    return found;
  }

  addVm(vm: AzureVmState): void {
    this.groups.add(vm.resourceGroup);
    this.vms.set(key(vm.resourceGroup, vm.name), vm);
  }

  findVmByName(name: string): AzureVmState | undefined {
    return [...this.vms.values()].find((v) => v.name.toLowerCase() === name.toLowerCase());
  }

  /** PUT semantics: create or replace the named route, with ARM's validation. Returns true if created. */
  putRoute(t: AzureRouteTableState, name: string, body: unknown): { created: boolean; route: AzureRouteSpec } {
    const props = (body as { properties?: Record<string, unknown> } | null)?.properties ?? {};
    const addressPrefix = props['addressPrefix'];
    const nextHopType = props['nextHopType'];
    const nextHopIpAddress = props['nextHopIpAddress'];
    if (typeof addressPrefix !== 'string' || !addressPrefix) {
      throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request: addressPrefix is required.');
    }
    if (typeof nextHopType !== 'string' || !NEXT_HOP_TYPES.includes(nextHopType)) {
      throw new ArmError(400, 'InvalidRequestFormat', `Cannot parse the request: invalid nextHopType '${String(nextHopType)}'.`);
    }
    if (nextHopType === 'VirtualAppliance' && (typeof nextHopIpAddress !== 'string' || !nextHopIpAddress)) {
      throw new ArmError(
        400,
        'NextHopIpAddressRequired',
        `Route ${name} has next hop type VirtualAppliance and must have a nextHopIpAddress.`,
      );
    }
    const clash = t.routes.find((r) => r.addressPrefix === addressPrefix && r.name.toLowerCase() !== name.toLowerCase());
    if (clash) {
      throw new ArmError(
        400,
        'RouteConflict',
        `Route ${name} conflicts with route ${clash.name}: both have address prefix ${addressPrefix}.`,
      );
    }
    const route: AzureRouteSpec = { name, addressPrefix, nextHopType };
    if (nextHopType === 'VirtualAppliance') route.nextHopIpAddress = nextHopIpAddress as string;
    const i = t.routes.findIndex((r) => r.name.toLowerCase() === name.toLowerCase());
    if (i >= 0) t.routes[i] = route;
    else t.routes.push(route);
    return { created: i < 0, route };
  }

  routeJson(t: AzureRouteTableState, r: AzureRouteSpec): object {
    return {
      id: `${this.rgId(t.resourceGroup)}/providers/Microsoft.Network/routeTables/${t.name}/routes/${r.name}`,
      name: r.name,
      type: 'Microsoft.Network/routeTables/routes',
      etag: `W/"${randomUUID()}"`,
      properties: {
        provisioningState: 'Succeeded',
        addressPrefix: r.addressPrefix,
        nextHopType: r.nextHopType ?? 'VirtualAppliance',
        nextHopIpAddress: r.nextHopIpAddress, // JSON.stringify leaves it out when undefined
      },
    };
  }

  tableJson(t: AzureRouteTableState): object {
    return {
      id: `${this.rgId(t.resourceGroup)}/providers/Microsoft.Network/routeTables/${t.name}`,
      name: t.name,
      type: 'Microsoft.Network/routeTables',
      location: LOCATION,
      tags: t.tags,
      etag: `W/"${randomUUID()}"`,
      properties: {
        provisioningState: 'Succeeded',
        disableBgpRoutePropagation: false,
        routes: t.routes.map((r) => this.routeJson(t, r)),
      },
    };
  }

  vmId(vm: AzureVmState): string {
    return `${this.rgId(vm.resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
  }

  nicId(vm: AzureVmState): string {
    return `${this.rgId(vm.resourceGroup)}/providers/Microsoft.Network/networkInterfaces/${vm.nicName}`;
  }

  nicJson(vm: AzureVmState): object {
    const id = this.nicId(vm);
    return {
      id,
      name: vm.nicName,
      type: 'Microsoft.Network/networkInterfaces',
      location: LOCATION,
      properties: {
        provisioningState: 'Succeeded',
        primary: true,
        enableIPForwarding: true,
        virtualMachine: { id: this.vmId(vm) },
        ipConfigurations: [
          {
            id: `${id}/ipConfigurations/ipconfig1`,
            name: 'ipconfig1',
            properties: {
              provisioningState: 'Succeeded',
              privateIPAddress: vm.privateIp,
              privateIPAllocationMethod: 'Static',
              privateIPAddressVersion: 'IPv4',
              primary: true,
            },
          },
        ],
      },
    };
  }

  instanceViewJson(vm: AzureVmState): object {
    const display: Record<AzurePowerState, string> = {
      running: 'VM running',
      stopped: 'VM stopped',
      deallocated: 'VM deallocated',
      starting: 'VM starting',
      stopping: 'VM stopping',
      deallocating: 'VM deallocating',
    };
    return {
      computerName: vm.name,
      statuses: [
        { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
        { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: display[vm.powerState] },
      ],
    };
  }

  vmJson(vm: AzureVmState, expandInstanceView: boolean): object {
    return {
      id: this.vmId(vm),
      name: vm.name,
      type: 'Microsoft.Compute/virtualMachines',
      location: LOCATION,
      properties: {
        vmId: randomUUID(),
        provisioningState: 'Succeeded',
        hardwareProfile: { vmSize: 'Standard_B2s' },
        networkProfile: { networkInterfaces: [{ id: this.nicId(vm), properties: { primary: true } }] },
        instanceView: expandInstanceView ? this.instanceViewJson(vm) : undefined, // left out of the JSON when not expanded
      },
    };
  }
}
