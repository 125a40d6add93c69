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
  type Ec2RouteTableInput,
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
  emulatorHandle,
  newEmulatorState,
  type EmulatorState,
  listenOnLoopback,
  readBody,
  recordRequest,
  type CloudFaults,
  type CloudRequestRecord,
} from './server.js';

export type { Ec2Instance, Ec2InstanceInput, Ec2InstanceStateName, Ec2Route, Ec2RouteTable, Ec2RouteTableInput, Ec2RouteTarget } from './ec2-model.js';

/** How {@link startEc2Emulator} starts; both fields are optional. */
export interface Ec2EmulatorOptions {
  /** Faults from the first request on (change them later through `emulator.faults`). */
  faults?: CloudFaults;
  /** Source of randomness for `failRate`; inject one for reproducible runs. */
  random?: () => number;
  /** How many requests `requests` keeps, the newest (default 1000); a positive integer. */
  requestLogLimit?: number;
}

/** A running EC2 emulator: its endpoint, its counters, and controls a test uses to set the scene. */
export interface Ec2Emulator {
  /** `http://127.0.0.1:PORT`, to pass as the EC2Client `endpoint`. */
  readonly endpoint: string;
  /** Mutable: change faults at any time. */
  faults: CloudFaults;
  /** Successful mutating API calls (ReplaceRoute, CreateRoute, DeleteRoute). */
  readonly writes: number;
  /** The API requests in arrival order: the newest `requestLogLimit` (default 1000); older ones are dropped. */
  readonly requests: readonly CloudRequestRecord[];
  /** Adds an instance (running unless told otherwise); returns a copy. */
  addInstance(input: Ec2InstanceInput): Ec2Instance;
  /** Changes an instance's state (routes to a stopped one turn `blackhole`); throws for an unknown id. */
  setInstanceState(instanceId: string, state: Ec2InstanceStateName): void;
  /** Adds a route table; returns a copy. */
  addRouteTable(input: Ec2RouteTableInput): Ec2RouteTable;
  /** Deep copies: the emulator's state cannot be changed through them. */
  routeTables(): Ec2RouteTable[];
  /** A copy of one route, with its current state. */
  route(routeTableId: string, destination: string): Ec2Route | undefined;
  /** Simulates a route removed out of band; returns whether there was one. */
  deleteRoute(routeTableId: string, destination: string): boolean;
  /** Simulates someone re-pointing a route behind the SDK's back (no write counted). */
  setRouteTarget(routeTableId: string, destination: string, target: Ec2RouteTarget): void;
  /** Closes the listener and every connection, hanging ones included. */
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

/** Runs one Query API action on the model; returns the reply's XML or throws `Ec2Error`. */
function dispatch(model: Ec2Model, action: string, params: URLSearchParams, requestId: string): string {
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

/** The emulator's state a request handler reads and updates. */
interface Ec2State extends EmulatorState {
  readonly model: Ec2Model;
  readonly random: () => number;
  readonly requestLogLimit: number;
}

/** Answers one Query API request (action in the query or the form body), after the faults. */
async function handle(state: Ec2State, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  recordRequest(state.requests, record, state.requestLogLimit);
  const requestId = randomUUID();
  const send = (status: number, xml: string): void => {
    record.status = status;
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
    res.end(xml);
  };

  const outcome = await applyFaults(state.faults, action, state.random);
  if (outcome === 'hang') {
    state.hanging.add(res);
    res.on('close', () => state.hanging.delete(res));
    return;
  }
  if (outcome === 'throttle') {
    send(503, errorXml('RequestLimitExceeded', 'Request limit exceeded.', requestId));
    return;
  }
  if (outcome === 'fail') {
    send(503, errorXml('Unavailable', 'The service is unavailable. Please try again shortly.', requestId));
    return;
  }
  try {
    const xml = dispatch(state.model, action, params, requestId);
    if (MUTATING.has(action)) state.writes += 1;
    send(200, xml);
  } catch (e) {
    if (!(e instanceof Ec2Error)) throw e;
    send(e.status, errorXml(e.code, e.message, requestId));
  }
}

/** A table as the caller sees it: every route with its current state (active or blackhole). */
function withStates(model: Ec2Model, t: Ec2RouteTable): Ec2RouteTable {
  return { ...t, routes: t.routes.map((r) => ({ ...r, state: model.routeState(r) })) };
}

/** The test-facing controls over the model: set up instances and tables, change things out of band. */
function ec2Controls(model: Ec2Model) {
  const clone = <T>(x: T): T => structuredClone(x);
  return {
    addInstance: (input: Ec2InstanceInput) => clone(model.addInstance(input)),
    setInstanceState(instanceId: string, state: Ec2InstanceStateName) {
      const inst = model.instances.get(instanceId);
      if (!inst) throw new Error(`No instance ${instanceId} in the EC2 emulator`);
      inst.state = state;
    },
    addRouteTable: (input: Ec2RouteTableInput) => clone(withStates(model, model.addRouteTable(input))),
    routeTables: () => [...model.tables.values()].map((t) => clone(withStates(model, t))),
    route(routeTableId: string, destination: string) {
      const t = model.tables.get(routeTableId);
      const r = t && model.findRoute(t, destination);
      return r && { ...clone(r), state: model.routeState(r) };
    },
    deleteRoute(routeTableId: string, destination: string) {
      const t = model.tables.get(routeTableId);
      if (!t) return false;
      const before = t.routes.length;
      t.routes = t.routes.filter((r) => r.destination !== destination);
      return t.routes.length < before;
    },
    setRouteTarget(routeTableId: string, destination: string, target: Ec2RouteTarget) {
      const t = model.table(routeTableId);
      const r = model.findRoute(t, destination);
      if (!r) throw new Error(`No route ${destination} in ${routeTableId}`);
      delete r.instanceId;
      delete r.networkInterfaceId;
      delete r.gatewayId;
      Object.assign(r, model.completeTarget(target, false));
    },
  } satisfies Partial<Ec2Emulator>;
}

/**
 * Starts an EC2 Query API emulator (route tables and instances) on 127.0.0.1, for the HA engine's
 * AWS route provider (point the EC2 client's `endpoint` at it). Call `stop()` when done. Throws the
 * listen error if no loopback port can be bound, and `Vns3ValidationError` for a bad `requestLogLimit`.
 */
export async function startEc2Emulator(options: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  const state: Ec2State = { ...newEmulatorState(options), model: new Ec2Model() };
  const server = createServer((req, res) => {
    handle(state, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' });
        res.end(errorXml('InternalError', 'An internal error has occurred', randomUUID()));
      }
    });
  });
  const port = await listenOnLoopback(server);
  return emulatorHandle(state, server, { endpoint: `http://127.0.0.1:${port}`, ...ec2Controls(state.model) });
}
