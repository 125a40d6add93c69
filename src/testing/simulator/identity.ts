/**
 * Who a simulated controller is on its (imaginary) cloud network. These addresses are never dialled:
 * the fabric resolves them to controllers inside the simulation.
 */
export interface ControllerIdentity {
  /** Index in the simulation, 0-based. */
  index: number;
  /** A readable name, `vns3-1` … */
  name: string;
  privateIp: string;
  publicIp: string;
  publicDns: string;
  overlayIp: string;
  /** The controller's own subnet (its private IP lies in it). */
  subnet: string;
  /** The VPC / VNet holding the subnet; its network + 2 is the cloud DNS resolver. */
  vpcCidr: string;
  cloudType: 'ec2' | 'azure' | 'gce' | 'vmware';
  instanceId: string;
  region: string;
  asn: number;
}

/**
 * Each controller gets its own VPC 10.<i>.0.0/16 (regions of a multi-cloud mesh rarely share one)
 * with a subnet 10.<i>.1.0/24 unless the caller gives subnets; the private IP is the subnet's .10.
 */
export function defaultIdentity(index: number, options: { subnet?: string; cloudType?: ControllerIdentity['cloudType'] } = {}): ControllerIdentity {
  const n = index + 1;
  const hi = Math.floor(index / 250);
  const lo = (index % 250) + 1;
  const subnet = options.subnet ?? `10.${lo}.${hi + 1}.0/24`;
  const [net] = subnet.split('/');
  const octets = (net ?? '').split('.').map(Number);
  const privateIp = `${octets[0]}.${octets[1]}.${octets[2]}.${(octets[3] ?? 0) + 10}`;
  const vpcCidr = options.subnet ? `${octets[0]}.${octets[1]}.0.0/16` : `10.${lo}.0.0/16`;
  const publicIp = `198.18.${hi}.${lo}`;
  const cloudType = options.cloudType ?? 'ec2';
  const instanceId = cloudType === 'azure' ? `vns3-${n}` : `i-0${(0xa0000 + index).toString(16)}sim${String(n).padStart(4, '0')}`;
  return {
    index,
    name: `vns3-${n}`,
    privateIp,
    publicIp,
    publicDns: `vns3-${n}.sim.vns3.example`,
    overlayIp: `100.127.${hi}.${250 - (index % 250)}`,
    subnet,
    vpcCidr,
    cloudType,
    instanceId,
    region: ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'][index % 4] ?? 'us-east-1',
    asn: 65000 + n,
  };
}
