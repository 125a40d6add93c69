import { isIP } from 'node:net';
import type { RouteEntry, SimController } from '../controller.js';
import { badRequest } from '../errors.js';
import { ipsecRoutes } from '../ipsec-tunnels.js';
import { overlayNeighbours } from './peering.js';
import type { OperationTable } from './types.js';

const NOT_SET = '_notset';
// Learned routes get ids far above local ones so that they never collide.
const LEARNED_ID_BASE = 100_000;

function routeView(r: RouteEntry, editable: boolean): Record<string, unknown> {
  const [, prefix] = r.cidr.split('/');
  return {
    id: r.id,
    cidr: r.cidr,
    description: r.description,
    interface: r.interface,
    gateway: r.gateway,
    advertise: r.advertise,
    metric: r.metric,
    enabled: r.enabled,
    editable,
    table: r.table,
    netmask: netmaskOf(Number(prefix ?? 32)),
    tunnel: r.tunnel === undefined ? undefined : { id: r.tunnel },
  };
}

function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/** Local routes plus the routes advertised by every controller this one reaches over the overlay. */
export function routeMap(ctl: SimController, table?: string): Record<string, Record<string, unknown>> {
  const map: Record<string, Record<string, unknown>> = {};
  for (const r of ctl.routes.values()) {
    if (table === undefined || r.table === table) map[String(r.id)] = routeView(r, true);
  }
  for (const other of overlayNeighbours(ctl)) {
    for (const r of other.routes.values()) {
      if (!r.advertise || !r.enabled || (table !== undefined && r.table !== table)) continue;
      const id = LEARNED_ID_BASE + (other.peerId ?? 0) * 1000 + r.id;
      map[String(id)] = routeView(
        { ...r, id, interface: 'tun0', gateway: other.identity.overlayIp, advertise: false, description: `Learned from peer ${other.peerId}: ${r.description}`.trim() },
        false,
      );
    }
  }
  // Routes that exist while an IPsec tunnel is up (its remote subnet, a VTI's /30): not editable.
  for (const r of ipsecRoutes(ctl)) {
    if (table !== undefined && table !== 'main') continue;
    map[String(r.id)] = routeView({ ...r, gateway: NOT_SET, advertise: false, metric: 0, enabled: true, table: 'main' }, false);
  }
  return map;
}

function validCidr(cidr: string): boolean {
  const [ip, prefix, extra] = cidr.split('/');
  if (extra !== undefined || ip === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(ip);
  return (family === 4 && Number(prefix) <= 32) || (family === 6 && Number(prefix) <= 128);
}

function routeParam(ctl: SimController, raw: string | undefined): RouteEntry {
  const id = Number(raw);
  const route = ctl.routes.get(id);
  if (!route) {
    if (id >= LEARNED_ID_BASE) throw badRequest(`Route ${raw} is learned from a peer and cannot be edited.`);
    // 400, as the reference says for DELETE /routes/{route_id}: "bad route id or route not found".
    throw badRequest(`Route ${raw} not found.`);
  }
  return route;
}

export const routeOperations: OperationTable = {
  'GET /routes': ({ ctl, query }) => routeMap(ctl, query.get('table') ?? undefined),

  'POST /routes': ({ ctl, body }) => {
    const b = body as Partial<RouteEntry> & { cidr: string; interface?: string; gateway?: string };
    if (!validCidr(b.cidr)) throw badRequest(`Invalid cidr: ${b.cidr}`);
    const gateway = b.gateway === undefined || b.gateway === '' ? NOT_SET : b.gateway;
    if (gateway !== NOT_SET && !isIP(gateway)) throw badRequest(`Invalid gateway: ${gateway}`);
    const iface = b.interface === undefined || b.interface === '' ? NOT_SET : b.interface;
    const table = b.table ?? 'main';
    for (const r of ctl.routes.values()) {
      if (r.cidr === b.cidr && r.gateway === gateway && r.interface === iface && r.table === table) {
        throw badRequest('Route already exists.');
      }
    }
    const id = ctl.nextRouteId++;
    ctl.routes.set(id, {
      id,
      cidr: b.cidr,
      description: b.description ?? '',
      interface: iface,
      gateway,
      advertise: b.advertise ?? false,
      metric: b.metric ?? 0,
      enabled: true,
      table,
      tunnel: b.tunnel === undefined ? undefined : Number(b.tunnel),
    });
    return routeMap(ctl);
  },

  'DELETE /routes/{route_id}': ({ ctl, params }) => {
    const route = routeParam(ctl, params.route_id);
    ctl.routes.delete(route.id);
    return routeMap(ctl);
  },

  // The spec (RouteOk) answers the changed route itself, not the map.
  'PUT /routes/{route_id}/enable': ({ ctl, params }) => {
    const route = routeParam(ctl, params.route_id);
    route.enabled = true;
    return routeView(route, true);
  },

  'PUT /routes/{route_id}/disable': ({ ctl, params }) => {
    const route = routeParam(ctl, params.route_id);
    route.enabled = false;
    return routeView(route, true);
  },
};
