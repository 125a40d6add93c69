import { createHash } from 'node:crypto';
import { intToIp, ipToInt, parseCidr } from '../../../net/index.js';

/** One clientpack as the simulated controller keeps it. */
export interface ClientpackEntry {
  /** The overlay address with underscores, `100_127_255_193`. */
  name: string;
  overlayIp: string;
  /** 1 for the first address of the overlay subnet. */
  sequentialId: number;
  enabled: boolean;
  checkedOut: boolean;
  compression: 'on' | 'off';
  /** Changes on regeneration, so that the files' checksums change as on a controller. */
  generation: number;
  tags: Map<string, string>;
}

/** What the clientpacks of a topology are made from (the accepted license). */
export interface OverlayTopology {
  /** Topology name: the files' checksums derive from it. */
  topology: string;
  /** The overlay subnet of the license parameters, e.g. `100.127.255.192/26`. */
  subnet: string;
  /** Licensed number of overlay clients. */
  clients: number;
  /** Licensed number of controllers: they take the top addresses of the overlay subnet. */
  controllers: number;
  /** Explicit client addresses from the license parameters (empty: from the bottom of the subnet). */
  addresses: string[];
}

/** The overlay address a clientpack name stands for (`100_127_255_193` → `100.127.255.193`). */
export const overlayIpOf = (name: string): string => name.replace(/_/g, '.');

/** The clientpack name of an overlay address. */
export const clientpackNameOf = (ip: string): string => ip.replace(/\./g, '_');

/**
 * The clientpacks a topology has, in address order: the explicit client addresses of the license
 * parameters when given, otherwise the licensed number of clients from the first host address of
 * the overlay subnet up, never into the top addresses the controllers take, nor the broadcast.
 */
export function clientAddresses(topo: OverlayTopology): string[] {
  const cidr = parseCidr(topo.subnet, 'subnet');
  if (topo.addresses.length > 0) return [...topo.addresses].sort((a, b) => ipToInt(a) - ipToInt(b));
  const first = ipToInt(cidr.network) + 1;
  const size = 2 ** (32 - cidr.prefix);
  // Network and broadcast, plus one address per controller at the top of the subnet.
  const room = Math.max(0, size - 2 - topo.controllers);
  const count = Math.min(topo.clients, room);
  return Array.from({ length: count }, (_, i) => intToIp(first + i));
}

/**
 * The clientpacks of one controller's topology, made the first time they are asked for after the
 * license and keyset exist (a controller generates them with the keyset), and made again only when
 * the topology they came from changes.
 */
export class OverlayState {
  private builtFor?: string;
  readonly clientpacks = new Map<string, ClientpackEntry>();

  /** Makes sure the clientpacks are those of `topo` (unchanged when they already are). */
  sync(topo: OverlayTopology): void {
    const key = JSON.stringify(topo);
    if (this.builtFor === key) return;
    this.builtFor = key;
    this.clientpacks.clear();
    clientAddresses(topo).forEach((ip, i) => this.add(ip, i + 1));
  }

  /** Drops every clientpack (no keyset, no topology). */
  clear(): void {
    this.builtFor = undefined;
    this.clientpacks.clear();
  }

  add(ip: string, sequentialId: number): ClientpackEntry {
    const entry: ClientpackEntry = {
      name: clientpackNameOf(ip),
      overlayIp: ip,
      sequentialId,
      enabled: true,
      checkedOut: false,
      compression: 'off',
      generation: 0,
      tags: new Map(),
    };
    this.clientpacks.set(entry.name, entry);
    return entry;
  }

  /** The clientpacks in address order. */
  list(): ClientpackEntry[] {
    return [...this.clientpacks.values()].sort((a, b) => ipToInt(a.overlayIp) - ipToInt(b.overlayIp));
  }

  /** A deterministic checksum for one of a clientpack's files. */
  static checksum(topology: string, entry: ClientpackEntry, file: string): string {
    return createHash('sha1').update(`${topology}\n${entry.name}\n${entry.generation}\n${file}`).digest('hex');
  }
}
