import type { SimController } from '../controller.js';
import { MESSAGES, SimApiError } from '../errors.js';
import type { BgpPeerEntry, IpsecEndpointEntry, IpsecTrafficPairEntry, IpsecTunnelEntry, TunnelState } from '../ipsec-state.js';
import { tunnelState, vtiNetwork } from '../ipsec-tunnels.js';

/** What the IPsec and BGP operations answer, and the checks they share. */

export const DEFAULT_OVERLAY_SUBNET = '100.127.255.192/26';

export const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

/** Writes need a licensed controller (400, the status the reference lists for these operations). */
export function requireLicensed(ctl: SimController, status = 400): void {
  if (!ctl.licensed) throw new SimApiError(status, MESSAGES.mustBeLicensed, 'PrerequisiteError');
}

/** A CIDR as the controller checks it; the message is the reference's (`local_subnet is invalid CIDR`). */
export function cidrField(field: string, value: unknown, status = 400): string {
  const text = str(value).trim();
  if (!vtiNetwork(text)) throw new SimApiError(status, `${field} is invalid CIDR`, 'APIArgumentError');
  return text;
}

export function endpointParam(ctl: SimController, raw: string | undefined, status = 400): IpsecEndpointEntry {
  const endpoint = ctl.ipsec.endpoints.get(Number(raw));
  if (!endpoint) throw new SimApiError(status, 'endpoint_id does not exist', status === 404 ? 'APINotFoundError' : 'APIArgumentError');
  return endpoint;
}

export function tunnelView(ctl: SimController, endpoint: IpsecEndpointEntry, tunnel: IpsecTunnelEntry, state?: TunnelState, bounce = false): Record<string, unknown> {
  const s = state ?? tunnelState(ctl, endpoint, tunnel);
  return {
    id: tunnel.id,
    local_subnet: tunnel.localSubnet,
    remote_subnet: tunnel.remoteSubnet,
    endpointid: endpoint.id,
    endpoint_id: endpoint.id,
    endpoint_name: endpoint.name,
    enabled: tunnel.enabled,
    active: s.connected,
    description: tunnel.description,
    bounce,
    connected: s.connected,
    ping_interface: tunnel.pingInterface,
    ping_interval: tunnel.pingInterval,
    ping_ipaddress: tunnel.pingIpaddress,
    tunnel_params: {
      phase1: s.phase1,
      phase2: s.connected ? 'installed' : '',
      ike_version: `IKEv${endpoint.ikeVersion}`,
      nat_t: endpoint.natT ? 'yes' : 'no',
      pfs_dh_group: endpoint.pfs ? 'MODP_2048' : null,
    },
  };
}

export function pairView(endpoint: IpsecEndpointEntry, p: IpsecTrafficPairEntry): Record<string, unknown> {
  return {
    id: p.id,
    local_subnet: p.localSubnet,
    remote_subnet: p.remoteSubnet,
    enabled: p.enabled,
    description: p.description,
    ping_ipaddress: p.pingIpaddress,
    ping_interface: p.pingInterface,
    ping_interval: p.pingInterval,
    ipsec_endpoint_id: endpoint.id,
    endpoint_id: endpoint.id,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

export function endpointView(ctl: SimController, e: IpsecEndpointEntry): Record<string, unknown> {
  const tunnels: Record<string, unknown> = {};
  for (const t of e.tunnels.values()) tunnels[String(t.id)] = tunnelView(ctl, e, t);
  const pairs: Record<string, unknown> = {};
  for (const p of e.trafficPairs.values()) pairs[String(p.id)] = pairView(e, p);
  const peers: Record<string, unknown> = {};
  for (const b of e.bgpPeers.values()) peers[String(b.id)] = bgpPeerView(ctl, e, b);
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    ipaddress: e.ipaddress,
    pfs: e.pfs,
    ike_version: e.ikeVersion,
    nat_t_enabled: e.natT,
    private_ipaddress: e.privateIpaddress,
    extra_config: e.extraConfig,
    type: e.vpnType === 'gre' ? 'gre' : 'ipsec',
    vpn_type: e.vpnType,
    gre_interface_address: e.greInterfaceAddress,
    route_based_int_address: e.routeBasedIntAddress,
    route_based_local: e.routeBasedLocal,
    route_based_remote: e.routeBasedRemote,
    psk: e.secret,
    tunnels,
    traffic_pairs: pairs,
    bgp_peers: peers,
  };
}

export function systemView(ctl: SimController): Record<string, unknown> {
  const remote: Record<string, unknown> = {};
  for (const e of ctl.ipsec.endpoints.values()) remote[String(e.id)] = endpointView(ctl, e);
  return {
    this_endpoint: {
      ipaddress: ctl.identity.publicIp,
      private_ipaddress: ctl.identity.privateIp,
      ipsec_local_ipaddress: ctl.ipsec.localAddress || ctl.identity.privateIp,
      overlay_subnet: ctl.license.params?.subnet ?? (ctl.licensed ? DEFAULT_OVERLAY_SUBNET : null),
      nat_traversal: true,
      asn: ctl.identity.asn,
    },
    remote_endpoints: remote,
  };
}

export function bgpPeerView(ctl: SimController, endpoint: IpsecEndpointEntry, peer: BgpPeerEntry): Record<string, unknown> {
  return {
    id: peer.id,
    ipaddress: peer.ipaddress,
    asn: peer.asn,
    local_asn_alias: peer.localAsnAlias,
    access_list: peer.accessList,
    bgp_password: peer.password,
    add_network_distance: peer.addNetworkDistance,
    add_network_distance_direction: peer.addNetworkDistanceDirection,
    add_network_distance_hops: peer.addNetworkDistanceHops,
    keepalive_interval: peer.keepaliveInterval,
    hold_time: peer.holdTime,
    connection_detail: bgpSessionState(ctl, endpoint, peer),
  };
}

/**
 * A session is `Established` while one of the endpoint's tunnels is up and the remote controller
 * has an eBGP peer on its endpoint back to us with our ASN and the same password; else `Active`
 * (BGP keeps trying). Routes are not exchanged by the simulator (see the README).
 */
function bgpSessionState(ctl: SimController, endpoint: IpsecEndpointEntry, peer: BgpPeerEntry): string {
  const up = [...endpoint.tunnels.values()].some((t) => tunnelState(ctl, endpoint, t).connected);
  if (!up) return 'Active';
  const remote = ctl.world.fabric.resolve(endpoint.ipaddress) as SimController | undefined;
  const back = remote ? [...remote.ipsec.endpoints.values()].find((e) => e.ipaddress === ctl.identity.publicIp) : undefined;
  const ourAsn = peer.localAsnAlias ?? ctl.identity.asn;
  const mirrored = back && [...back.bgpPeers.values()].some((p) => p.asn === ourAsn && p.password === peer.password);
  return mirrored && remote?.identity.asn === peer.asn ? 'Established' : 'Active';
}
