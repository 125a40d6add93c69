import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { ArmError, AzureModel, type AzurePowerState, type AzureRouteSpec, type AzureRouteTableState } from './azure-model.js';
import { match, type Matched } from './azure-routes.js';
import {
  applyFaults,
  closeServer,
  loopbackCertificate,
  listenOnLoopback,
  readBody,
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

export interface AzureEmulatorOptions {
  subscriptionId?: string;
  /** Resource group used when addVm / addRouteTable name none. */
  resourceGroup?: string;
  faults?: CloudFaults;
  random?: () => number;
  /** Reuse a certificate instead of generating one (saves time when starting many). */
  tls?: { key: string; cert: string };
}

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
  readonly requests: readonly CloudRequestRecord[];
  /** Adds a VM and its NIC (`<name>-nic`). */
  addVm(input: { name: string; privateIp: string; powerState?: AzurePowerState; resourceGroup?: string }): {
    vmId: string;
    nicId: string;
  };
  setPowerState(vmName: string, state: AzurePowerState): void;
  addRouteTable(input: {
    name: string;
    resourceGroup?: string;
    tags?: Record<string, string>;
    routes: AzureRouteSpec[];
  }): { id: string };
  routeTables(): AzureRouteTableState[];
  /** The route of that table with that address prefix. */
  route(tableName: string, addressPrefix: string, resourceGroup?: string): AzureRouteSpec | undefined;
  deleteRoute(tableName: string, addressPrefix: string, resourceGroup?: string): boolean;
  setRouteNextHop(tableName: string, addressPrefix: string, nextHopIpAddress: string, resourceGroup?: string): void;
  stop(): Promise<void>;
}

