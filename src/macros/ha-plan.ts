/**
 * Reading and planning for deployHaPlugin (see ha.ts): what each controller
 * reports, and from that the lock-down routes, plugin rules, plugin IP and
 * HAENV_ environment it needs. Nothing here writes; the image and container
 * are planned through the ensure* macros' dry runs.
 */
import { Vns3ValidationError } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { parseHaConfig, type HaMode } from '../ha/config.js';
import { cidrContains, cloudDnsAddress, hostCidr, intToIp, ipToInt, normalizeCidr, parseCidr } from '../net/index.js';
import { ensureContainer, listContainers, type ContainerInfo, type ContainerSpec } from './containers.js';
import { normalizeRule } from './firewall.js';
import { ensureImage } from './images.js';
import type { DeployHaPluginInput, HaControllerDeployment, HaRoute } from './ha.js';
import type { WaitingMacroOptions } from './options.js';
import { ensureRouteTable } from './routing.js';

// Lives here, not in ha.ts, so that this module needs nothing from ha.ts at run time (ha.ts re-exports it).
export const DEFAULT_HA_CONTAINER_NAME = 'vns3-ha';

export interface MeshIp {
  name: string;
  ip: string;
}

export interface Observed {
  client: Vns3Client;
  host: string;
  privateIp: string;
  publicIp?: string;
  overlayIp?: string;
  subnet?: string;
  gateway?: string;
  vpcCidr?: string;
  /** The cloud region (`GET /cloud_data`), when the controller reports one. */
  region?: string;
  network: string;
  systemRunning: boolean;
  freeIps?: string[];
  containers: ContainerInfo[];
  rules: string[];
}

const opt = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' && v !== '_notset' ? v.trim() : undefined);

export async function observe(client: Vns3Client, signal: AbortSignal | undefined): Promise<Observed> {
  const [config, cloud, system, ips, containers, rules] = await Promise.all([
    client.get('/config', { signal }),
    client.get('/cloud_data', { signal }).catch(() => undefined),
    client.get('/container_system', { signal }),
    // Some versions only list addresses while the container system runs.
    client.get('/container_system/ip_addresses', { signal }).catch(() => undefined),
    listContainers(client, { signal }),
    client.get('/firewall/rules', { signal }),
  ]);
  const data = (cloud?.cloud_data ?? {}) as Record<string, unknown>;
  const subnet = opt(data.subnetCidr);
  const gateway = opt(config.subnet_gateway) ?? (subnet ? intToIp(ipToInt(parseCidr(subnet).network) + 1) : undefined);
  const vpcCidr = opt(data.vpcCidr) ?? opt(data.vnetCidr);
  const region = opt(data.region) ?? opt(data.location);
  const publicIp = opt(config.public_ipaddress);
  const overlayIp = opt(config.overlay_ipaddress);
  return {
    client,
    host: client.host,
    privateIp: config.private_ipaddress,
    ...(publicIp ? { publicIp } : {}),
    ...(overlayIp ? { overlayIp } : {}),
    ...(subnet ? { subnet: normalizeCidr(subnet) } : {}),
    ...(gateway ? { gateway } : {}),
    ...(vpcCidr ? { vpcCidr } : {}),
    ...(region ? { region } : {}),
    network: normalizeCidr(system.network),
    systemRunning: system.running === true,
    ...(ips ? { freeIps: ips.addresses.filter((a) => /^avail/i.test(a.status)).map((a) => a.address) } : {}),
    containers,
    rules: (rules ?? []).map((r) => normalizeRule(String(Array.isArray(r) ? r[0] : r))),
  };
}

