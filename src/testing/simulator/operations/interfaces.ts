import { intToIp, ipToInt, parseCidr } from '../../../net/index.js';
import type { SimController } from '../controller.js';
import { notFound } from '../errors.js';
import type { OperationTable } from './types.js';

/** The license's overlay subnet, or the default one a fresh controller would get. */
const DEFAULT_OVERLAY_SUBNET = '100.127.255.192/26';

interface InterfaceView {
  id: number;
  name: string;
  interface_type: string;
  description: string;
  ip_internal: string | null;
  ip_external: string | null;
  mtu: number;
  enabled: boolean;
  status: 'Up' | 'Down';
  mask_bits: string | null;
  gateway: string | null;
  system_default: boolean;
  tags: string[];
}

const auto = 'Auto-created interface';

/**
 * The interfaces of a controller, from its identity and state: the cloud adapter eth0 (private and
 * public address, the subnet gateway), lo, the IPsec loopback alias eth0:0, the overlay interface
 * tun0 (this controller's overlay address; up once licensed with a keyset) and the plugin bridge
 * plugin0 (first address of the container network; up while the container system runs). Ids are
 * fixed so that `GET /interfaces/system/{id}` works across calls and restarts.
 */
export function interfacesOf(ctl: SimController): InterfaceView[] {
  const { identity } = ctl;
  const subnet = parseCidr(identity.subnet);
  const mtu = identity.cloudType === 'ec2' ? 9001 : 1500;
  const overlay = parseCidr(ctl.license.params?.subnet ?? DEFAULT_OVERLAY_SUBNET);
  const plugin = parseCidr(ctl.containerSystem.network);
  const base = { description: auto, system_default: true, enabled: true, tags: [] as string[], ip_external: null, gateway: null };
  const list: InterfaceView[] = [
    {
      ...base,
      id: 1,
      name: 'eth0',
      interface_type: 'system',
      ip_internal: identity.privateIp,
      ip_external: identity.publicIp,
      mtu,
      status: 'Up',
      mask_bits: String(subnet.prefix),
      gateway: intToIp(ipToInt(subnet.network) + 1),
    },
    { ...base, id: 2, name: 'lo', interface_type: 'system', ip_internal: '127.0.0.1', mtu: 65536, status: 'Up', mask_bits: '8' },
  ];
  // The IPsec loopback sits on an address of the local subnet the cloud does not hand out (.230 of a /24).
  if (subnet.prefix <= 24) {
    list.push({
      ...base,
      id: 3,
      name: 'eth0:0',
      interface_type: 'system',
      description: 'This interface used as IPsec loopback via Local Private IP',
      ip_internal: intToIp(ipToInt(subnet.network) + 230),
      mtu,
      status: 'Up',
      mask_bits: '31',
    });
  }
  list.push(
    {
      ...base,
      id: 4,
      name: 'tun0',
      interface_type: 'system_virtual',
      description: 'Overlay network interface',
      ip_internal: identity.overlayIp,
      mtu: 1500,
      status: ctl.licensed && ctl.keyset.present ? 'Up' : 'Down',
      mask_bits: String(overlay.prefix),
    },
    {
      ...base,
      id: 5,
      name: 'plugin0',
      interface_type: 'system_virtual',
      system_default: false,
      ip_internal: intToIp(ipToInt(plugin.network) + 1),
      mtu: 1500,
      status: ctl.containerSystem.running ? 'Up' : 'Down',
      mask_bits: String(plugin.prefix),
    },
  );
  return list;
}

/** An interface by id (`1`) or name (`eth0`); 404 when there is none. */
function interfaceParam(ctl: SimController, raw: string | undefined): InterfaceView {
  const key = raw ?? '';
  const found = interfacesOf(ctl).find((i) => String(i.id) === key || i.name === key);
  if (!found) throw notFound('Interface not found.');
  return found;
}

/** The addresses of an interface: its primary address, id 1 (no alias addresses are simulated). */
function addressesOf(iface: InterfaceView, since: string): Record<string, unknown>[] {
  if (iface.ip_internal === null) return [];
  return [
    {
      id: 1,
      label: iface.name,
      ip_internal: iface.ip_internal,
      ip_external: iface.ip_external,
      description: 'Primary address',
      gateway: iface.gateway,
      mask_bits: Number(iface.mask_bits ?? 32),
      created_at: since,
      updated_at: since,
    },
  ];
}

const bootTime = (ctl: SimController): string => new Date(ctl.upSince()).toISOString();

export const interfaceOperations: OperationTable = {
  // No edge GRE interface exists on a simulated controller: the full list is the system list.
  'GET /interfaces': ({ ctl }) => interfacesOf(ctl),
  'GET /interfaces/system': ({ ctl }) => interfacesOf(ctl),
  'GET /interfaces/system/{interface_id}': ({ ctl, params }) => interfaceParam(ctl, params.interface_id),
  'GET /interfaces/system/{interface_id}/addresses': ({ ctl, params }) => addressesOf(interfaceParam(ctl, params.interface_id), bootTime(ctl)),
  'GET /interfaces/system/{interface_id}/addresses/{address_id}': ({ ctl, params }) => {
    const address = addressesOf(interfaceParam(ctl, params.interface_id), bootTime(ctl)).find((a) => String(a.id) === params.address_id);
    if (!address) throw notFound('Interface address not found.');
    return address;
  },
  'GET /interfaces/edge_gre': () => [],
  'GET /interfaces/edge_gre/{interface_id}': () => {
    throw notFound('GRE interface not found.');
  },
};