/** Starts an HTTPS Azure Resource Manager emulator (route tables, NICs, VMs) on 127.0.0.1. */
export async function startAzureEmulator(opts: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const subscriptionId = opts.subscriptionId ?? '00000000-0000-0000-0000-000000000001';
  const defaultRg = opts.resourceGroup ?? 'vns3-rg';
  const model = new AzureModel(subscriptionId);
  model.groups.add(defaultRg);
  const random = opts.random ?? Math.random;
  const requests: CloudRequestRecord[] = [];
  const hanging = new Set<ServerResponse>();
  const token = `emulator-${randomUUID()}`;
  let writes = 0;

  const pems = opts.tls ?? (await loopbackCertificate());

  function serve(m: Matched, method: string, url: URL, body: unknown): { status: number; json: unknown } {
    const rg = m.rg ?? '';
    const name = m.name ?? '';
    switch (m.operation) {
      case 'routeTables.listAll':
        return { status: 200, json: { value: [...model.tables.values()].map((t) => model.tableJson(t)) } };
      case 'routeTables.list': {
        model.requireGroup(rg);
        const value = [...model.tables.values()]
          .filter((t) => t.resourceGroup.toLowerCase() === rg.toLowerCase())
          .map((t) => model.tableJson(t));
        return { status: 200, json: { value } };
      }
      case 'routeTables.get':
        return { status: 200, json: model.tableJson(model.table(rg, name)) };
      case 'routes.list': {
        const t = model.table(rg, name);
        return { status: 200, json: { value: t.routes.map((r) => model.routeJson(t, r)) } };
      }
      case 'routes.get': {
        const t = model.table(rg, name);
        const r = t.routes.find((x) => x.name.toLowerCase() === m.child?.toLowerCase());
        if (!r) throw new ArmError(404, 'NotFound', `Route ${m.child} in route table ${name} was not found.`);
        return { status: 200, json: model.routeJson(t, r) };
      }
      case 'routes.createOrUpdate': {
        const t = model.table(rg, name);
        const { created, route } = model.putRoute(t, m.child ?? '', body);
        writes += 1;
        return { status: created ? 201 : 200, json: model.routeJson(t, route) };
      }
      case 'routes.delete': {
        const t = model.table(rg, name);
        const before = t.routes.length;
        t.routes = t.routes.filter((x) => x.name.toLowerCase() !== m.child?.toLowerCase());
        if (t.routes.length === before) return { status: 204, json: undefined };
        writes += 1;
        return { status: 200, json: undefined };
      }
      case 'networkInterfaces.listAll':
        return { status: 200, json: { value: [...model.vms.values()].map((v) => model.nicJson(v)) } };
      case 'networkInterfaces.list': {
        model.requireGroup(rg);
        const value = [...model.vms.values()]
          .filter((v) => v.resourceGroup.toLowerCase() === rg.toLowerCase())
          .map((v) => model.nicJson(v));
        return { status: 200, json: { value } };
      }
      case 'networkInterfaces.get': {
        model.requireGroup(rg);
        const vm = [...model.vms.values()].find(
          (v) => v.resourceGroup.toLowerCase() === rg.toLowerCase() && v.nicName.toLowerCase() === name.toLowerCase(),
        );
        if (!vm) {
          throw new ArmError(
            404,
            'ResourceNotFound',
            `The Resource 'Microsoft.Network/networkInterfaces/${name}' under resource group '${rg}' was not found.`,
          );
        }
        return { status: 200, json: model.nicJson(vm) };
      }
      case 'virtualMachines.get': {
        const expand = (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview';
        return { status: 200, json: model.vmJson(model.vm(rg, name), expand) };
      }
      case 'virtualMachines.instanceView':
        return { status: 200, json: model.instanceViewJson(model.vm(rg, name)) };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const record: CloudRequestRecord = { operation: 'unknown', method, path: url.pathname, params: {}, status: 0 };
    requests.push(record);
    const send = (status: number, json: unknown): void => {
      record.status = status;
      const headers: Record<string, string> = { 'x-ms-request-id': randomUUID() };
      if (json === undefined) {
        res.writeHead(status, headers);
        res.end();
        return;
      }
      res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(json));
    };
    const fail = (e: ArmError): void => send(e.status, { error: { code: e.code, message: e.message } });

    if (req.headers.authorization !== `Bearer ${token}`) {
      // Checked first: an unauthenticated caller learns nothing about resources.
      fail(new ArmError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or invalid.'));
      return;
    }
    let matched: Matched;
    try {
      matched = match(method, url.pathname, subscriptionId);
    } catch (e) {
      if (e instanceof ArmError) return fail(e);
      throw e;
    }
    record.operation = matched.operation;
    if (matched.rg) record.params['resourceGroup'] = matched.rg;
    if (matched.name) record.params['name'] = matched.name;
    if (matched.child) record.params['child'] = matched.child;

    const outcome = await applyFaults(emulator.faults, matched.operation, random);
    if (outcome === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (outcome === 'fail') {
      fail(new ArmError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry.'));
      return;
    }
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.'));
      }
    }
    try {
      const { status, json } = serve(matched, method, url, body);
      send(status, json);
    } catch (e) {
      if (e instanceof ArmError) return fail(e);
      throw e;
    }
  }

  const server = createServer({ key: pems.key, cert: pems.cert }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'InternalServerError', message: 'The emulator failed.' } }));
      }
    });
  });
  const port = await listenOnLoopback(server);

  const tableOf = (name: string, rg?: string): AzureRouteTableState => model.table(rg ?? defaultRg, name);
  const credential: StaticTokenCredential = {
    getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };

  const emulator: AzureEmulator = {
    endpoint: `https://127.0.0.1:${port}`,
    ca: pems.cert,
    subscriptionId,
    resourceGroup: defaultRg,
    credential,
    faults: { ...(opts.faults ?? {}) },
    get writes() {
      return writes;
    },
    requests,
    addVm(input) {
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
    setPowerState(vmName, state) {
      const vm = model.findVmByName(vmName);
      if (!vm) throw new Error(`No VM ${vmName} in the Azure emulator`);
      vm.powerState = state;
    },
    addRouteTable(input) {
      const t: AzureRouteTableState = {
        resourceGroup: input.resourceGroup ?? defaultRg,
        name: input.name,
        tags: { ...(input.tags ?? {}) },
        routes: input.routes.map((r) => ({ ...r, nextHopType: r.nextHopType ?? 'VirtualAppliance' })),
      };
      model.addTable(t);
      return { id: `${model.rgId(t.resourceGroup)}/providers/Microsoft.Network/routeTables/${t.name}` };
    },
    routeTables: () => [...model.tables.values()].map((t) => structuredClone(t)),
    route(tableName, addressPrefix, rg) {
      const r = tableOf(tableName, rg).routes.find((x) => x.addressPrefix === addressPrefix);
      return r && { ...r };
    },
    deleteRoute(tableName, addressPrefix, rg) {
      const t = tableOf(tableName, rg);
      const before = t.routes.length;
      t.routes = t.routes.filter((x) => x.addressPrefix !== addressPrefix);
      return t.routes.length < before;
    },
    setRouteNextHop(tableName, addressPrefix, nextHopIpAddress, rg) {
      const r = tableOf(tableName, rg).routes.find((x) => x.addressPrefix === addressPrefix);
      if (!r) throw new Error(`No route ${addressPrefix} in route table ${tableName}`);
      r.nextHopType = 'VirtualAppliance';
      r.nextHopIpAddress = nextHopIpAddress;
    },
    stop: () => closeServer(server, hanging),
  };
  return emulator;
}
