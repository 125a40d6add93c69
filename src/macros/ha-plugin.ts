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
import { parseHaConfig, type HaCloud, type HaLogLevel, type HaMode } from '../ha/config.js';
import { tieBreakProblem } from '../ha/config-observers.js';
import { cidrContains, cloudDnsAddress, hostCidr, intToIp, ipToInt, isIPv4, normalizeCidr, parseCidr } from '../net/index.js';
import { assertBulkOk } from './core/bulk.js';
import { checkTiming } from './core/poller.js';
import { readThenWrite, type Reading } from './core/read-then-write.js';
import type { WaitingMacroOptions } from './core/types.js';
import { encodeEnvironment, ensureContainer, ensureContainerSystem, listContainers, type ContainerAction, type ContainerInfo, type ContainerSpec } from './containers.js';
import { ensureFirewallPolicy, normalizeRule } from './firewall.js';
import { ensureImage, validateImageSpec, type ImageAction, type ImageSpec } from './images.js';
import { ensureRouteTable } from './routes.js';
import { checkFlags, hasControl, MAX_DURATION_MS } from './core/validate.js';

/** The pair, the plugin image and the agent settings `deployHaPlugin` deploys. */
export interface DeployHaPluginInput {
  primary: Vns3Client;
  secondary: Vns3Client;
  cloud: HaCloud;
  /** The HA plugin image: name and one source (url, buildurl, …). */
  image: ImageSpec;
  /** Every controller of the mesh, for lock-down routes; default [primary, secondary]. */
  mesh?: readonly Vns3Client[];
  /** VPC / VNet CIDR for the DNS route; else each controller's cloud data (`vpcCidr`, `vnetCidr`). */
  vpcCidr?: string;
  primaryApiPassword: string;
  secondaryApiPassword: string;
  /** Underlay (private) IPs when not the one `GET /config` reports, e.g. a secondary NIC address. */
  primaryUnderlayIp?: string;
  secondaryUnderlayIp?: string;
  /** Public IPs when the controllers do not report them. */
  primaryPublicIp?: string;
  secondaryPublicIp?: string;
  /** Seconds between checks (HAENV_SLEEP_TIME); default 15. */
  sleepTime?: number;
  logLevel?: HaLogLevel;
  /** Default `vns3-ha`. */
  containerName?: string;
  /** Container command; default '' (the image's own). */
  command?: string;
  /** Plugin IP on both controllers; default: the existing container's, else the first free one. */
  pluginIp?: string;
  /** More variables for both agents (e.g. HAENV_AWS_REGION); may not override the derived HAENV_ ones. */
  extraEnv?: Record<string, string>;
  dryRun?: boolean;
  /** Replace a differing container and re-import a failed image. */
  replace?: boolean;
}

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

const CLOUDS: readonly HaCloud[] = ['aws', 'azure', 'overlay'];
const LOG_LEVELS: readonly HaLogLevel[] = ['debug', 'info', 'warn', 'error'];
const DERIVED_KEYS = ['MODE', 'CLOUD', 'PEER_PUBLIC_IP', 'MY_UNDERLAY_IP', 'PEER_UNDERLAY_IP', 'PEER_OVERLAY_IP', 'MY_API_PASSWORD', 'PEER_API_PASSWORD', 'SLEEP_TIME', 'LOG_LEVEL'].map((k) => `HAENV_${k}`);

function validateInput(input: DeployHaPluginInput): void {
  const v = (field: string, value: unknown, reason: string, secret = false): never => {
    throw new Vns3ValidationError(field, value, reason, { secret });
  };
  if (!input || !input.primary || !input.secondary) v('primary/secondary', undefined, 'both controllers are required');
  if (input.primary === input.secondary || input.primary.host === input.secondary.host) v('secondary', input.secondary.host, 'must be another controller than the primary');
  if (!CLOUDS.includes(input.cloud)) v('cloud', input.cloud, 'must be aws, azure or overlay');
  for (const f of ['primaryApiPassword', 'secondaryApiPassword'] as const) {
    if (typeof input[f] !== 'string' || input[f].trim() === '' || hasControl(input[f])) v(f, input[f], 'must be a non-empty string without control characters', true);
  }
  if (input.sleepTime !== undefined && !(typeof input.sleepTime === 'number' && Number.isFinite(input.sleepTime) && input.sleepTime > 0 && input.sleepTime * 1000 <= MAX_DURATION_MS)) v('sleepTime', input.sleepTime, 'must be a positive number of seconds');
  if (input.logLevel !== undefined && !LOG_LEVELS.includes(input.logLevel)) v('logLevel', input.logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  if (input.containerName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input.containerName)) v('containerName', input.containerName, 'letters, digits, _ . - only');
  if (input.command !== undefined && (typeof input.command !== 'string' || hasControl(input.command))) v('command', input.command, 'must be a single-line string');
  checkFlags(input, ['dryRun', 'replace']);
  validateImageSpec(input.image);
  for (const f of ['pluginIp', 'primaryUnderlayIp', 'secondaryUnderlayIp', 'primaryPublicIp', 'secondaryPublicIp'] as const) {
    if (input[f] !== undefined && !isIPv4(input[f])) v(f, input[f], 'must be an IPv4 address');
  }
  if (input.vpcCidr !== undefined) parseCidr(input.vpcCidr, 'vpcCidr');
  const extra = input.extraEnv ?? {};
  encodeEnvironment(extra);
  for (const k of Object.keys(extra)) if (DERIVED_KEYS.includes(k)) v(`extraEnv.${k}`, k, 'is derived by deployHaPlugin; use the matching option instead');
}

interface MeshIp {
  name: string;
  ip: string;
}

interface Observed {
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
  const parsed = parseHaConfig(haVars, { origins: Object.fromEntries(Object.keys(haVars).map((k) => [k, `${role} HAENV_${k.toUpperCase()}`])) });
  const tie = tieBreakProblem(parsed); // the agent refuses a standby with nobody to break a tie
  if (tie) throw new Vns3ValidationError('extraEnv.HAENV_OBSERVERS', undefined, tie, { controller: me.host });
  return all;
}

const redact = (env: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(env).map(([k, val]) => [k, /pass|secret|token|key/i.test(k) ? '[redacted]' : val]));

interface Work {
  o: Observed;
  deployment: HaControllerDeployment;
  /** Every lock-down route (ensureRouteTable adds only the missing ones). */
  routes: HaRoute[];
  container?: ContainerSpec;
}

async function plan(input: DeployHaPluginInput, role: HaMode, me: Observed, peer: Observed, meshIps: MeshIp[], options: WaitingMacroOptions): Promise<Work> {
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
      environment: redact(environment),
      changed,
    },
  };
}

async function apply(input: DeployHaPluginInput, w: Work, options: WaitingMacroOptions): Promise<HaControllerDeployment> {
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
export async function deployHaPlugin(input: DeployHaPluginInput, options: WaitingMacroOptions = {}): Promise<DeployHaPluginResult> {
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
