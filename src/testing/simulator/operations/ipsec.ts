import { isIP } from 'node:net';
import type { SimController } from '../controller.js';
import { SimApiError, badRequest } from '../errors.js';
import {
  IPSEC_MAX_SUBNETS,
  type IpsecEndpointEntry,
  type IpsecTrafficPairEntry,
  type IpsecTunnelEntry,
  type VpnType,
} from '../ipsec-state.js';
import { observeTunnels, vtiNetwork } from '../ipsec-tunnels.js';
import { bgpOperations } from './bgp.js';
import { DEFAULT_OVERLAY_SUBNET, cidrField, endpointParam, endpointView, pairView, requireLicensed, str, systemView, tunnelView } from './ipsec-views.js';
import { connectedSubnets, linkHistory } from './ipsec-status.js';
import type { OperationTable } from './types.js';

const ANY = '0.0.0.0/0';

type Body = Record<string, unknown>;

const now = (): number => Date.now();

function tunnelParam(endpoint: IpsecEndpointEntry, raw: string | undefined): IpsecTunnelEntry {
  const tunnel = endpoint.tunnels.get(Number(raw));
  if (!tunnel) throw badRequest('tunnel id does not exist');
  return tunnel;
}

function pairParam(endpoint: IpsecEndpointEntry, raw: string | undefined, status: number): IpsecTrafficPairEntry {
  const pair = endpoint.trafficPairs.get(Number(raw));
  if (!pair) throw new SimApiError(status, 'traffic pair id does not exist', status === 404 ? 'APINotFoundError' : 'APIArgumentError');
  return pair;
}

/** `extra_config` is sent as one string of whitespace-separated options and shown as a list. */
const extraConfigOf = (v: unknown): string[] => str(v).split(/\s+/).filter((s) => s.length > 0);

/** The endpoint's settings from a create or update body, over `base`; checked as the controller checks them. */
function endpointSettings(ctl: SimController, b: Body, base?: IpsecEndpointEntry): Omit<IpsecEndpointEntry, 'id' | 'tunnels' | 'trafficPairs' | 'bgpPeers' | 'changedAt'> {
  const ipaddress = b.ipaddress === undefined ? (base?.ipaddress ?? '') : str(b.ipaddress).trim();
  if (!isIP(ipaddress)) throw badRequest('ipaddress is invalid');
  const vpnType = (b.vpn_type as VpnType | undefined) ?? base?.vpnType ?? 'policy';
  if (base && vpnType !== base.vpnType) throw badRequest('vpn_type cannot be changed; delete the endpoint and create it again.');
  const routeBasedIntAddress = b.route_based_int_address === undefined ? (base?.routeBasedIntAddress ?? '') : str(b.route_based_int_address).trim();
  if (vpnType === 'vti' && !vtiNetwork(routeBasedIntAddress)) throw badRequest('route_based_int_address is invalid');
  const routeBasedLocal = b.route_based_local === undefined ? (base?.routeBasedLocal || (vpnType === 'vti' ? ANY : '')) : cidrField('route_based_local', b.route_based_local);
  const routeBasedRemote = b.route_based_remote === undefined ? (base?.routeBasedRemote || (vpnType === 'vti' ? ANY : '')) : cidrField('route_based_remote', b.route_based_remote);
  const name = b.name === undefined ? (base?.name ?? '') : str(b.name).trim();
  if (!name) throw badRequest('name is invalid');
  for (const other of ctl.ipsec.endpoints.values()) {
    if (other === base) continue;
    // Our choice (the reference is silent): names and remote addresses identify an endpoint.
    if (other.name === name) throw badRequest(`An endpoint named ${name} already exists.`);
    if (other.ipaddress === ipaddress) throw badRequest(`An endpoint for ${ipaddress} already exists.`);
  }
  return {
    name,
    description: b.description === undefined ? (base?.description ?? '') : str(b.description),
    ipaddress,
    secret: b.secret === undefined ? (base?.secret ?? '') : str(b.secret),
    pfs: b.pfs === undefined ? (base?.pfs ?? true) : b.pfs === true,
    ikeVersion: (b.ike_version as 1 | 2 | undefined) ?? base?.ikeVersion ?? 1,
    natT: b.nat_t_enabled === undefined ? (base?.natT ?? true) : b.nat_t_enabled === true,
    extraConfig: b.extra_config === undefined ? (base?.extraConfig ?? []) : extraConfigOf(b.extra_config),
    privateIpaddress: b.private_ipaddress === undefined ? (base?.privateIpaddress ?? '') : str(b.private_ipaddress),
    vpnType,
    gre: b.gre === undefined ? (base?.gre ?? vpnType === 'gre') : b.gre === true,
    greInterfaceAddress: b.gre_interface_address === undefined ? (base?.greInterfaceAddress ?? '') : str(b.gre_interface_address),
    routeBasedIntAddress,
    routeBasedLocal,
    routeBasedRemote,
  };
}

