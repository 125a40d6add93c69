import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { ArmError, AzureModel, type AzurePowerState, type AzureRouteSpec, type AzureRouteTableState } from './azure-model.js';
import { serveArm } from './azure-operations.js';
import { match, type Matched } from './azure-routes.js';
import {
  applyFaults,
  emulatorHandle,
  newEmulatorState,
  type EmulatorState,
  loopbackCertificate,
  listenOnLoopback,
  readBody,
  recordRequest,
  type CloudFaults,
  type CloudRequestRecord,
} from './server.js';

export type { AzurePowerState, AzureRouteSpec, AzureRouteTableState } from './azure-model.js';
export type { AzureOperation } from './azure-routes.js';

/**
 * Structurally an `@azure/core-auth` TokenCredential, declared here so that
 * the testing entry point does not need the Azure packages installed.
 */
export interface StaticTokenCredential {
  getToken(scopes: string | string[], options?: unknown): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** How {@link startAzureEmulator} starts; every field is optional. */
export interface AzureEmulatorOptions {
  /** Default `00000000-0000-0000-0000-000000000001`. */
  subscriptionId?: string;
  /** Resource group used when addVm / addRouteTable name none. */
  resourceGroup?: string;
  /** Faults from the first request on (change them later through `emulator.faults`). */
  faults?: CloudFaults;
  /** Source of randomness for `failRate`; inject one for reproducible runs. */
  random?: () => number;
  /** How many requests `requests` keeps, the newest (default 1000); a positive integer. */
  requestLogLimit?: number;
  /** Reuse a certificate instead of generating one (saves time when starting many). */
  tls?: { key: string; cert: string };
}

/** What a test gives to add a VM; it gets one NIC, `<name>-nic`, holding `privateIp`. */
export interface AzureVmInput {
  name: string;
  privateIp: string;
  /** Default `running`. */
  powerState?: AzurePowerState;
  /** Default: the emulator's resource group. */
  resourceGroup?: string;
}

/** What a test gives to add a route table. */
export interface AzureRouteTableInput {
  name: string;
  /** Default: the emulator's resource group. */
  resourceGroup?: string;
  tags?: Record<string, string>;
  routes: AzureRouteSpec[];
}

/** A running Azure Resource Manager emulator: where to reach it, how to log in, controls for tests. */
export interface AzureEmulator {
  /** `https://127.0.0.1:PORT`, for the ARM clients' `endpoint` / `$host`. */
  readonly endpoint: string;
  /** PEM of the self-signed certificate, for `tlsOptions: { ca }`. */
  readonly ca: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The only credential the emulator accepts. */
  readonly credential: StaticTokenCredential;
  faults: CloudFaults;
  /** Successful PUT/DELETE requests. */
  readonly writes: number;
  /** The API requests in arrival order: the newest `requestLogLimit` (default 1000); older ones are dropped. */
  readonly requests: readonly CloudRequestRecord[];
  /** Adds a VM and its NIC (`<name>-nic`). */
  addVm(input: AzureVmInput): { vmId: string; nicId: string };
  /** Changes a VM's power state; throws for an unknown VM. */
  setPowerState(vmName: string, state: AzurePowerState): void;
  /** Adds a route table (routes default to next hop type `VirtualAppliance`); returns its ARM id. */
  addRouteTable(input: AzureRouteTableInput): { id: string };
  /** Deep copies: the emulator's state cannot be changed through them. */
  routeTables(): AzureRouteTableState[];
  /** The route of that table with that address prefix. */
  route(tableName: string, addressPrefix: string, resourceGroup?: string): AzureRouteSpec | undefined;
  /** Simulates a route removed out of band; returns whether there was one. */
  deleteRoute(tableName: string, addressPrefix: string, resourceGroup?: string): boolean;
  /** Simulates someone re-pointing a route behind the SDK's back (no write counted); throws for an unknown route. */
  setRouteNextHop(tableName: string, addressPrefix: string, nextHopIpAddress: string, resourceGroup?: string): void;
  /** Closes the listener and every connection, hanging ones included. */
  stop(): Promise<void>;
}

/** The emulator's state a request handler reads and updates. */
interface ArmState extends EmulatorState {
  readonly model: AzureModel;
  readonly subscriptionId: string;
  /** The only bearer token accepted. */
  readonly token: string;
  readonly random: () => number;
  readonly requestLogLimit: number;
}

/** Writes a JSON reply (or an empty one for `json` undefined) and records its status. */
function reply(res: ServerResponse, record: CloudRequestRecord, status: number, json: unknown): void {
  record.status = status;
  const headers: Record<string, string> = { 'x-ms-request-id': randomUUID() };
  if (json === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(json));
}

/** Resolves the operation and records it with the names in its path. */
function matchAndRecord(state: ArmState, method: string, url: URL, record: CloudRequestRecord): Matched {
  const matched = match(method, url.pathname, state.subscriptionId);
  record.operation = matched.operation;
  if (matched.rg) record.params['resourceGroup'] = matched.rg;
  if (matched.name) record.params['name'] = matched.name;
  if (matched.child) record.params['child'] = matched.child;
  return matched;
}

function parseJson(raw: string): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
  }
}

