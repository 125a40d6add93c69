import { ArmError, type AzureModel } from './azure-model.js';
import type { Matched } from './azure-routes.js';

/** An ARM reply before serialisation; `json` undefined means an empty body. `wrote`: a counted write. */
export interface ArmReply {
  status: number;
  json: unknown;
  wrote?: boolean;
}

const ok = (json: unknown): ArmReply => ({ status: 200, json });
const sameGroup = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function listRouteTables(model: AzureModel, rg: string): ArmReply {
  model.requireGroup(rg);
  const value = [...model.tables.values()].filter((t) => sameGroup(t.resourceGroup, rg)).map((t) => model.tableJson(t));
  return ok({ value });
}

function getRoute(model: AzureModel, rg: string, name: string, child: string | undefined): ArmReply {
  const t = model.table(rg, name);
  const r = t.routes.find((x) => x.name.toLowerCase() === child?.toLowerCase());
  if (!r) throw new ArmError(404, 'NotFound', `Route ${child} in route table ${name} was not found.`);
  return ok(model.routeJson(t, r));
}

function putRoute(model: AzureModel, rg: string, name: string, child: string | undefined, body: unknown): ArmReply {
  const t = model.table(rg, name);
  const { created, route } = model.putRoute(t, child ?? '', body);
  return { status: created ? 201 : 200, json: model.routeJson(t, route), wrote: true };
}

/** ARM deletes idempotently: 200 when the route was there, 204 when it was not. */
function deleteRoute(model: AzureModel, rg: string, name: string, child: string | undefined): ArmReply {
  const t = model.table(rg, name);
  const before = t.routes.length;
  t.routes = t.routes.filter((x) => x.name.toLowerCase() !== child?.toLowerCase());
  if (t.routes.length === before) return { status: 204, json: undefined };
  return { status: 200, json: undefined, wrote: true };
}

function listNics(model: AzureModel, rg: string): ArmReply {
  model.requireGroup(rg);
  const value = [...model.vms.values()].filter((v) => sameGroup(v.resourceGroup, rg)).map((v) => model.nicJson(v));
  return ok({ value });
}

function getNic(model: AzureModel, rg: string, name: string): ArmReply {
  model.requireGroup(rg);
  const vm = [...model.vms.values()].find((v) => sameGroup(v.resourceGroup, rg) && sameGroup(v.nicName, name));
  if (!vm) {
    throw new ArmError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Network/networkInterfaces/${name}' under resource group '${rg}' was not found.`,
    );
  }
  return ok(model.nicJson(vm));
}

/** Serves one matched ARM operation on the model; throws `ArmError` with ARM's code and message. */
export function serveArm(model: AzureModel, m: Matched, url: URL, body: unknown): ArmReply {
  const rg = m.rg ?? '';
  const name = m.name ?? '';
  switch (m.operation) {
    case 'routeTables.listAll':
      return ok({ value: [...model.tables.values()].map((t) => model.tableJson(t)) });
    case 'routeTables.list':
      return listRouteTables(model, rg);
    case 'routeTables.get':
      return ok(model.tableJson(model.table(rg, name)));
    case 'routes.list': {
      const t = model.table(rg, name);
      return ok({ value: t.routes.map((r) => model.routeJson(t, r)) });
    }
    case 'routes.get':
      return getRoute(model, rg, name, m.child);
    case 'routes.createOrUpdate':
      return putRoute(model, rg, name, m.child, body);
    case 'routes.delete':
      return deleteRoute(model, rg, name, m.child);
    case 'networkInterfaces.listAll':
      return ok({ value: [...model.vms.values()].map((v) => model.nicJson(v)) });
    case 'networkInterfaces.list':
      return listNics(model, rg);
    case 'networkInterfaces.get':
      return getNic(model, rg, name);
    case 'virtualMachines.get': {
      const expand = (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview';
      return ok(model.vmJson(model.vm(rg, name), expand));
    }
    case 'virtualMachines.instanceView':
      return ok(model.instanceViewJson(model.vm(rg, name)));
  }
}
