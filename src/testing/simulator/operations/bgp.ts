import { isIP } from 'node:net';
import { badRequest } from '../errors.js';
import type { BgpPeerEntry, IpsecEndpointEntry } from '../ipsec-state.js';
import { bgpPeerView, endpointParam, endpointView, requireLicensed, str } from './ipsec-views.js';
import type { OperationTable } from './types.js';

type Body = Record<string, unknown>;

function peerParam(endpoint: IpsecEndpointEntry, raw: string | undefined): BgpPeerEntry {
  const peer = endpoint.bgpPeers.get(Number(raw));
  if (!peer) throw badRequest('bgp_peer does not exist');
  return peer;
}

/** The peer's settings from a body over `base`, checked with the reference's messages (`asn is invalid`). */
function peerSettings(b: Body, base?: BgpPeerEntry): Omit<BgpPeerEntry, 'id'> {
  const ipaddress = str(b.ipaddress).trim();
  if (!isIP(ipaddress)) throw badRequest('ipaddress is invalid');
  const asn = b.asn as number;
  if (!Number.isInteger(asn) || asn < 1 || asn > 4_294_967_295) throw badRequest('asn is invalid');
  const hops = b.add_network_distance_hops === undefined ? (base?.addNetworkDistanceHops ?? 0) : (b.add_network_distance_hops as number);
  if (hops > 255) throw badRequest('add_network_distance_hops is invalid');
  return {
    ipaddress,
    asn,
    localAsnAlias: b.local_asn_alias === undefined ? (base?.localAsnAlias ?? null) : (b.local_asn_alias as number),
    accessList: b.access_list === undefined ? (base?.accessList ?? '') : str(b.access_list),
    password: b.bgp_password === undefined ? (base?.password ?? '') : str(b.bgp_password),
    addNetworkDistance: b.add_network_distance === undefined ? (base?.addNetworkDistance ?? false) : b.add_network_distance === true,
    addNetworkDistanceDirection: b.add_network_distance_direction === undefined ? (base?.addNetworkDistanceDirection ?? 'in') : str(b.add_network_distance_direction),
    addNetworkDistanceHops: hops,
    keepaliveInterval: b.keepalive_interval === undefined ? (base?.keepaliveInterval ?? 10) : (b.keepalive_interval as number),
    holdTime: b.hold_time === undefined ? (base?.holdTime ?? 30) : (b.hold_time as number),
  };
}

function checkUnique(endpoint: IpsecEndpointEntry, ipaddress: string, self?: BgpPeerEntry): void {
  for (const p of endpoint.bgpPeers.values()) {
    if (p !== self && p.ipaddress === ipaddress) throw badRequest(`A BGP peer at ${ipaddress} already exists on endpoint ${endpoint.id}.`);
  }
}

/** eBGP peers on an IPsec endpoint (the reference's "BGP" area). */
export const bgpOperations: OperationTable = {
  'POST /ipsec/endpoints/{endpoint_id}/ebgp_peers': ({ ctl, params, body }) => {
    requireLicensed(ctl);
    const endpoint = endpointParam(ctl, params.endpoint_id);
    const settings = peerSettings(body as Body);
    checkUnique(endpoint, settings.ipaddress);
    const id = ctl.ipsec.nextBgpPeerId++;
    endpoint.bgpPeers.set(id, { id, ...settings });
    return endpointView(ctl, endpoint);
  },

  'GET /ipsec/endpoints/{endpoint_id}/ebgp_peers/{bgp_peer_id}': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id);
    return bgpPeerView(ctl, endpoint, peerParam(endpoint, params.bgp_peer_id));
  },

  'PUT /ipsec/endpoints/{endpoint_id}/ebgp_peers/{bgp_peer_id}': ({ ctl, params, body }) => {
    requireLicensed(ctl);
    const endpoint = endpointParam(ctl, params.endpoint_id);
    const peer = peerParam(endpoint, params.bgp_peer_id);
    const settings = peerSettings(body as Body, peer);
    checkUnique(endpoint, settings.ipaddress, peer);
    Object.assign(peer, settings);
    return endpointView(ctl, endpoint);
  },

  'DELETE /ipsec/endpoints/{endpoint_id}/ebgp_peers/{bgp_peer_id}': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id);
    endpoint.bgpPeers.delete(peerParam(endpoint, params.bgp_peer_id).id);
    return endpointView(ctl, endpoint);
  },
};
