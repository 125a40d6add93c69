/**
 * Deploys the VNS3 HA plugin on a primary/secondary pair, following the plugin's own document
 * (docs/vns3-ha-plugin): lock-down routes, firewall rules that extend the network to the plugin,
 * the plugin image, and the container configured through HAENV_ variables.
 *
 * Everything that can be derived is read from the controllers (addresses, subnets, VPC, container
 * network, a free plugin IP) and everything is validated before the first write, including the
 * agent configuration itself (through the same parser the agent runs). A second run writes nothing.
 *
 * Overlay: the plugin's primary mode only updates cloud route tables and accepts `aws` or `azure`.
 * With `cloud: 'overlay'` there are no cloud routes to move, so we deploy only the secondary agent
 * (which takes over the primary's VNS3 routes); the primary still gets its lock-down routes, but no
 * plugin rules, image or container.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { HaMode } from '../ha/config.js';
import { cidrContains, cloudDnsAddress, hostCidr, intToIp, ipToInt, isIPv4, normalizeCidr, parseCidr } from '../net/index.js';
import { assertBulkOk } from './core/bulk.js';
import { checkTiming } from './core/poller.js';
import { readThenWrite, type Reading } from './core/read-then-write.js';
import type { WaitingMacroOptions } from './core/types.js';
import { ensureContainer, ensureContainerSystem, listContainers, type ContainerAction, type ContainerSpec } from './containers.js';
import { ensureFirewallPolicy, normalizeRule } from './firewall.js';
import { agentEnv, redactEnv, resolveImage, validateInput, type DeployHaPluginInput, type Observed, type ResolvedHaPluginInput } from './ha-plugin-env.js';
import { ensureImage, type ImageAction } from './images.js';
import { ensureRouteTable } from './routes.js';

export { HA_PLUGIN_IMAGE_NAME, type DeployHaPluginInput, type HaPluginObserver } from './ha-plugin-env.js';

/** A lock-down route: a /32 through the controller's own subnet gateway. */
export interface HaRoute {
  cidr: string;
  gateway: string;
  interface: 'eth0';
  advertise: false;
  description: string;
}

/** What `deployHaPlugin` did (or would do) on one controller of the pair. */
export interface HaControllerDeployment {
  controller: string;
  role: HaMode;
  /** False for the primary with `cloud: 'overlay'` (no agent there). */
  agent: boolean;
  pluginNetwork: string;
  pluginIp?: string;
  containerSystem: 'running' | 'start';
  routesToAdd: HaRoute[];
  rulesToAdd: string[];
  image: ImageAction | 'skip';
  container: ContainerAction | 'skip';
  containerDifferences: string[];
  /** The agent's variables, passwords redacted. */
  environment: Record<string, string>;
  notes: string[];
  /** Whether anything is (dry run: would be) written. */
  changed: boolean;
}

/** What `deployHaPlugin` did (or, with `dryRun`, would do) on the pair. */
export interface DeployHaPluginResult {
  dryRun: boolean;
  changed: boolean;
  primary: HaControllerDeployment;
  secondary: HaControllerDeployment;
}

/** The container name of the HA plugin unless `containerName` says otherwise. */
export const DEFAULT_HA_CONTAINER_NAME = 'vns3-ha';

interface MeshIp {
  name: string;
  ip: string;
}

const opt = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' && v !== '_notset' ? v.trim() : undefined);

async function observe(client: Vns3Client, signal: AbortSignal | undefined): Promise<Observed> {
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
    publicIp,
    overlayIp,
    subnet: subnet ? normalizeCidr(subnet) : undefined,
    gateway,
    vpcCidr,
    region,
    network: normalizeCidr(system.network),
    systemRunning: system.running === true,
    freeIps: ips?.addresses.filter((a) => /^avail/i.test(a.status)).map((a) => a.address),
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

interface Work {
  o: Observed;
  deployment: HaControllerDeployment;
  /** Every lock-down route (ensureRouteTable adds only the missing ones). */
  routes: HaRoute[];
  container?: ContainerSpec;
}

async function plan(input: ResolvedHaPluginInput, role: HaMode, me: Observed, peer: Observed, meshIps: MeshIp[], options: WaitingMacroOptions): Promise<Work> {
  const notes: string[] = [];
  const agent = !(role === 'primary' && input.cloud === 'overlay');
  if (!agent) notes.push("cloud 'overlay': the primary mode needs aws or azure, so no agent runs on the primary (the secondary takes over VNS3 routes)");
  const name = input.containerName ?? DEFAULT_HA_CONTAINER_NAME;
  const routes = lockDownRoutes(me, meshIps, input.vpcCidr, notes);
  const routePlan = await ensureRouteTable(me.client, routes, { signal: options.signal, dryRun: true });
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
  const dry = { signal: options.signal, dryRun: true };
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
      environment: redactEnv(environment),
      changed,
    },
  };
}

