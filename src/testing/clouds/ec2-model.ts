import { idFactory } from './server.js';

/** EC2's instance state names, as DescribeInstances reports them. */
export type Ec2InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** An instance as the EC2 emulator holds it. */
export interface Ec2Instance {
  instanceId: string;
  privateIp: string;
  /** The primary ENI (device index 0), which holds privateIp. */
  networkInterfaceId: string;
  vpcId: string;
  state: Ec2InstanceStateName;
  name?: string;
  /** Further private IPs on the primary ENI. */
  secondaryIps: string[];
}

/** Where an EC2 route points: an instance or a network interface. */
export interface Ec2RouteTarget {
  instanceId?: string;
  networkInterfaceId?: string;
  gatewayId?: string;
}

/** One route of an emulated EC2 route table. */
export interface Ec2Route extends Ec2RouteTarget {
  destination: string;
  origin: 'CreateRouteTable' | 'CreateRoute';
  /** `blackhole` when the target instance is not running, as AWS reports it. */
  state: 'active' | 'blackhole';
}

/** A route table as the EC2 emulator holds it. */
export interface Ec2RouteTable {
  routeTableId: string;
  vpcId: string;
  tags: Record<string, string>;
  routes: Ec2Route[];
}

/** What a test gives to add an instance; everything but the private IP has a default. */
export interface Ec2InstanceInput {
  instanceId?: string;
  privateIp: string;
  networkInterfaceId?: string;
  state?: Ec2InstanceStateName;
  vpcId?: string;
  name?: string;
  secondaryIps?: string[];
}

/** What a test gives to add a route table; a `gatewayId: 'local'` route is the VPC's own. */
export interface Ec2RouteTableInput {
  routeTableId?: string;
  vpcId: string;
  tags?: Record<string, string>;
  routes: ({ destination: string } & Ec2RouteTarget)[];
}

/** An EC2 API error: becomes `<Response><Errors><Error><Code>…` on the wire. */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

export type Filters = Map<string, string[]>;

const INSTANCE_STATE_CODES: Record<Ec2InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export function instanceStateCode(state: Ec2InstanceStateName): number {
  return INSTANCE_STATE_CODES[state];
}

/** AWS filter values accept `*` and `?` wildcards. */
function globMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (!/[*?]/.test(pattern)) return pattern === value;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

function anyMatch(patterns: string[], values: (string | undefined)[]): boolean {
  return patterns.some((p) => values.some((v) => globMatch(p, v)));
}

/** The emulator's state and the semantics of each EC2 action, independent of HTTP. */
export class Ec2Model {
  readonly instances = new Map<string, Ec2Instance>();
  readonly tables = new Map<string, Ec2RouteTable>();
  private readonly nextId = idFactory();

  addInstance(input: Ec2InstanceInput): Ec2Instance {
    const instance: Ec2Instance = {
      instanceId: input.instanceId ?? this.nextId('i-'),
      privateIp: input.privateIp,
      networkInterfaceId: input.networkInterfaceId ?? this.nextId('eni-'),
      vpcId: input.vpcId ?? 'vpc-00000000000000001',
      state: input.state ?? 'running',
      secondaryIps: [...(input.secondaryIps ?? [])],
      name: input.name,
    };
    this.instances.set(instance.instanceId, instance);
    return instance;
  }

  addRouteTable(input: Ec2RouteTableInput): Ec2RouteTable {
    const table: Ec2RouteTable = {
      routeTableId: input.routeTableId ?? this.nextId('rtb-'),
      vpcId: input.vpcId,
      tags: { ...input.tags },
      routes: [],
    };
    for (const r of input.routes) {
      const origin = r.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute';
      table.routes.push(this.makeRoute(r.destination, this.completeTarget(r, false), origin));
    }
    this.tables.set(table.routeTableId, table);
    return table;
  }