/** The plugin IP: the one asked for, else the existing container's (stable across runs), else the first free one. */
function choosePluginIp(o: Observed, name: string, wanted: string | undefined): string {
  if (wanted !== undefined) {
    if (!cidrContains(o.network, wanted)) throw new Vns3ValidationError('pluginIp', wanted, `not in the container network ${o.network}`, { controller: o.host });
    const user = o.containers.find((c) => c.ipAddress === wanted && c.name !== name);
    if (user) throw new Vns3ValidationError('pluginIp', wanted, `already used by container ${user.name}`, { controller: o.host });
    return wanted;
  }
  const mine = o.containers.find((c) => c.name === name)?.ipAddress;
  if (mine) return mine;
  const used = new Set(o.containers.map((c) => c.ipAddress));
  const net = parseCidr(o.network);
  // .1 is the controller's side of the plugin bridge.
  const candidates = o.freeIps ?? Array.from({ length: Math.max(0, Math.min(net.size - 3, 1024)) }, (_, i) => intToIp(ipToInt(net.network) + 2 + i));
  const free = candidates.find((ip) => !used.has(ip));
  if (!free) throw new Vns3ValidationError('pluginIp', undefined, `no free address in the container network ${o.network}`, { controller: o.host });
  return free;
}

/** The desired lock-down routes: every mesh controller, and the cloud DNS server when outside the local subnet. */
function lockDownRoutes(o: Observed, meshIps: MeshIp[], vpcOverride: string | undefined, notes: string[]): HaRoute[] {
  if (!o.gateway) {
    notes.push('no subnet gateway known (GET /config subnet_gateway, cloud data subnetCidr): lock-down routes skipped');
    return [];
  }
  const wanted = meshIps.map((m) => ({ cidr: hostCidr(m.ip), description: `HA lock-down: ${m.name}` }));
  const vpc = vpcOverride ?? o.vpcCidr;
  if (!vpc) {
    notes.push('no VPC CIDR known (option vpcCidr, cloud data vpcCidr): DNS lock-down route skipped');
  } else {
    const dns = cloudDnsAddress(vpc);
    // Without the subnet's size, the gateway tells: a subnet starting at the VPC's start holds net + 2.
    const local = o.subnet ? cidrContains(o.subnet, dns) : o.gateway === intToIp(ipToInt(parseCidr(vpc).network) + 1);
    if (!local) wanted.push({ cidr: hostCidr(dns), description: 'HA lock-down: cloud DNS server' });
  }
  const seen = new Set<string>();
  return wanted.filter((w) => !seen.has(w.cidr) && seen.add(w.cidr)).map((w) => ({ ...w, gateway: o.gateway!, interface: 'eth0' as const, advertise: false as const }));
}

function pluginRules(ip: string, network: string): string[] {
  return [`MACRO_CUST -o eth0 -s ${ip}/32 -j MASQUERADE`, `INPUT_CUST -i plugin0 -s ${network} -j ACCEPT`, `OUTPUT_CUST -o plugin0 -d ${network} -j ACCEPT`];
}

function agentEnv(input: DeployHaPluginInput, role: HaMode, me: Observed, peer: Observed): Record<string, string> {
  const primaryObs = role === 'primary' ? me : peer;
  const myUnderlay = (role === 'primary' ? input.primaryUnderlayIp : input.secondaryUnderlayIp) ?? me.privateIp;
  const peerUnderlay = (role === 'primary' ? input.secondaryUnderlayIp : input.primaryUnderlayIp) ?? peer.privateIp;
  const peerPublic = (role === 'primary' ? input.secondaryPublicIp : input.primaryPublicIp) ?? peer.publicIp;
  const check = (field: string, value: string | undefined, o: Observed, reason: string): string => {
    if (!value) throw new Vns3ValidationError(field, value, reason, { controller: o.host });
    return value;
  };
  const env: Record<string, string> = {
    HAENV_MODE: role,
    HAENV_CLOUD: input.cloud,
    HAENV_PEER_PUBLIC_IP: check('peer_public_ip', peerPublic, peer, `the ${role === 'primary' ? 'secondary' : 'primary'} reports no public IP; give ${role === 'primary' ? 'secondaryPublicIp' : 'primaryPublicIp'}`),
  };
  // Each side checks its own address; the peer's is the same value, checked when its env is built.
  if (me.subnet && !cidrContains(me.subnet, myUnderlay)) {
    throw new Vns3ValidationError('my_underlay_ip', myUnderlay, `not in the subnet ${me.subnet} of ${me.host}`, { controller: me.host });
  }
  // The plugin document lists the underlay IPs for the secondary only; the primary gets them too,
  // because an agent finds its own instance in the cloud by its underlay IP (vns3-ha needs it).
  env.HAENV_MY_UNDERLAY_IP = myUnderlay;
  env.HAENV_PEER_UNDERLAY_IP = peerUnderlay;
  if (input.cloud === 'aws' && me.region) env.HAENV_AWS_REGION = me.region;
  if (role === 'secondary') {
    env.HAENV_PEER_OVERLAY_IP = check('peer_overlay_ip', primaryObs.overlayIp, primaryObs, 'the primary reports no overlay IP (is it licensed and peered?)');
    env.HAENV_MY_API_PASSWORD = input.secondaryApiPassword;
    env.HAENV_PEER_API_PASSWORD = input.primaryApiPassword;
  }
  env.HAENV_SLEEP_TIME = String(input.sleepTime ?? 15);
  env.HAENV_LOG_LEVEL = input.logLevel ?? 'info';
  const all = { ...(input.extraEnv ?? {}), ...env };
  // The agent will run parseHaConfig on exactly this; refuse here what it would refuse there.
  const haVars = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('HAENV_')).map(([k, val]) => [k.slice(6).toLowerCase(), val]));
  parseHaConfig(haVars, { origins: Object.fromEntries(Object.keys(haVars).map((k) => [k, `${role} HAENV_${k.toUpperCase()}`])) });
  return all;
}