function newTunnel(ctl: SimController, b: Body, defaults: { local: string; remote: string }): IpsecTunnelEntry {
  if (ctl.ipsec.subnetCount() >= IPSEC_MAX_SUBNETS) throw new SimApiError(403, 'Max number of tunnels reached.', 'PermissionDenied');
  return {
    id: ctl.ipsec.nextTunnelId++,
    localSubnet: b.local_subnet === undefined ? defaults.local : cidrField('local_subnet', b.local_subnet),
    remoteSubnet: b.remote_subnet === undefined ? defaults.remote : cidrField('remote_subnet', b.remote_subnet),
    enabled: b.enabled !== false,
    description: str(b.description),
    pingIpaddress: str(b.ping_ipaddress),
    pingInterval: typeof b.ping_interval === 'number' ? b.ping_interval : null,
    pingInterface: str(b.ping_interface, 'eth0'),
    changedAt: now(),
  };
}

function overlaySubnet(ctl: SimController): string {
  return ctl.license.params?.subnet ?? DEFAULT_OVERLAY_SUBNET;
}

function applyPairFields(p: IpsecTrafficPairEntry, b: Body, status: number): void {
  if (b.local_subnet !== undefined) p.localSubnet = cidrField('local_subnet', b.local_subnet, status);
  if (b.remote_subnet !== undefined) p.remoteSubnet = cidrField('remote_subnet', b.remote_subnet, status);
  if (b.enabled !== undefined) p.enabled = b.enabled === true;
  if (b.description !== undefined) p.description = str(b.description);
  if (b.ping_ipaddress !== undefined) p.pingIpaddress = str(b.ping_ipaddress);
  if (b.ping_interface !== undefined) p.pingInterface = str(b.ping_interface);
  if (b.ping_interval !== undefined) p.pingInterval = typeof b.ping_interval === 'number' ? b.ping_interval : null;
  p.updatedAt = new Date().toISOString();
}

