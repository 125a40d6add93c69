/**
 * A simulated controller's IPsec configuration: remote endpoints with their tunnels, traffic pairs
 * and eBGP peers, and the link history observed so far. Whether a tunnel is up is computed from
 * this and the other controllers' state in ./ipsec-tunnels.ts.
 */
/** What a policy tunnel and a traffic pair share: a subnet pair with its keepalive ping. */
interface IpsecSubnetPairEntry {
  id: number;
  localSubnet: string;
  remoteSubnet: string;
  enabled: boolean;
  description: string;
  pingIpaddress: string;
  pingInterval: number | null;
  pingInterface: string;
}

export interface IpsecTunnelEntry extends IpsecSubnetPairEntry {
  /** Epoch ms of the last change that makes IKE renegotiate (creation, edit, bounce). */
  changedAt: number;
}

export interface IpsecTrafficPairEntry extends IpsecSubnetPairEntry {
  createdAt: string;
  updatedAt: string;
}

export interface BgpPeerEntry {
  id: number;
  ipaddress: string;
  asn: number;
  localAsnAlias: number | null;
  accessList: string;
  /** Kept to compare with the neighbour's; shown only where the reference shows it. */
  password: string;
  addNetworkDistance: boolean;
  addNetworkDistanceDirection: string;
  addNetworkDistanceHops: number;
  keepaliveInterval: number;
  holdTime: number;
}

export type VpnType = 'policy' | 'gre' | 'vti';

export interface IpsecEndpointEntry {
  id: number;
  name: string;
  description: string;
  /** The remote gateway's public address. */
  ipaddress: string;
  /** The pre-shared key: compared with the remote's, never logged. */
  secret: string;
  pfs: boolean;
  ikeVersion: 1 | 2;
  natT: boolean;
  extraConfig: string[];
  privateIpaddress: string;
  vpnType: VpnType;
  gre: boolean;
  greInterfaceAddress: string;
  routeBasedIntAddress: string;
  routeBasedLocal: string;
  routeBasedRemote: string;
  /** Epoch ms of the last change of the endpoint's connection settings. */
  changedAt: number;
  readonly tunnels: Map<number, IpsecTunnelEntry>;
  readonly trafficPairs: Map<number, IpsecTrafficPairEntry>;
  readonly bgpPeers: Map<number, BgpPeerEntry>;
}

/** One observed change of a tunnel's state. */
export interface IpsecLinkEvent {
  tunnelId: number;
  local: string;
  remote: string;
  event: string;
  atS: number;
}

/** What a tunnel is doing right now. */
export interface TunnelState {
  connected: boolean;
  /** `established`, or why not, in the words of an IPsec log. */
  phase1: string;
}

/** The IPsec side of one controller: endpoints with their tunnels, pairs and eBGP peers, and the link history. */
export class IpsecState {
  readonly endpoints = new Map<number, IpsecEndpointEntry>();
  /** Tunnel ids are unique across the controller's endpoints (routes name a tunnel by id alone). */
  nextTunnelId = 1;
  nextEndpointId = 1;
  nextPairId = 1;
  nextBgpPeerId = 1;
  localAddress = '';
  readonly history: IpsecLinkEvent[] = [];
  /** The last state seen per tunnel, so that the history records changes only. */
  readonly lastSeen = new Map<number, boolean>();

  /** The endpoint and tunnel of a tunnel id. */
  findTunnel(id: number): { endpoint: IpsecEndpointEntry; tunnel: IpsecTunnelEntry } | undefined {
    for (const endpoint of this.endpoints.values()) {
      const tunnel = endpoint.tunnels.get(id);
      if (tunnel) return { endpoint, tunnel };
    }
    return undefined;
  }

  /** Subnets and pairs counted against the license's `ipsec_max_subnets`. */
  subnetCount(): number {
    let n = 0;
    for (const e of this.endpoints.values()) n += e.tunnels.size + e.trafficPairs.size;
    return n;
  }
}

/** The most subnets (tunnels plus traffic pairs) a simulated license allows (its `ipsec_max_subnets`). */
export const IPSEC_MAX_SUBNETS = 64;

