import { parseCidr } from '../../../net/index.js';
import type { SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest } from '../errors.js';
import { routeMap } from './routes.js';
import type { OperationTable } from './types.js';

function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/**
 * The subnets the controller connects: its own subnet, then every network of its route table
 * (local routes and those learned from the peers it reaches), as `[network, netmask]`, once each.
 */
export function connectedSubnets(ctl: SimController): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  const add = (cidr: string): void => {
    let parsed;
    try {
      parsed = parseCidr(cidr);
    } catch {
      return; // an IPv6 route: not in this IPv4 list
    }
    if (seen.has(parsed.cidr)) return;
    seen.add(parsed.cidr);
    out.push([parsed.network, netmaskOf(parsed.prefix)]);
  };
  add(ctl.identity.subnet);
  for (const route of Object.values(routeMap(ctl))) {
    if (route.enabled !== false) add(String(route.cidr));
  }
  return out;
}

export const statusOperations: OperationTable = {
  'GET /status': ({ ctl }) => {
    if (!ctl.licensed) throw new SimApiError(403, MESSAGES.mustBeLicensed, 'PrerequisiteError');
    return {
      // No overlay client connects to a simulated controller (see the simulator's README section).
      connected_clients: {},
      connected_subnets: connectedSubnets(ctl),
      ipsec: {},
    };
  },

  'GET /status/task': ({ ctl, body }) => {
    const { token } = body as { token: string };
    const task = ctl.sysadmin.task(token);
    if (!task) throw badRequest('Task not found.');
    return { task_status: 'done' };
  },

  'GET /remote_support': ({ ctl }) => ({ enabled: ctl.sysadmin.remoteSupport.enabled }),

  'PUT /remote_support': ({ ctl, body }) => {
    const b = body as { enabled?: boolean; revoke_credential?: boolean };
    if (b.enabled !== undefined) ctl.sysadmin.remoteSupport.enabled = b.enabled;
    return { enabled: ctl.sysadmin.remoteSupport.enabled, revoke_credential: b.revoke_credential === true };
  },

  'PUT /server': ({ ctl, body }) => {
    const { reboot } = body as { reboot?: boolean };
    if (reboot !== true) throw badRequest('No server action given.');
    // As after licensing: the reply goes out, then the controller reboots.
    ctl.rebootAfterReply = true;
    return { status: 'rebooting' };
  },
};