const endpointOperations: OperationTable = {
  'GET /ipsec': ({ ctl }) => systemView(ctl),

  'POST /ipsec': ({ ctl, body }) => {
    const restart = (body as { restart: boolean }).restart === true;
    // A restart renegotiates every tunnel: each comes back after the link-up delay.
    if (restart) for (const e of ctl.ipsec.endpoints.values()) e.changedAt = now();
    return { restart };
  },

  'PUT /ipsec': ({ ctl, body }) => {
    requireLicensed(ctl);
    const address = str((body as Body).ipsec_local_ipaddress).trim();
    if (!isIP(address)) throw badRequest('ipsec_local_address is invalid');
    if (ctl.ipsec.endpoints.size > 0 && address !== ctl.ipsec.localAddress) {
      throw badRequest('ipsec_local_ipaddress cannot be changed while remote endpoints are defined.');
    }
    ctl.ipsec.localAddress = address;
    return systemView(ctl);
  },

  'POST /ipsec/endpoints': ({ ctl, body }) => {
    requireLicensed(ctl);
    const settings = endpointSettings(ctl, body as Body);
    const endpoint: IpsecEndpointEntry = { ...settings, id: ctl.ipsec.nextEndpointId++, changedAt: now(), tunnels: new Map(), trafficPairs: new Map(), bgpPeers: new Map() };
    // A route-based endpoint has exactly one tunnel, its VTI, from the start (the Python SDK routes to it by id).
    if (endpoint.vpnType === 'vti') {
      const vti = newTunnel(ctl, {}, { local: endpoint.routeBasedLocal, remote: endpoint.routeBasedRemote });
      endpoint.tunnels.set(vti.id, vti);
    }
    ctl.ipsec.endpoints.set(endpoint.id, endpoint);
    return endpointView(ctl, endpoint);
  },

  'GET /ipsec/endpoints/{endpoint_id}': ({ ctl, params }) => endpointView(ctl, endpointParam(ctl, params.endpoint_id)),

  'PUT /ipsec/endpoints/{endpoint_id}': ({ ctl, params, body }) => {
    requireLicensed(ctl);
    const endpoint = endpointParam(ctl, params.endpoint_id);
    Object.assign(endpoint, endpointSettings(ctl, body as Body, endpoint), { changedAt: now() });
    if (endpoint.vpnType === 'vti') {
      for (const t of endpoint.tunnels.values()) Object.assign(t, { localSubnet: endpoint.routeBasedLocal, remoteSubnet: endpoint.routeBasedRemote });
    }
    return endpointView(ctl, endpoint);
  },

  'DELETE /ipsec/endpoints/{endpoint_id}': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id);
    ctl.ipsec.endpoints.delete(endpoint.id);
    return systemView(ctl);
  },
};

const tunnelOperations: OperationTable = {
  'POST /ipsec/endpoints/{endpoint_id}/tunnels': ({ ctl, params, body }) => {
    requireLicensed(ctl);
    const endpoint = endpointParam(ctl, params.endpoint_id);
    if (endpoint.vpnType === 'vti') throw badRequest('A route-based (vti) endpoint has one tunnel; route traffic to it instead.');
    const tunnel = newTunnel(ctl, body as Body, { local: overlaySubnet(ctl), remote: '' });
    for (const t of endpoint.tunnels.values()) {
      if (t.localSubnet === tunnel.localSubnet && t.remoteSubnet === tunnel.remoteSubnet) {
        ctl.ipsec.nextTunnelId--;
        throw badRequest('tunnel already exists');
      }
    }
    endpoint.tunnels.set(tunnel.id, tunnel);
    return endpointView(ctl, endpoint);
  },

  'PUT /ipsec/endpoints/{endpoint_id}/tunnels/{tunnel_id}': ({ ctl, params, body }) => {
    requireLicensed(ctl);
    const endpoint = endpointParam(ctl, params.endpoint_id);
    const tunnel = tunnelParam(endpoint, params.tunnel_id);
    const b = body as Body;
    const local = b.local_subnet === undefined ? tunnel.localSubnet : cidrField('local_subnet', b.local_subnet);
    const remote = b.remote_subnet === undefined ? tunnel.remoteSubnet : cidrField('remote_subnet', b.remote_subnet);
    Object.assign(tunnel, {
      localSubnet: local,
      remoteSubnet: remote,
      enabled: b.enabled === undefined ? tunnel.enabled : b.enabled === true,
      description: b.description === undefined ? tunnel.description : str(b.description),
      pingIpaddress: b.ping_ipaddress === undefined ? tunnel.pingIpaddress : str(b.ping_ipaddress),
      pingInterface: b.ping_interface === undefined ? tunnel.pingInterface : str(b.ping_interface),
      pingInterval: b.ping_interval === undefined ? tunnel.pingInterval : (b.ping_interval as number),
      changedAt: now(),
    });
    return tunnelView(ctl, endpoint, tunnel, undefined, b.bounce === true);
  },

  'DELETE /ipsec/endpoints/{endpoint_id}/tunnels/{tunnel_id}': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id);
    endpoint.tunnels.delete(tunnelParam(endpoint, params.tunnel_id).id);
    return endpointView(ctl, endpoint);
  },
};

