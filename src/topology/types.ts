/**
 * The topology as the rest of the layer uses it: every reference filled in, every default applied,
 * names checked against each other, secrets wrapped. `loadTopology` makes one from a file.
 */
import type { ContainerSpec, ImageSpec, LicenseParametersInput, PeerAddressKind, RouteSpec } from '../macros/index.js';
import type { Secret } from './secret.js';

/** How the SDK connects to one controller. */
export interface TopologyConnection {
  username?: string;
  password?: Secret;
  apiToken?: Secret;
  fingerprint256?: string;
  /** PEM file of the CA that signed the controller's certificate. */
  caFile?: string;
  insecure?: boolean;
  timeoutMs?: number;
}

/** A desired container, and whether a differing one of that name may be replaced. */
export interface TopologyContainer extends ContainerSpec {
  replace?: boolean;
}

/** One controller of the topology. */
export interface TopologyController {
  name: string;
  host: string;
  subnet: string;
  cloud?: string;
  /** Peering id: given, else its position (1-based). */
  peerId: number;
  connection: TopologyConnection;
  /** Extra routes, added where missing (never removed). */
  routes: RouteSpec[];
  /** The whole firewall policy; undefined: the firewall is not managed. */
  firewall?: string[];
  images: ImageSpec[];
  containers: TopologyContainer[];
}

/** The peering of the topology. */
export interface TopologyPeering {
  /** `full`: every pair; `map`: only `links`. */
  mode: 'full' | 'map';
  /** Every peered pair of controller names, each pair once, in file order. */
  links: [string, string][];
  address: PeerAddressKind;
  mtu?: number;
  peerRoutes: boolean;
  advertiseSubnets: boolean;
  removeExtra: boolean;
}

/** An HA pair: the HA plugin on a primary and a secondary (`deployHaPlugin`). */
export interface TopologyHaPair {
  primary: string;
  secondary: string;
  cloud: 'aws' | 'azure' | 'overlay';
  image: ImageSpec;
  vpcCidr?: string;
  sleepTime?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  containerName?: string;
  pluginIp?: string;
  extraEnv?: Record<string, string>;
  replace?: boolean;
}

/** An IPsec bridge between two controllers of the file (`bridgeControllers`). */
export interface TopologyBridge {
  /** Name of the endpoint on both sides. */
  name: string;
  /** Controller names of the two sides. */
  a: string;
  b: string;
  psk: Secret;
  ikeVersion?: 1 | 2;
  /** Networks behind each side (default: the controller's subnet), routed into the tunnel on the other side. */
  networks: { a: string[]; b: string[] };
  advertise: boolean;
  vtiPool?: string;
}

/** A whole topology, ready to plan, apply or read. */
export interface Topology {
  /** The file it was loaded from. */
  file: string;
  /** Topology name set on the root. */
  name?: string;
  /** Name of the root controller (license, keyset generation). */
  root: string;
  license: { text: Secret; parameters: LicenseParametersInput };
  keysetToken: Secret;
  controllers: TopologyController[];
  peering: TopologyPeering;
  ha: TopologyHaPair[];
  /** IPsec bridges, built after the mesh. */
  bridges: TopologyBridge[];
  /** Every secret value the topology holds, for redacting output; not enumerable, so never serialised. */
  readonly secrets: readonly string[];
}
