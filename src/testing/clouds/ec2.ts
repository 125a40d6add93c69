import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  Ec2Error,
  Ec2Model,
  type Ec2Instance,
  type Ec2InstanceInput,
  type Ec2InstanceStateName,
  type Ec2Route,
  type Ec2RouteTable,
  type Ec2RouteTarget,
} from './ec2-model.js';
import {
  describeInstancesXml,
  describeRouteTablesXml,
  errorXml,
  filterParams,
  listParam,
  returnTrueXml,
} from './ec2-xml.js';
import {
  applyFaults,
  closeServer,
  listenOnLoopback,
  readBody,
  type CloudFaults,
  type CloudRequestRecord,
} from './server.js';

export type { Ec2Instance, Ec2InstanceInput, Ec2InstanceStateName, Ec2Route, Ec2RouteTable, Ec2RouteTarget } from './ec2-model.js';

export interface Ec2EmulatorOptions {
  faults?: CloudFaults;
  /** Source of randomness for `failRate`; inject one for reproducible runs. */
  random?: () => number;
}

export interface Ec2Emulator {
  /** `http://127.0.0.1:PORT`, to pass as the EC2Client `endpoint`. */
  readonly endpoint: string;
  /** Mutable: change faults at any time. */
  faults: CloudFaults;
  /** Successful mutating API calls (ReplaceRoute, CreateRoute, DeleteRoute). */
  readonly writes: number;
  /** Every API request in arrival order. */
  readonly requests: readonly CloudRequestRecord[];
  addInstance(input: Ec2InstanceInput): Ec2Instance;
  setInstanceState(instanceId: string, state: Ec2InstanceStateName): void;
  addRouteTable(input: {
    routeTableId?: string;
    vpcId: string;
    tags?: Record<string, string>;
    routes: ({ destination: string } & Ec2RouteTarget)[];
  }): Ec2RouteTable;
  /** Deep copies: the emulator's state cannot be changed through them. */
  routeTables(): Ec2RouteTable[];
  route(routeTableId: string, destination: string): Ec2Route | undefined;
  /** Simulates a route removed out of band; returns whether there was one. */
  deleteRoute(routeTableId: string, destination: string): boolean;
  /** Simulates someone re-pointing a route behind the SDK's back (no write counted). */
  setRouteTarget(routeTableId: string, destination: string, target: Ec2RouteTarget): void;
  stop(): Promise<void>;
}

const MUTATING = new Set(['ReplaceRoute', 'CreateRoute', 'DeleteRoute']);

function routeTarget(params: URLSearchParams): Ec2RouteTarget {
  const target: Ec2RouteTarget = {};
  const instanceId = params.get('InstanceId');
  const eni = params.get('NetworkInterfaceId');
  const gateway = params.get('GatewayId');
  if (instanceId) target.instanceId = instanceId;
  if (eni) target.networkInterfaceId = eni;
  if (gateway) target.gatewayId = gateway;
  if (Object.keys(target).length > 1) {
    throw new Ec2Error('InvalidParameterCombination', 'More than one target was specified for the route');
  }
  return target;
}

function destinationParam(params: URLSearchParams): string {
  const dest = params.get('DestinationCidrBlock') ?? params.get('DestinationIpv6CidrBlock');
  if (!dest) throw new Ec2Error('MissingParameter', 'The request must contain the parameter destinationCidrBlock');
  return dest;
}

function required(params: URLSearchParams, name: string): string {
  const v = params.get(name);
  if (!v) throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

/** Starts an EC2 Query API emulator (route tables and instances) on 127.0.0.1. */
export async function startEc2Emulator(opts: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  const model = new Ec2Model();
  const random = opts.random ?? Math.random;
  const requests: CloudRequestRecord[] = [];
  const hanging = new Set<ServerResponse>();
  let writes = 0;

  function dispatch(action: string, params: URLSearchParams, requestId: string): string {
    switch (action) {
      case 'DescribeRouteTables': {
        const tables = model.describeRouteTables(listParam(params, 'RouteTableId'), filterParams(params));
        return describeRouteTablesXml(requestId, tables, (r) => model.routeState(r));
      }
      case 'DescribeInstances': {
        const found = model.describeInstances(listParam(params, 'InstanceId'), filterParams(params));
        return describeInstancesXml(requestId, found);
      }
      case 'ReplaceRoute':
        model.replaceRoute(required(params, 'RouteTableId'), destinationParam(params), routeTarget(params));
        return returnTrueXml(action, requestId);
      case 'CreateRoute':
        model.createRoute(required(params, 'RouteTableId'), destinationParam(params), routeTarget(params));
        return returnTrueXml(action, requestId);
      case 'DeleteRoute':
        model.deleteRoute(required(params, 'RouteTableId'), destinationParam(params));
        return returnTrueXml(action, requestId);
      default:
        throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const params = new URLSearchParams(req.method === 'POST' ? body : query);
    const action = params.get('Action') ?? '';
    const record: CloudRequestRecord = {
      operation: action,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      params: Object.fromEntries([...params].filter(([k]) => k !== 'Action' && k !== 'Version')),
      status: 0,
    };
    requests.push(record);
    const requestId = randomUUID();
    const send = (status: number, xml: string): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      res.end(xml);
    };

    const outcome = await applyFaults(emulator.faults, action, random);
    if (outcome === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (outcome === 'fail') {
      send(503, errorXml('Unavailable', 'The service is unavailable. Please try again shortly.', requestId));
      return;
    }
    try {
      const xml = dispatch(action, params, requestId);
      if (MUTATING.has(action)) writes += 1;
      send(200, xml);
    } catch (e) {
      if (!(e instanceof Ec2Error)) throw e;
      send(e.status, errorXml(e.code, e.message, requestId));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' });
        res.end(errorXml('InternalError', 'An internal error has occurred', randomUUID()));
      }
    });
  });
  const port = await listenOnLoopback(server);

  const clone = <T>(x: T): T => structuredClone(x);
  const emulator: Ec2Emulator = {
    endpoint: `http://127.0.0.1:${port}`,
    faults: { ...(opts.faults ?? {}) },
    get writes() {
      return writes;
    },
    requests,
    addInstance: (input) => clone(model.addInstance(input)),
    setInstanceState(instanceId, state) {
      const inst = model.instances.get(instanceId);
      if (!inst) throw new Error(`No instance ${instanceId} in the EC2 emulator`);
      inst.state = state;
    },
    addRouteTable: (input) => clone(withStates(model.addRouteTable(input))),
    routeTables: () => [...model.tables.values()].map((t) => clone(withStates(t))),
    route(routeTableId, destination) {
      const t = model.tables.get(routeTableId);
      const r = t && model.findRoute(t, destination);
      return r && { ...clone(r), state: model.routeState(r) };
    },
    deleteRoute(routeTableId, destination) {
      const t = model.tables.get(routeTableId);
      if (!t) return false;
      const before = t.routes.length;
      t.routes = t.routes.filter((r) => r.destination !== destination);
      return t.routes.length < before;
    },
    setRouteTarget(routeTableId, destination, target) {
      const t = model.table(routeTableId);
      const r = model.findRoute(t, destination);
      if (!r) throw new Error(`No route ${destination} in ${routeTableId}`);
      delete r.instanceId;
      delete r.networkInterfaceId;
      delete r.gatewayId;
      Object.assign(r, model.completeTarget(target, false));
    },
    stop: () => closeServer(server, hanging),
  };

  function withStates(t: Ec2RouteTable): Ec2RouteTable {
    return { ...t, routes: t.routes.map((r) => ({ ...r, state: model.routeState(r) })) };
  }

  return emulator;
}