/** Answers one ARM request: authentication first, then the path, the faults, the body, the operation. */
async function handle(state: ArmState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const method = req.method ?? 'GET';
  const record: CloudRequestRecord = { operation: 'unknown', method, path: url.pathname, params: {}, status: 0 };
  recordRequest(state.requests, record, state.requestLogLimit);
  try {
    if (req.headers.authorization !== `Bearer ${state.token}`) {
      // Checked first: an unauthenticated caller learns nothing about resources.
      throw new ArmError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or invalid.');
    }
    const matched = matchAndRecord(state, method, url, record);
    const outcome = await applyFaults(state.faults, matched.operation, state.random);
    if (outcome === 'hang') {
      state.hanging.add(res);
      res.on('close', () => state.hanging.delete(res));
      return;
    }
    if (outcome === 'throttle') {
      res.setHeader('retry-after', '1');
      throw new ArmError(429, 'TooManyRequests', 'The request is being throttled. Retry after 1 second.');
    }
    if (outcome === 'fail') throw new ArmError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry.');
    const { status, json, wrote } = serveArm(state.model, matched, url, parseJson(raw));
    if (wrote) state.writes += 1;
    reply(res, record, status, json);
  } catch (e) {
    if (!(e instanceof ArmError)) throw e;
    reply(res, record, e.status, { error: { code: e.code, message: e.message } });
  }
}

/** The test-facing controls over the model: set up VMs and tables, change routes out of band. */
function azureControls(model: AzureModel, defaultRg: string) {
  const tableOf = (name: string, rg?: string): AzureRouteTableState => model.table(rg ?? defaultRg, name);
  const routeOf = (tableName: string, addressPrefix: string, rg?: string): AzureRouteSpec | undefined =>
    tableOf(tableName, rg).routes.find((x) => x.addressPrefix === addressPrefix);
  return {
    addVm(input: AzureVmInput) {
      const vm = {
        resourceGroup: input.resourceGroup ?? defaultRg,
        name: input.name,
        nicName: `${input.name}-nic`,
        privateIp: input.privateIp,
        powerState: input.powerState ?? 'running',
      };
      model.addVm(vm);
      return { vmId: model.vmId(vm), nicId: model.nicId(vm) };
    },
    setPowerState(vmName: string, state: AzurePowerState) {
      const vm = model.findVmByName(vmName);
      if (!vm) throw new Error(`No VM ${vmName} in the Azure emulator`);
      vm.powerState = state;
    },
    addRouteTable(input: AzureRouteTableInput) {
      const t: AzureRouteTableState = {
        resourceGroup: input.resourceGroup ?? defaultRg,
        name: input.name,
        tags: { ...input.tags },
        routes: input.routes.map((r) => ({ ...r, nextHopType: r.nextHopType ?? 'VirtualAppliance' })),
      };
      model.addTable(t);
      return { id: `${model.rgId(t.resourceGroup)}/providers/Microsoft.Network/routeTables/${t.name}` };
    },
    routeTables: () => [...model.tables.values()].map((t) => structuredClone(t)),
    route(tableName: string, addressPrefix: string, rg?: string) {
      const r = routeOf(tableName, addressPrefix, rg);
      return r && { ...r };
    },
    deleteRoute(tableName: string, addressPrefix: string, rg?: string) {
      const t = tableOf(tableName, rg);
      const before = t.routes.length;
      t.routes = t.routes.filter((x) => x.addressPrefix !== addressPrefix);
      return t.routes.length < before;
    },
    setRouteNextHop(tableName: string, addressPrefix: string, nextHopIpAddress: string, rg?: string) {
      const r = routeOf(tableName, addressPrefix, rg);
      if (!r) throw new Error(`No route ${addressPrefix} in route table ${tableName}`);
      r.nextHopType = 'VirtualAppliance';
      r.nextHopIpAddress = nextHopIpAddress;
    },
  } satisfies Partial<AzureEmulator>;
}

/**
 * Starts an HTTPS Azure Resource Manager emulator (route tables, NICs, VMs) on 127.0.0.1, for the HA
 * engine's Azure route provider: give the ARM clients its `endpoint`, its `credential` and trust its
 * `ca`. Call `stop()` when done. Throws the listen error if no loopback port can be bound, and
 * `Vns3ValidationError` for a bad `requestLogLimit`.
 */
export async function startAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const { subscriptionId = '00000000-0000-0000-0000-000000000001', resourceGroup = 'vns3-rg' } = options;
  const state: ArmState = {
    model: new AzureModel(subscriptionId),
    subscriptionId,
    token: `emulator-${randomUUID()}`,
    ...newEmulatorState(options),
  };
  state.model.groups.add(resourceGroup);
  const pems = options.tls ?? (await loopbackCertificate());
  const server = createServer({ key: pems.key, cert: pems.cert }, (req, res) => {
    handle(state, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'InternalServerError', message: 'The emulator failed.' } }));
      }
    });
  });
  const port = await listenOnLoopback(server);
  return emulatorHandle(state, server, {
    endpoint: `https://127.0.0.1:${port}`,
    ca: pems.cert,
    subscriptionId,
    resourceGroup,
    credential: { getToken: async () => ({ token: state.token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    ...azureControls(state.model, resourceGroup),
  });
}
