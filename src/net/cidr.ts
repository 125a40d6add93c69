/**
 * IPv4 address and CIDR arithmetic for routes, lock-down /32s, subnet
 * gateways and the cloud DNS resolver. Parsing is strict on purpose: a route
 * to "10.0.01.0/24" or "10.0.0.0/33" must be rejected before it reaches a
 * controller, with a message naming the caller's field and value.
 */
import { isIPv6 as nodeIsIPv6 } from 'node:net';
import { Vns3ValidationError } from '../client/index.js';

/** A parsed IPv4 CIDR block, as {@link parseCidr} returns it. */
export interface ParsedCidr {
  /** The address as written, e.g. "10.0.1.5" for "10.0.1.5/24". */
  ip: string;
  /** The network address, e.g. "10.0.1.0". */
  network: string;
  prefix: number;
  /** Dotted netmask, e.g. "255.255.255.0". */
  netmask: string;
  broadcast: string;
  /** Number of addresses in the block (2^(32 - prefix)). */
  size: number;
  /** The normalized form "network/prefix". */
  cidr: string;
}

// Leading zeros are refused: some tools read "010" as octal (8), others as 10.
const OCTET = /^(0|[1-9][0-9]{0,2})$/;

function octetsOf(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Whether `s` is a dotted IPv4 address (four decimal octets 0-255, no leading zeros). Never throws. */
export function isIPv4(s: unknown): boolean {
  return typeof s === 'string' && octetsOf(s) !== undefined;
}

/** Whether `s` is an IPv6 address, as Node's `net.isIPv6` reads it. Never throws. */
export function isIPv6(s: unknown): boolean {
  return typeof s === 'string' && nodeIsIPv6(s);
}

/** Whether `s` is an IPv4 or an IPv6 address. Never throws. */
export function isIp(s: unknown): boolean {
  return isIPv4(s) || isIPv6(s);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Parses a dotted IPv4 address to an unsigned 32-bit integer.
 * @throws Vns3ValidationError naming `field` when `ip` is not an IPv4 address.
 */
export function ipToInt(ip: string, field = 'ip'): number {
  const o = typeof ip === 'string' ? octetsOf(ip) : undefined;
  if (!o) {
    throw new Vns3ValidationError(field, ip, 'not an IPv4 address: expected four decimal octets 0-255 without leading zeros');
  }
  // `>>> 0` keeps the result unsigned; `<<` on 32-bit values would go negative.
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/**
 * Formats an unsigned 32-bit integer as a dotted IPv4 address.
 * @throws Vns3ValidationError naming `field` when `n` is not an integer from 0 to 2^32-1.
 */
export function intToIp(n: number, field = 'address'): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Vns3ValidationError(field, n, 'is not an IPv4 address as an unsigned 32-bit integer');
  }
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses "a.b.c.d/n". Host bits may be set; `network` has them cleared.
 * @throws Vns3ValidationError naming `field` when `value` is not an IPv4 CIDR.
 */
export function parseCidr(value: string, field = 'cidr'): ParsedCidr {
  if (typeof value !== 'string') {
    throw new Vns3ValidationError(field, value, 'not a CIDR string such as "10.0.0.0/16"');
  }
  const slash = value.indexOf('/');
  if (slash < 0) {
    throw new Vns3ValidationError(field, value, 'no prefix length; expected a CIDR such as "10.0.0.0/16"');
  }
  const ipPart = value.slice(0, slash);
  const prefixPart = value.slice(slash + 1);
  if (!octetsOf(ipPart)) {
    throw new Vns3ValidationError(field, value, `${show(ipPart)} is not an IPv4 address: expected four decimal octets 0-255 without leading zeros`);
  }
  if (!/^(0|[1-9][0-9]?)$/.test(prefixPart) || Number(prefixPart) > 32) {
    throw new Vns3ValidationError(field, value, `prefix length ${show(prefixPart)} must be a whole number from 0 to 32`);
  }
  const prefix = Number(prefixPart);
  const addr = ipToInt(ipPart, field);
  const mask = maskOf(prefix);
  const net = (addr & mask) >>> 0;
  const bcast = (net | (~mask >>> 0)) >>> 0;
  const network = intToIp(net);
  return {
    ip: ipPart,
    network,
    prefix,
    netmask: intToIp(mask),
    broadcast: intToIp(bcast),
    size: 2 ** (32 - prefix),
    cidr: `${network}/${prefix}`,
  };
}

/** Whether `s` is an IPv4 CIDR that {@link parseCidr} accepts. Never throws. */
export function isCidr(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * The block with host bits cleared: "10.0.1.5/24" -> "10.0.1.0/24".
 * @throws Vns3ValidationError naming `field` when `cidr` is not an IPv4 CIDR.
 */
export function normalizeCidr(cidr: string, field = 'cidr'): string {
  return parseCidr(cidr, field).cidr;
}

/**
 * The network address of a block: "10.0.1.5/24" -> "10.0.1.0".
 * @throws Vns3ValidationError naming `field` when `cidr` is not an IPv4 CIDR.
 */
export function networkAddress(cidr: string, field = 'cidr'): string {
  return parseCidr(cidr, field).network;
}

/**
 * Whether `ip` lies inside `cidr`.
 * @throws Vns3ValidationError when `cidr` or `ip` is malformed.
 */
export function cidrContains(cidr: string, ip: string, field = 'cidr'): boolean {
  const c = parseCidr(cidr, field);
  const mask = maskOf(c.prefix);
  return ((ipToInt(ip, 'ip') & mask) >>> 0) === ipToInt(c.network, field);
}

/**
 * Whether block `inner` lies entirely inside block `outer`.
 * @throws Vns3ValidationError when either block is malformed.
 */
export function cidrCovers(outer: string, inner: string): boolean {
  const o = parseCidr(outer, 'outer');
  const i = parseCidr(inner, 'inner');
  return i.prefix >= o.prefix && cidrContains(o.cidr, i.network, 'outer');
}

function offsetInto(cidr: string, offset: number, field: string, what: string): string {
  const c = parseCidr(cidr, field);
  if (c.size <= offset) {
    throw new Vns3ValidationError(field, cidr, `a /${c.prefix} is too small to have a ${what} at network + ${offset}`);
  }
  return intToIp(ipToInt(c.network) + offset);
}

/**
 * The default gateway clouds put at network + 1 of every subnet.
 * @throws Vns3ValidationError when the block is malformed or too small.
 */
export function subnetGateway(cidr: string, field = 'cidr'): string {
  return offsetInto(cidr, 1, field, 'gateway');
}

/**
 * The cloud DNS resolver, at network + 2 of the VPC / VNet block.
 * @throws Vns3ValidationError when the block is malformed or too small.
 */
export function cloudDnsAddress(vpcCidr: string, field = 'vpcCidr'): string {
  return offsetInto(vpcCidr, 2, field, 'DNS server');
}

/**
 * A single-host route target: "ip/32" (or "/128" for IPv6).
 * @throws Vns3ValidationError naming `field` when `ip` is not an IP address.
 */
export function hostCidr(ip: string, field = 'ip'): string {
  if (isIPv4(ip)) return `${ip}/32`;
  if (isIPv6(ip)) return `${ip.toLowerCase()}/128`;
  throw new Vns3ValidationError(field, ip, 'not an IP address');
}
