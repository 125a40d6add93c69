import { cidrContains, ipToInt, isIPv4, parseCidr } from '../../../net/index.js';
import type { SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest, notFound } from '../errors.js';
import { type ClientpackEntry, OverlayState, clientpackNameOf } from './overlay-state.js';
import { type OpReply, type OperationTable, fileReply } from './types.js';

const DEFAULT_OVERLAY_SUBNET = '100.127.255.192/26';

/** Our choices of message where the reference is silent (documented in the README's simulator section). */
export const OVERLAY_MESSAGES = {
  clientpackNotFound: 'Clientpack not found.',
  noneAvailable: 'No clientpacks available.',
  tagNotFound: 'Tag not found.',
  badRequestedIp: 'Requested IP must be an unused client address of the overlay subnet.',
  badFileFormat: 'fileformat must be one of tarball, tar.gz, zip, conf, ovpn.',
} as const;

const FILE_FORMATS = ['tarball', 'tar.gz', 'zip', 'conf', 'ovpn'];

/**
 * A clientpack download. A real one holds the client's keys and certificates; the simulator's is a
 * short text naming the clientpack and where it would connect, with no credentials: `conf` and
 * `ovpn` as text/plain, the archive formats as the same text in application/octet-stream.
 */
function clientpackFile(ctl: SimController, c: ClientpackEntry, format: string): OpReply {
  if (!FILE_FORMATS.includes(format)) throw badRequest(OVERLAY_MESSAGES.badFileFormat);
  const text = [
    `# VNS3 simulator clientpack ${c.name} (${format}); simulated, no credentials inside`,
    `# topology ${ctl.license.terms?.topology ?? ''}, overlay address ${c.overlayIp}`,
    'client',
    'dev tun',
    'proto udp',
    `remote ${ctl.identity.publicIp} 1194`,
    `comp-lzo ${c.compression === 'on' ? 'yes' : 'no'}`,
    '',
  ].join('\n');
  return fileReply(format === 'conf' || format === 'ovpn' ? 'text/plain' : 'application/octet-stream', Buffer.from(text, 'utf8'));
}

/**
 * The controller's clientpacks, made from its license once the keyset exists (a controller
 * generates them with the keyset). 403 `Must be licensed first.` before the license is accepted.
 */
function clientpacks(ctl: SimController): OverlayState {
  const terms = ctl.license.terms;
  if (!ctl.licensed || !terms) throw new SimApiError(403, MESSAGES.mustBeLicensed, 'PrerequisiteError');
  if (!ctl.keyset.present) {
    ctl.overlay.clear();
    return ctl.overlay;
  }
  const params = ctl.license.params;
  ctl.overlay.sync({
    topology: terms.topology,
    subnet: params?.subnet ?? DEFAULT_OVERLAY_SUBNET,
    clients: terms.clients,
    controllers: terms.controllers,
    addresses: (params?.clients ?? []).filter((a) => isIPv4(a)),
  });
  return ctl.overlay;
}

function overlaySubnet(ctl: SimController): string {
  return ctl.license.params?.subnet ?? DEFAULT_OVERLAY_SUBNET;
}

function view(ctl: SimController, c: ClientpackEntry): Record<string, unknown> {
  const topology = ctl.license.terms?.topology ?? '';
  const sum = (file: string): string => OverlayState.checksum(topology, c, file);
  return {
    name: c.name,
    overlay_ipaddress: c.overlayIp,
    sequential_id: c.sequentialId,
    enabled: c.enabled,
    checked_out: c.checkedOut,
    // No overlay client connects to a simulated controller.
    connected: false,
    status: 'disconnected',
    ipaddress: null,
    manager_id: null,
    last_connect: null,
    last_disconnect: null,
    compression: c.compression,
    tarball_file: `${c.name}.tar.gz`,
    tarball_sha1: sum('tar.gz'),
    zip_file: `${c.name}.zip`,
    zip_sha1: sum('zip'),
    conf_sha1: sum('conf'),
    ovpn_sha1: sum('ovpn'),
    linux_onefile: `${c.name}.conf`,
    windows_onefile: `${c.name}.ovpn`,
    tags: Object.fromEntries(c.tags),
  };
}

function named(ctl: SimController, name: string | undefined, status: 400 | 404): ClientpackEntry {
  const found = clientpacks(ctl).clientpacks.get(name ?? '');
  if (!found) throw status === 404 ? notFound(OVERLAY_MESSAGES.clientpackNotFound) : badRequest(OVERLAY_MESSAGES.clientpackNotFound);
  return found;
}

interface ClientpackChange {
  enabled?: boolean;
  checked_out?: boolean;
  compression?: 'on' | 'off';
}

function apply(c: ClientpackEntry, change: ClientpackChange): void {
  if (change.enabled !== undefined) c.enabled = change.enabled;
  if (change.checked_out !== undefined) c.checkedOut = change.checked_out;
  if (change.compression !== undefined) c.compression = change.compression;
}

