import { describe, expect, it } from 'vitest';
import { Vns3ValidationError } from '../../src/client/errors.js';
import {
  cidrContains,
  cidrCovers,
  cloudDnsAddress,
  hostCidr,
  intToIp,
  ipToInt,
  isCidr,
  isIPv4,
  isIPv6,
  networkAddress,
  normalizeCidr,
  parseCidr,
  subnetGateway,
} from '../../src/net/index.js';

describe('isIPv4', () => {
  it('accepts dotted quads', () => {
    for (const ip of ['0.0.0.0', '10.0.1.5', '255.255.255.255', '192.168.0.1']) expect(isIPv4(ip)).toBe(true);
  });
  it('rejects bad octets, leading zeros, wrong shapes and non-strings', () => {
    for (const ip of ['256.0.0.1', '10.0.01.5', '10.0.1', '10.0.1.5.6', '10.0.1.-1', 'a.b.c.d', '', ' 10.0.0.1', '10.0.0.1/32', '1e1.0.0.1'])
      expect(isIPv4(ip), ip).toBe(false);
    expect(isIPv4(167772161)).toBe(false);
    expect(isIPv4(undefined)).toBe(false);
  });
  it('tells IPv6 apart', () => {
    expect(isIPv6('fd00::1')).toBe(true);
    expect(isIPv6('10.0.0.1')).toBe(false);
  });
});

describe('ipToInt / intToIp', () => {
  it('round-trips, unsigned at the top of the range', () => {
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipToInt('10.0.1.5')).toBe(0x0a000105);
    expect(intToIp(0x0a000105)).toBe('10.0.1.5');
    expect(intToIp(ipToInt('192.168.200.254'))).toBe('192.168.200.254');
  });
  it('names the field and the value when the address is bad', () => {
    expect(() => ipToInt('10.0.0.300', 'peer_ip')).toThrowError(/Invalid peer_ip: "10\.0\.0\.300"/);
    try {
      ipToInt('x', 'peer_ip');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(Vns3ValidationError);
      expect((e as Vns3ValidationError).field).toBe('peer_ip');
    }
    expect(() => intToIp(2 ** 32)).toThrow(Vns3ValidationError);
    expect(() => intToIp(-1, 'next')).toThrow(/next/);
  });
});

describe('parseCidr', () => {
  it('computes network, mask, broadcast and size', () => {
    expect(parseCidr('10.0.1.5/24')).toEqual({
      ip: '10.0.1.5',
      network: '10.0.1.0',
      prefix: 24,
      netmask: '255.255.255.0',
      broadcast: '10.0.1.255',
      size: 256,
      cidr: '10.0.1.0/24',
    });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ network: '0.0.0.0', netmask: '0.0.0.0', broadcast: '255.255.255.255', size: 2 ** 32 });
    expect(parseCidr('10.0.0.7/32')).toMatchObject({ network: '10.0.0.7', broadcast: '10.0.0.7', size: 1 });
    expect(parseCidr('172.16.5.9/12').cidr).toBe('172.16.0.0/12');
  });
  it('rejects bad input with the given field name and the value', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.0/33', /prefix length "33"/],
      ['10.0.0.0/-1', /prefix length "-1"/],
      ['10.0.0.0/08', /prefix length "08"/],
      ['10.0.0.0/', /prefix length ""/],
      ['10.0.0.0', /no prefix length/],
      ['10.0.0.256/24', /"10\.0\.0\.256" is not an IPv4 address/],
      ['10.0.0/24', /not an IPv4 address/],
    ];
    for (const [value, reason] of cases) {
      let caught: unknown;
      try {
        parseCidr(value, 'routes[2].cidr');
      } catch (e) {
        caught = e;
      }
      expect(caught, value).toBeInstanceOf(Vns3ValidationError);
      const msg = (caught as Error).message;
      expect(msg).toContain('routes[2].cidr');
      expect(msg).toContain(JSON.stringify(value));
      expect(msg).toMatch(reason);
    }
    expect(() => parseCidr(42 as unknown as string)).toThrowError(/Invalid cidr: 42/);
  });
  it('isCidr answers without throwing', () => {
    expect(isCidr('10.0.0.0/8')).toBe(true);
    expect(isCidr('10.0.0.0/40')).toBe(false);
    expect(isCidr(null)).toBe(false);
  });
});

describe('address helpers', () => {
  it('normalizes and finds the network address', () => {
    expect(normalizeCidr('10.0.1.5/24')).toBe('10.0.1.0/24');
    expect(normalizeCidr('10.0.1.0/24')).toBe('10.0.1.0/24');
    expect(networkAddress('192.168.77.130/25')).toBe('192.168.77.128');
  });
  it('checks containment at the edges of the block', () => {
    expect(cidrContains('10.0.1.0/24', '10.0.1.0')).toBe(true);
    expect(cidrContains('10.0.1.0/24', '10.0.1.255')).toBe(true);
    expect(cidrContains('10.0.1.0/24', '10.0.2.0')).toBe(false);
    expect(cidrContains('10.0.0.0/31', '10.0.0.1')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '203.0.113.9')).toBe(true);
    expect(cidrContains('10.0.0.5/32', '10.0.0.6')).toBe(false);
    expect(() => cidrContains('10.0.0.0/24', '10.0.0.999')).toThrowError(/Invalid ip/);
  });
  it('checks that one block covers another', () => {
    expect(cidrCovers('10.0.0.0/16', '10.0.3.0/24')).toBe(true);
    expect(cidrCovers('10.0.3.0/24', '10.0.0.0/16')).toBe(false);
    expect(cidrCovers('10.0.0.0/16', '10.1.0.0/24')).toBe(false);
  });
  it('puts the gateway at network + 1 and the cloud DNS at network + 2', () => {
    expect(subnetGateway('10.0.1.0/24')).toBe('10.0.1.1');
    expect(subnetGateway('10.0.1.77/24')).toBe('10.0.1.1');
    expect(subnetGateway('172.31.16.0/20')).toBe('172.31.16.1');
    expect(cloudDnsAddress('10.0.0.0/16')).toBe('10.0.0.2');
    expect(cloudDnsAddress('172.31.0.0/16')).toBe('172.31.0.2');
    expect(() => subnetGateway('10.0.0.4/32', 'subnet')).toThrowError(/Invalid subnet: "10\.0\.0\.4\/32".*too small/);
    expect(() => cloudDnsAddress('10.0.0.4/31')).toThrowError(/vpcCidr.*too small/);
  });
  it('makes host routes', () => {
    expect(hostCidr('10.0.1.10')).toBe('10.0.1.10/32');
    expect(hostCidr('FD00::1')).toBe('fd00::1/128');
    expect(() => hostCidr('10.0.1', 'controller_ip')).toThrowError(/Invalid controller_ip: "10\.0\.1"/);
  });
});