// The reference answers an unknown endpoint with 404 on the traffic-pair operations, and lists
// 403 (not 400) for a prerequisite there.
const pairOperations: OperationTable = {
  'POST /ipsec/endpoints/{endpoint_id}/traffic_pairs': ({ ctl, params, body }) => {
    requireLicensed(ctl, 403);
    const endpoint = endpointParam(ctl, params.endpoint_id, 404);
    if (ctl.ipsec.subnetCount() >= IPSEC_MAX_SUBNETS) throw new SimApiError(403, 'Max number of tunnels reached.', 'PermissionDenied');
    const at = new Date().toISOString();
    const pair: IpsecTrafficPairEntry = {
      id: ctl.ipsec.nextPairId++,
      localSubnet: '',
      remoteSubnet: '',
      enabled: true,
      description: '',
      pingIpaddress: '',
      pingInterval: null,
      pingInterface: 'eth0',
      createdAt: at,
      updatedAt: at,
    };
    applyPairFields(pair, body as Body, 400);
    endpoint.trafficPairs.set(pair.id, pair);
    return pairView(endpoint, pair);
  },

  'PUT /ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}': ({ ctl, params, body }) => {
    requireLicensed(ctl, 403);
    const endpoint = endpointParam(ctl, params.endpoint_id, 404);
    const pair = pairParam(endpoint, params.pair_id, 404);
    applyPairFields(pair, body as Body, 400);
    return pairView(endpoint, pair);
  },

  'PUT /ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}/enable': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id, 404);
    const pair = pairParam(endpoint, params.pair_id, 404);
    applyPairFields(pair, { enabled: true }, 403);
    return pairView(endpoint, pair);
  },

  'PUT /ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}/disable': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id, 404);
    const pair = pairParam(endpoint, params.pair_id, 404);
    applyPairFields(pair, { enabled: false }, 403);
    return pairView(endpoint, pair);
  },

  'DELETE /ipsec/endpoints/{endpoint_id}/traffic_pairs/{pair_id}': ({ ctl, params }) => {
    const endpoint = endpointParam(ctl, params.endpoint_id);
    const pair = pairParam(endpoint, params.pair_id, 400);
    endpoint.trafficPairs.delete(pair.id);
    return pairView(endpoint, pair);
  },
};

const statusOperations: OperationTable = {
  'GET /status/ipsec': ({ ctl, query }) => {
    const upDownOnly = /^true$/i.test(query.get('up_down_status_only') ?? '');
    const out: Record<string, unknown> = {};
    for (const { endpoint, tunnel, state } of observeTunnels(ctl)) {
      out[String(tunnel.id)] = upDownOnly
        ? { id: tunnel.id, endpoint_id: endpoint.id, endpoint_name: endpoint.name, enabled: tunnel.enabled, connected: state.connected }
        : tunnelView(ctl, endpoint, tunnel, state);
    }
    return out;
  },
  'GET /status/link_history': ({ ctl, query }) => linkHistory(ctl, query),
  'GET /status/connected_subnets': ({ ctl, query }) => connectedSubnets(ctl, /^true$/i.test(query.get('extended_output') ?? '')),
};

/** IPsec endpoints, tunnels, traffic pairs, eBGP peers and IPsec status, keyed as in the spec. */
export const ipsecOperations: OperationTable = {
  ...endpointOperations,
  ...tunnelOperations,
  ...pairOperations,
  ...statusOperations,
  ...bgpOperations,
};
