/**
 * A simulated controller's IPsec configuration, and whether each tunnel is up. Nothing negotiates:
 * the state of a tunnel is computed whenever it is read, from both controllers' configuration and
 * the fabric, the way IKE would settle it. A tunnel connects only when the remote end is a
 * controller of the same simulation whose endpoint points back at this controller's public
 * address, with the same pre-shared key and IKE version, matching traffic selectors, and the
 * underlay between the two open; then it comes up `peerLinkUpMs` after the last of those changed.
 * When it is not up, the reason reads like the controller's IPsec log (`authentication failed`).
 */
import { isCidr, normalizeCidr } from '../../net/index.js';
import type { SimController } from './controller.js';
import type { IpsecEndpointEntry, IpsecTunnelEntry, TunnelState } from './ipsec-state.js';

/** The controller whose public IP is `address`, when it is another controller of the simulation. */
function remoteController(ctl: SimController, address: string): SimController | undefined {
  const node = ctl.world.fabric.resolve(address) as SimController | undefined;
  if (!node || node === ctl || node.identity?.publicIp !== address.trim()) return undefined;
  return node;
}

/** The remote's endpoint that points back at `ctl` (the first one, as a gateway picks its first matching peer config). */
function backEndpoint(ctl: SimController, remote: SimController): IpsecEndpointEntry | undefined {
  for (const e of remote.ipsec.endpoints.values()) if (e.ipaddress.trim() === ctl.identity.publicIp) return e;
  return undefined;
}

/** Whether the remote endpoint has the mirror of this tunnel (policy-based traffic selectors, or both route-based). */
function mirrorTunnel(endpoint: IpsecEndpointEntry, tunnel: IpsecTunnelEntry, back: IpsecEndpointEntry): IpsecTunnelEntry | undefined {
  if (endpoint.vpnType === 'vti' || back.vpnType === 'vti') {
    if (endpoint.vpnType !== back.vpnType) return undefined;
    return [...back.tunnels.values()][0];
  }
  for (const t of back.tunnels.values()) {
    if (t.localSubnet === tunnel.remoteSubnet && t.remoteSubnet === tunnel.localSubnet) return t;
  }
  return undefined;
}

/** Why IKE would not bring the endpoint up with the remote (undefined when it would). */
function endpointRefusal(ctl: SimController, endpoint: IpsecEndpointEntry): { reason: string; remote?: SimController; back?: IpsecEndpointEntry } {
  const remote = remoteController(ctl, endpoint.ipaddress);
  if (!remote) return { reason: `no response from ${endpoint.ipaddress} (retransmits exhausted)` };
  if (!ctl.world.fabric.underlayOpen(ctl, remote)) return { reason: `no response from ${endpoint.ipaddress}: underlay path closed (UDP 500/4500)` };
  const back = backEndpoint(ctl, remote);
  if (!back) return { reason: `no matching peer config found at ${endpoint.ipaddress}` };
  if (back.ikeVersion !== endpoint.ikeVersion) return { reason: `IKE version mismatch (IKEv${endpoint.ikeVersion} here, IKEv${back.ikeVersion} at the peer)` };
  if (back.secret !== endpoint.secret) return { reason: 'authentication failed (pre-shared key mismatch)' };
  return { reason: '', remote, back };
}

/** Whether the tunnel is up now, or why not. */
export function tunnelState(ctl: SimController, endpoint: IpsecEndpointEntry, tunnel: IpsecTunnelEntry): TunnelState {
  if (!ctl.licensed) return { connected: false, phase1: 'not licensed' };
  if (!tunnel.enabled) return { connected: false, phase1: 'disabled' };
  const { reason, remote, back } = endpointRefusal(ctl, endpoint);
  if (!remote || !back) return { connected: false, phase1: reason };
  const mirror = mirrorTunnel(endpoint, tunnel, back);
  if (!mirror) return { connected: false, phase1: 'TS_UNACCEPTABLE: no matching traffic selectors at the peer' };
  if (!mirror.enabled) return { connected: false, phase1: 'peer tunnel disabled' };
  const since = Math.max(endpoint.changedAt, back.changedAt, tunnel.changedAt, mirror.changedAt, ctl.world.fabric.pathSince(ctl, remote));
  if (Date.now() < since + ctl.world.timings.peerLinkUpMs) return { connected: false, phase1: 'connecting' };
  return { connected: true, phase1: 'established' };
}

/**
 * Every tunnel of the controller with its state; records a change of state in the link history
 * (the history is what was observed, read by read, as a controller's log is what it noticed).
 */
export function observeTunnels(ctl: SimController): Array<{ endpoint: IpsecEndpointEntry; tunnel: IpsecTunnelEntry; state: TunnelState }> {
  const out: Array<{ endpoint: IpsecEndpointEntry; tunnel: IpsecTunnelEntry; state: TunnelState }> = [];
  const state = ctl.ipsec;
  for (const endpoint of state.endpoints.values()) {
    for (const tunnel of endpoint.tunnels.values()) {
      const s = tunnelState(ctl, endpoint, tunnel);
      const before = state.lastSeen.get(tunnel.id);
      if (before !== s.connected && (before !== undefined || s.connected)) {
        state.history.push({
          tunnelId: tunnel.id,
          local: tunnel.localSubnet,
          remote: tunnel.remoteSubnet,
          event: s.connected ? 'up' : `down: ${s.phase1}`,
          atS: Math.floor(Date.now() / 1000),
        });
        if (state.history.length > 1000) state.history.splice(0, state.history.length - 1000);
      }
      state.lastSeen.set(tunnel.id, s.connected);
      out.push({ endpoint, tunnel, state: s });
    }
  }
  return out;
}

/** The route-table id of the route an up tunnel installs (far above local and mesh-learned ids). */
export const IPSEC_ROUTE_ID_BASE = 200_000;

/**
 * Routes that exist while tunnels are up: a policy-based tunnel's remote subnet through the
 * tunnel, and a VTI's /30 on its interface. `GET /routes` shows them (not editable).
 */
export function ipsecRoutes(ctl: SimController): Array<{ id: number; cidr: string; interface: string; description: string; tunnel: number }> {
  const out: Array<{ id: number; cidr: string; interface: string; description: string; tunnel: number }> = [];
  for (const { endpoint, tunnel, state } of observeTunnels(ctl)) {
    if (!state.connected) continue;
    if (endpoint.vpnType === 'vti') {
      const cidr = vtiNetwork(endpoint.routeBasedIntAddress);
      if (cidr) out.push({ id: IPSEC_ROUTE_ID_BASE + tunnel.id, cidr, interface: `vti${tunnel.id}`, description: `VTI of IPsec endpoint ${endpoint.name}`, tunnel: tunnel.id });
      continue;
    }
    out.push({ id: IPSEC_ROUTE_ID_BASE + tunnel.id, cidr: tunnel.remoteSubnet, interface: 'ipsec', description: `IPsec tunnel to ${endpoint.name}`, tunnel: tunnel.id });
  }
  return out;
}

/** The network of a VTI address such as 169.254.0.1/30 (undefined when it is not one). */
export function vtiNetwork(address: string): string | undefined {
  return isCidr(address.trim()) ? normalizeCidr(address.trim()) : undefined;
}