  table(id: string): Ec2RouteTable {
    const t = this.tables.get(id);
    if (!t) throw new Ec2Error('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`);
    return t;
  }

  findRoute(table: Ec2RouteTable, destination: string): Ec2Route | undefined {
    return table.routes.find((r) => r.destination === destination);
  }

  /** AWS fills in the other half of an instance/ENI target; unknown ids are errors only on API writes. */
  completeTarget(target: Ec2RouteTarget, strict: boolean): Ec2RouteTarget {
    if (target.gatewayId !== undefined) return { gatewayId: target.gatewayId };
    if (target.instanceId !== undefined) {
      const inst = this.instances.get(target.instanceId);
      if (!inst) {
        if (strict) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${target.instanceId}' does not exist`);
        return { instanceId: target.instanceId };
      }
      return { instanceId: inst.instanceId, networkInterfaceId: inst.networkInterfaceId };
    }
    if (target.networkInterfaceId !== undefined) {
      const inst = [...this.instances.values()].find((i) => i.networkInterfaceId === target.networkInterfaceId);
      if (!inst) {
        if (strict) {
          throw new Ec2Error(
            'InvalidNetworkInterfaceID.NotFound',
            `The networkInterface ID '${target.networkInterfaceId}' does not exist`,
          );
        }
        return { networkInterfaceId: target.networkInterfaceId };
      }
      return { instanceId: inst.instanceId, networkInterfaceId: inst.networkInterfaceId };
    }
    throw new Ec2Error('MissingParameter', 'The request must contain exactly one of gatewayId, instanceId or networkInterfaceId');
  }

  makeRoute(destination: string, target: Ec2RouteTarget, origin: Ec2Route['origin']): Ec2Route {
    return { destination, ...target, origin, state: 'active' };
  }

  /** Route state is derived, so that stopping an instance blackholes its routes as on AWS. */
  routeState(route: Ec2Route): Ec2Route['state'] {
    if (route.gatewayId !== undefined) return 'active';
    const inst = route.instanceId !== undefined ? this.instances.get(route.instanceId) : undefined;
    return inst && inst.state === 'running' ? 'active' : 'blackhole';
  }

  replaceRoute(tableId: string, destination: string, target: Ec2RouteTarget): void {
    const table = this.table(tableId);
    const complete = this.completeTarget(target, true);
    const route = this.findRoute(table, destination);
    if (!route) {
      throw new Ec2Error(
        'InvalidRoute.NotFound',
        `There is no route defined for '${destination}' in the route table. Use CreateRoute instead.`,
      );
    }
    delete route.instanceId;
    delete route.networkInterfaceId;
    delete route.gatewayId;
    Object.assign(route, complete);
  }

  createRoute(tableId: string, destination: string, target: Ec2RouteTarget): void {
    const table = this.table(tableId);
    const complete = this.completeTarget(target, true);
    if (this.findRoute(table, destination)) {
      throw new Ec2Error('RouteAlreadyExists', `The route identified by ${destination} already exists.`);
    }
    table.routes.push(this.makeRoute(destination, complete, 'CreateRoute'));
  }

  deleteRoute(tableId: string, destination: string): void {
    const table = this.table(tableId);
    const i = table.routes.findIndex((r) => r.destination === destination);
    if (i < 0) {
      throw new Ec2Error(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${destination} in route table ${tableId}`,
      );
    }
    table.routes.splice(i, 1);
  }

  describeRouteTables(ids: string[], filters: Filters): Ec2RouteTable[] {
    const selected = ids.length > 0 ? ids.map((id) => this.table(id)) : [...this.tables.values()];
    return selected.filter((t) => [...filters].every(([name, values]) => this.tableMatches(t, name, values)));
  }

  private tableMatches(t: Ec2RouteTable, name: string, values: string[]): boolean {
    if (name.startsWith('tag:')) return anyMatch(values, [t.tags[name.slice(4)]]);
    switch (name) {
      case 'route-table-id':
        return anyMatch(values, [t.routeTableId]);
      case 'vpc-id':
        return anyMatch(values, [t.vpcId]);
      case 'tag-key':
        return anyMatch(values, Object.keys(t.tags));
      case 'route.destination-cidr-block':
        return anyMatch(values, t.routes.map((r) => r.destination));
      case 'route.instance-id':
        return anyMatch(values, t.routes.map((r) => r.instanceId));
      case 'route.gateway-id':
        return anyMatch(values, t.routes.map((r) => r.gatewayId));
      case 'route.state':
        return anyMatch(values, t.routes.map((r) => this.routeState(r)));
      default:
        throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }

  describeInstances(ids: string[], filters: Filters): Ec2Instance[] {
    const selected = ids.map((id) => {
      const inst = this.instances.get(id);
      if (!inst) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      return inst;
    });
    const pool = ids.length > 0 ? selected : [...this.instances.values()];
    return pool.filter((i) => [...filters].every(([name, values]) => this.instanceMatches(i, name, values)));
  }

  private instanceMatches(i: Ec2Instance, name: string, values: string[]): boolean {
    if (name.startsWith('tag:')) return name === 'tag:Name' && anyMatch(values, [i.name]);
    switch (name) {
      case 'instance-id':
        return anyMatch(values, [i.instanceId]);
      case 'private-ip-address':
        return anyMatch(values, [i.privateIp]);
      case 'network-interface.addresses.private-ip-address':
        return anyMatch(values, [i.privateIp, ...i.secondaryIps]);
      case 'network-interface.network-interface-id':
        return anyMatch(values, [i.networkInterfaceId]);
      case 'instance-state-name':
        return anyMatch(values, [i.state]);
      case 'vpc-id':
        return anyMatch(values, [i.vpcId]);
      default:
        throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }
}