/** `requested_ips` of `POST /clientpacks/add_clientpacks`: unused host addresses of the overlay subnet. */
function requestedIps(ctl: SimController, csv: string): string[] {
  const subnet = parseCidr(overlaySubnet(ctl));
  const first = ipToInt(subnet.network);
  // The top addresses below the broadcast belong to the controllers (see clientAddresses).
  const last = first + 2 ** (32 - subnet.prefix) - 1 - (ctl.license.terms?.controllers ?? 0);
  const ips = csv.split(',').map((s) => s.trim()).filter(Boolean);
  if (ips.length === 0) throw badRequest(OVERLAY_MESSAGES.badRequestedIp);
  for (const ip of ips) {
    const ok = isIPv4(ip) && cidrContains(subnet.cidr, ip) && ipToInt(ip) > first && ipToInt(ip) < last && !ctl.overlay.clientpacks.has(clientpackNameOf(ip));
    if (!ok) throw badRequest(OVERLAY_MESSAGES.badRequestedIp);
  }
  return ips;
}

export const overlayOperations: OperationTable = {
  'GET /status/clients': ({ ctl }) => {
    clientpacks(ctl);
    return {};
  },

  'GET /clientpacks': ({ ctl }) => Object.fromEntries(clientpacks(ctl).list().map((c) => [c.name, view(ctl, c)])),

  'GET /clientpacks/{clientpack_name}': ({ ctl, params }) => ({ clientpack: view(ctl, named(ctl, params.clientpack_name, 404)) }),

  'GET /clientpack': ({ ctl, query }) => {
    const c = named(ctl, query.get('name') ?? '', 404);
    return clientpackFile(ctl, c, query.get('fileformat') ?? '');
  },

  // The file a client installs: the OpenVPN configuration.
  'GET /clientpack/{clientpack_name}': ({ ctl, params }) => clientpackFile(ctl, named(ctl, params.clientpack_name, 404), 'conf'),

  'PUT /clientpacks': ({ ctl, body }) => {
    const b = body as ClientpackChange;
    for (const c of clientpacks(ctl).clientpacks.values()) apply(c, b);
    return { enabled: b.enabled, checked_out: b.checked_out };
  },

  'POST /clientpacks/add_clientpacks': ({ ctl, body }) => {
    const state = clientpacks(ctl);
    const ips = requestedIps(ctl, (body as { requested_ips: string }).requested_ips);
    const next = Math.max(0, ...state.list().map((c) => c.sequentialId)) + 1;
    ips.forEach((ip, i) => state.add(ip, next + i));
    return `Added ${ips.length} clientpack(s).`;
  },

  'POST /clientpacks/next_available': ({ ctl, body }) => {
    const b = (body ?? {}) as { low_ip?: string; high_ip?: string; include_disabled?: boolean };
    for (const field of ['low_ip', 'high_ip'] as const) {
      if (b[field] !== undefined && !isIPv4(b[field])) throw badRequest(`${field} must be an IPv4 address.`);
    }
    const low = b.low_ip === undefined ? 0 : ipToInt(b.low_ip);
    const high = b.high_ip === undefined ? 0xffffffff : ipToInt(b.high_ip);
    const pick = clientpacks(ctl)
      .list()
      .find((c) => !c.checkedOut && (c.enabled || b.include_disabled === true) && ipToInt(c.overlayIp) >= low && ipToInt(c.overlayIp) <= high);
    if (!pick) throw badRequest(OVERLAY_MESSAGES.noneAvailable);
    pick.checkedOut = true;
    return view(ctl, pick);
  },

  'PUT /clientpack': ({ ctl, body }) => {
    const b = body as ClientpackChange & { name: string; regenerate?: boolean };
    const c = named(ctl, b.name, 400);
    apply(c, b);
    if (b.regenerate === true) {
      c.generation++;
      return { token: ctl.sysadmin.startTask('clientpack.regenerate'), status: 'running' };
    }
    return view(ctl, c);
  },

  'POST /clients/reset_all': ({ ctl }) => {
    clientpacks(ctl);
    return { resetting: [] };
  },

  'POST /clientpack/{clientpack_name}': ({ ctl, params, body }) => {
    const c = named(ctl, params.clientpack_name, 400);
    const { key, value } = body as { key: string; value: string };
    c.tags.set(key, value);
    return { name: c.name, tags: Object.fromEntries(c.tags) };
  },

  'DELETE /clientpack/{clientpack_name}': ({ ctl, params, body }) => {
    const c = named(ctl, params.clientpack_name, 400);
    const { key } = body as { key: string };
    if (!c.tags.delete(key)) throw badRequest(OVERLAY_MESSAGES.tagNotFound);
    return { name: c.name, tags: Object.fromEntries(c.tags) };
  },
};