const redact = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).map(([k, val]) => [k, /pass|secret|token|key/i.test(k) ? '[redacted]' : val]));

export interface Work {
  o: Observed;
  deployment: HaControllerDeployment;
  /** Every lock-down route (ensureRouteTable adds only the missing ones). */
  routes: HaRoute[];
  container?: ContainerSpec;
}

export async function plan(input: DeployHaPluginInput, role: HaMode, me: Observed, peer: Observed, meshIps: MeshIp[], opts: WaitingMacroOptions): Promise<Work> {
  const notes: string[] = [];
  const agent = !(role === 'primary' && input.cloud === 'overlay');
  if (!agent) notes.push("cloud 'overlay': the primary mode needs aws or azure, so no agent runs on the primary (the secondary takes over VNS3 routes)");
  const name = input.containerName ?? DEFAULT_HA_CONTAINER_NAME;
  const routes = lockDownRoutes(me, meshIps, input.vpcCidr, notes);
  const routePlan = await ensureRouteTable(me.client, routes, { signal: opts.signal, dryRun: true });
  const routesToAdd = routes.filter((r) => routePlan.created.some((c) => c.cidr === r.cidr));
  if (routePlan.removed.length > 0) notes.push(`advertised routes in the way of lock-down routes are replaced: ${routePlan.removed.map((r) => r.cidr).join(', ')}`);
  const base = { controller: me.host, role, agent, pluginNetwork: me.network, routesToAdd, notes };
  if (!agent) {
    return {
      o: me,
      routes,
      deployment: { ...base, containerSystem: 'running', rulesToAdd: [], image: 'skip', container: 'skip', containerDifferences: [], environment: {}, changed: routesToAdd.length > 0 },
    };
  }
  const environment = agentEnv(input, role, me, peer);
  const pluginIp = choosePluginIp(me, name, input.pluginIp);
  const rulesToAdd = pluginRules(pluginIp, me.network).filter((r) => !me.rules.includes(normalizeRule(r)));
  const container: ContainerSpec = { name, image: input.image.name, command: input.command ?? '', environment, ipAddress: pluginIp, description: `VNS3 HA plugin (${role})` };
  const dry = { signal: opts.signal, dryRun: true };
  const image = await ensureImage(me.client, input.image, { ...dry, replaceFailed: input.replace === true });
  const c = await ensureContainer(me.client, container, { ...dry, replace: input.replace === true });
  const changed = !me.systemRunning || routesToAdd.length > 0 || rulesToAdd.length > 0 || image.action !== 'none' || c.action !== 'none';
  return {
    o: me,
    routes,
    container,
    deployment: {
      ...base,
      pluginIp,
      containerSystem: me.systemRunning ? 'running' : 'start',
      rulesToAdd,
      image: image.action,
      container: c.action,
      containerDifferences: c.differences,
      environment: redact(environment),
      changed,
    },
  };
}
