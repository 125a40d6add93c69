import type { SimController } from '../controller.js';
import { badRequest } from '../errors.js';
import { type OperationTable, isoOf, nowS } from './types.js';

export const VNS3_VERSION = '6.0.4-20231220';

export function configOf(ctl: SimController): Record<string, unknown> {
  const { identity } = ctl;
  const gateway = subnetGateway(identity.subnet);
  return {
    asn: identity.asn,
    topology_name: ctl.config.topologyName,
    controller_name: ctl.config.controllerName,
    topology_checksum: ctl.keyset.checksum ?? '',
    manager_id: ctl.peerId,
    ntp_hosts: ctl.config.ntpHosts,
    vns3_version: VNS3_VERSION,
    licensed: ctl.licensed,
    overlay_ipaddress: identity.overlayIp,
    peered: ctl.peerId !== undefined && ctl.peers.size > 0,
    public_ipaddress: identity.publicIp,
    public_dns: identity.publicDns,
    subnet_gateway: gateway,
    private_ipaddress: identity.privateIp,
  };
}

function subnetGateway(cidr: string): string {
  const [net] = cidr.split('/');
  const o = (net ?? '0.0.0.0').split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) + 1}`;
}

export const systemOperations: OperationTable = {
  'GET /config': ({ ctl }) => configOf(ctl),

  'PUT /config': ({ ctl, body }) => {
    const b = body as { topology_name?: string; controller_name?: string; ntp_hosts?: string };
    if (b.topology_name !== undefined) ctl.config.topologyName = b.topology_name;
    if (b.controller_name !== undefined) ctl.config.controllerName = b.controller_name;
    if (b.ntp_hosts !== undefined) ctl.config.ntpHosts = b.ntp_hosts;
    return configOf(ctl);
  },

  'GET /cloud_data': ({ ctl }) => {
    const { identity } = ctl;
    if (identity.cloudType === 'azure') {
      return {
        cloud_type: 'azure',
        cloud_data: {
          vmId: identity.instanceId,
          name: identity.instanceId,
          location: identity.region,
          privateIp: identity.privateIp,
          publicIp: identity.publicIp,
          vnetCidr: identity.vpcCidr,
          subnetCidr: identity.subnet,
        },
      };
    }
    return {
      cloud_type: identity.cloudType,
      cloud_data: {
        instanceId: identity.instanceId,
        instanceType: 't3.medium',
        region: identity.region,
        availabilityZone: `${identity.region}a`,
        privateIp: identity.privateIp,
        publicIp: identity.publicIp,
        vpcId: `vpc-sim${String(identity.index + 1).padStart(4, '0')}`,
        vpcCidr: identity.vpcCidr,
        subnetCidr: identity.subnet,
        accountId: '000000000000',
        imageId: 'ami-0vns3sim',
        architecture: 'x86_64',
      },
    };
  },

  'GET /status/system': ({ ctl }) => {
    const now = nowS();
    const running = ctl.containerSystem.running;
    return {
      timestamp: isoOf(now),
      timestamp_i: now,
      vns3_version: VNS3_VERSION,
      kernel_version: '5.15.0-sim',
      uptime: Math.floor((Date.now() - ctl.upSince()) / 1000),
      loadavg: ['0.05', '0.03', '0.01'],
      container_system: {
        container_system_running: running === true,
        images_limit: 20,
        images_stored: ctl.images.size,
        containers_limit: 10,
        containers_active: [...ctl.containers.values()].filter((c) => c.running).length,
        container_network: ctl.containerSystem.network,
      },
    };
  },

  'PUT /api_password': ({ ctl, body }) => {
    const { password } = body as { password?: string };
    if (!password) throw badRequest('Password cannot be blank.');
    ctl.password = password;
    return { password_reset: 'true' };
  },

  'PUT /admin_ui': ({ ctl, body }) => {
    const b = body as { enabled?: boolean; admin_username?: string; admin_password?: string };
    if (b.enabled !== undefined) ctl.adminUi.enabled = b.enabled;
    if (b.admin_username !== undefined) ctl.adminUi.username = b.admin_username;
    // The API resets itself: the web front answers 502 (only 502) for a moment (VNS3_BEHAVIOUR.md).
    ctl.unavailable = { until: Date.now() + ctl.world.timings.adminUi502Ms, cause: 'admin-ui' };
    return { enabled: ctl.adminUi.enabled, username: ctl.adminUi.username };
  },
};
