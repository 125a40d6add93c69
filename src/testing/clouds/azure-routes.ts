import { ArmError } from './azure-model.js';

/** Operation names used in the request log and in `faults.operations`. */
export type AzureOperation =
  | 'routeTables.list'
  | 'routeTables.listAll'
  | 'routeTables.get'
  | 'routes.list'
  | 'routes.get'
  | 'routes.createOrUpdate'
  | 'routes.delete'
  | 'networkInterfaces.list'
  | 'networkInterfaces.listAll'
  | 'networkInterfaces.get'
  | 'virtualMachines.get'
  | 'virtualMachines.instanceView';

/** A request path resolved to an operation and the names in it. */
export interface Matched {
  operation: AzureOperation;
  rg?: string;
  name?: string;
  child?: string;
}

const SUB = '/subscriptions/([^/]+)';
const RG = `${SUB}/resourceGroups/([^/]+)`;
const NET = '/providers/Microsoft\\.Network';
const CMP = '/providers/Microsoft\\.Compute';
const ROUTES: [RegExp, AzureOperation][] = [
  [new RegExp(`^${SUB}${NET}/routeTables$`, 'i'), 'routeTables.listAll'],
  [new RegExp(`^${SUB}${NET}/networkInterfaces$`, 'i'), 'networkInterfaces.listAll'],
  [new RegExp(`^${RG}${NET}/routeTables$`, 'i'), 'routeTables.list'],
  [new RegExp(`^${RG}${NET}/routeTables/([^/]+)$`, 'i'), 'routeTables.get'],
  [new RegExp(`^${RG}${NET}/routeTables/([^/]+)/routes$`, 'i'), 'routes.list'],
  [new RegExp(`^${RG}${NET}/routeTables/([^/]+)/routes/([^/]+)$`, 'i'), 'routes.get'],
  [new RegExp(`^${RG}${NET}/networkInterfaces$`, 'i'), 'networkInterfaces.list'],
  [new RegExp(`^${RG}${NET}/networkInterfaces/([^/]+)$`, 'i'), 'networkInterfaces.get'],
  [new RegExp(`^${RG}${CMP}/virtualMachines/([^/]+)$`, 'i'), 'virtualMachines.get'],
  [new RegExp(`^${RG}${CMP}/virtualMachines/([^/]+)/instanceView$`, 'i'), 'virtualMachines.instanceView'],
];

/** Resolves method and path to an operation; throws `ArmError` as ARM answers an unknown path or method. */
export function match(method: string, path: string, subscriptionId: string): Matched {
  for (const [re, op] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    const [, sub, rg, name, child] = m.map((x) => (x === undefined ? undefined : decodeURIComponent(x)));
    if (sub?.toLowerCase() !== subscriptionId.toLowerCase()) {
      throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
    }
    let operation = op;
    if (op === 'routes.get' && method === 'PUT') operation = 'routes.createOrUpdate';
    else if (op === 'routes.get' && method === 'DELETE') operation = 'routes.delete';
    else if (method !== 'GET') {
      throw new ArmError(405, 'MethodNotAllowed', `The requested method ${method} is not allowed for ${path}.`);
    }
    return { operation, rg, name, child };
  }
  throw new ArmError(404, 'InvalidResourceType', `The resource path '${path}' is not known to the Azure emulator.`);
}