async function apply(input: ResolvedHaPluginInput, w: Work, options: WaitingMacroOptions): Promise<HaControllerDeployment> {
  const { client } = w.o;
  const { signal, onEvent } = options;
  const d = w.deployment;
  if (d.agent) await ensureContainerSystem(client, options);
  if (d.routesToAdd.length > 0) await ensureRouteTable(client, w.routes, { signal, onEvent });
  if (d.rulesToAdd.length > 0) {
    // Append-only: the policy handed over is the current list plus what is missing, so user rules stay.
    const current = (await client.get('/firewall/rules', { signal })).map((r) => normalizeRule(String(r[0])));
    const missing = d.rulesToAdd.filter((r) => !current.includes(r));
    // Braces stay literal (the policy substitutes {variables}); v1 as read (v2 would drop disabled rules).
    const literal = current.map((r) => r.replace(/[{}]/g, (b) => b + b));
    await ensureFirewallPolicy(client, [...literal, ...missing], { signal, onEvent, api: 'v1' });
  }
  if (!d.agent || !w.container) return d;
  const image = await ensureImage(client, input.image, { ...options, replaceFailed: input.replace === true });
  const c = await ensureContainer(client, w.container, { ...options, replace: input.replace === true });
  return { ...d, image: image.action, container: c.action, containerDifferences: c.differences, pluginIp: c.ipAddress ?? d.pluginIp };
}


/** The underlay IP of every mesh member, the pair's as given or read; Vns3ValidationError when one is not IPv4. */
async function meshIpsOf(input: DeployHaPluginInput, primary: Observed, secondary: Observed, signal: AbortSignal | undefined): Promise<MeshIp[]> {
  const pair = new Set([primary.host, secondary.host]);
  const others = (input.mesh ?? []).filter((c, i, all) => !pair.has(c.host) && all.findIndex((x) => x.host === c.host) === i);
  const ips = [
    { name: `primary ${primary.host}`, ip: input.primaryUnderlayIp ?? primary.privateIp },
    { name: `secondary ${secondary.host}`, ip: input.secondaryUnderlayIp ?? secondary.privateIp },
    ...(await Promise.all(others.map(async (c) => ({ name: c.host, ip: (await c.get('/config', { signal })).private_ipaddress })))),
    // The agent asks its observers over the underlay too.
    ...(input.observers ?? []).flatMap((o) => (o.underlayIp ? [{ name: `observer ${o.name}`, ip: o.underlayIp }] : [])),
  ];
  for (const m of ips) if (!isIPv4(m.ip)) throw new Vns3ValidationError('private_ipaddress', m.ip, 'the controller reports no IPv4 private address', { controller: m.name });
  return ips;
}

/**
 * Deploys (or, with `dryRun`, plans) the HA plugin on a pair: reads both controllers (and the
 * mesh's addresses), plans each one's routes, rules, image and container, then applies both in
 * parallel. Idempotent. Throws Vns3ValidationError / Vns3HaConfigError (bad input or derived
 * values) and Vns3ContainerConflictError / Vns3ImageImportError (found while planning) before any
 * write, the client's error when a controller cannot be read, and Vns3BulkError (carrying both
 * controllers' outcomes) when applying fails.
 */
export async function deployHaPlugin(given: DeployHaPluginInput, options: WaitingMacroOptions = {}): Promise<DeployHaPluginResult> {
  const input: ResolvedHaPluginInput = { ...given, image: resolveImage(given?.image) };
  validateInput(input);
  checkTiming(options);
  const { signal, onEvent } = options;
  const pair = [input.primary, input.secondary];
  emit(onEvent, { controller: '*', step: 'ha.deploy', detail: `reading ${new Set([...pair, ...(input.mesh ?? [])].map((c) => c.host)).size} controllers` });
  let works: [Work, Work] | undefined;
  const planPair = async ([p, s]: readonly Reading<Observed>[]): Promise<Work[]> => {
    // The pair is one unit: a controller that cannot be read stops the deployment with its own error.
    if (!p?.value || !s?.value) throw p?.error ?? s?.error;
    const meshIps = await meshIpsOf(input, p.value, s.value, signal);
    works = [await plan(input, 'primary', p.value, s.value, meshIps, options), await plan(input, 'secondary', s.value, p.value, meshIps, options)];
    const writes = !input.dryRun && works.some((w) => w.deployment.changed);
    if (!writes) emit(onEvent, { controller: '*', step: 'ha.deploy', detail: input.dryRun ? 'dry run: nothing written' : 'nothing to do' });
    return works;
  };
  const applied = await readThenWrite(
    pair,
    {
      read: (client, context) => observe(client, context.signal),
      plan: planPair,
      write: (_client, work) => (input.dryRun || !works!.some((w) => w.deployment.changed) ? Promise.resolve(work.deployment) : apply(input, work, options)),
    },
    { signal, onEvent, retryBudget: options.retryBudget, readStep: 'ha.read', writeStep: 'ha.deploy' },
  );
  const [primary, secondary] = assertBulkOk(applied, 'HA plugin deployment') as [HaControllerDeployment, HaControllerDeployment];
  const changed = works!.some((w) => w.deployment.changed);
  return { dryRun: input.dryRun === true, changed, primary, secondary };
}
