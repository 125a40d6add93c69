import type { SimController } from '../controller.js';
import { badRequest } from '../errors.js';
import { observeTunnels, vtiNetwork } from '../ipsec-tunnels.js';
import { overlayNeighbours } from './peering.js';

/**
 * `GET /status/link_history`: the up/down changes observed on the controller's tunnels, filtered by
 * remote and/or local subnet or by tunnel id. A malformed subnet is a 400 with the reference's
 * message (`bad or invalid remote`).
 */
export function linkHistory(ctl: SimController, query: URLSearchParams): Record<string, unknown> {
  observeTunnels(ctl);
  const filter: { remote?: string; local?: string } = {};
  for (const key of ['remote', 'local'] as const) {
    const value = query.get(key);
    if (value === null) continue;
    const cidr = vtiNetwork(value);
    if (!cidr) throw badRequest(`bad or invalid ${key}`);
    filter[key] = cidr;
  }
  const rawTunnel = query.get('tunnelid');
  const tunnelId = rawTunnel === null ? undefined : Number(rawTunnel);
  const history = ctl.ipsec.history
    .filter((h) => (tunnelId === undefined || h.tunnelId === tunnelId) && (!filter.remote || vtiNetwork(h.remote) === filter.remote) && (!filter.local || vtiNetwork(h.local) === filter.local))
    .map((h) => ({ event: h.event, timestamp: new Date(h.atS * 1000).toISOString(), timestamp_i: h.atS }));
  return { remote: filter.remote, local: filter.local, tunnelid: tunnelId, history };
}

function netmaskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

interface Subnet {
  cidr: string;
  origin: 'ipsec' | 'remote_manager';
  managerid?: number;
}

/**
 * `GET /status/connected_subnets`: the remote subnets of connected policy-based tunnels, the
 * networks routed into connected route-based tunnels, and the subnets the mesh peers advertise.
 * Pairs `[network, netmask]`, or objects with `extended_output`.
 */
export function connectedSubnets(ctl: SimController, extended: boolean): unknown[] {
  const subnets: Subnet[] = [];
  const upTunnels = new Set<number>();
  for (const { endpoint, tunnel, state } of observeTunnels(ctl)) {
    if (!state.connected) continue;
    upTunnels.add(tunnel.id);
    if (endpoint.vpnType !== 'vti' && vtiNetwork(tunnel.remoteSubnet)) subnets.push({ cidr: vtiNetwork(tunnel.remoteSubnet)!, origin: 'ipsec' });
  }
  for (const r of ctl.routes.values()) {
    if (r.enabled && r.tunnel !== undefined && upTunnels.has(r.tunnel)) subnets.push({ cidr: r.cidr, origin: 'ipsec' });
  }
  for (const other of overlayNeighbours(ctl)) {
    for (const r of other.routes.values()) if (r.advertise && r.enabled) subnets.push({ cidr: r.cidr, origin: 'remote_manager', managerid: other.peerId });
  }
  const seen = new Set<string>();
  return subnets
    .filter((s) => !seen.has(s.cidr) && seen.add(s.cidr))
    .map((s) => {
      const [network = '', prefix = '32'] = s.cidr.split('/');
      const netmask = netmaskOf(Number(prefix));
      return extended ? { subnet: s.cidr, network, cidr_mask: prefix, netmask, origin: s.origin, managerid: s.managerid } : [network, netmask];
    });
}
