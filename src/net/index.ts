/**
 * `vns3-sdk/net`: the IPv4 address and CIDR arithmetic the macros use to check routes, peers and
 * subnets before anything is written, for callers who plan their own address space the same way.
 *
 * @packageDocumentation
 * @module vns3-sdk/net
 */
export {
  isIPv4,
  isIPv6,
  isIp,
  isCidr,
  ipToInt,
  intToIp,
  parseCidr,
  normalizeCidr,
  networkAddress,
  cidrContains,
  cidrCovers,
  subnetGateway,
  cloudDnsAddress,
  hostCidr,
  type ParsedCidr,
} from './cidr.js';
