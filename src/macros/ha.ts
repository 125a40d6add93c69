/**
 * Deploys the VNS3 HA plugin on a primary/secondary pair, following the
 * plugin's own document (docs/vns3-ha-plugin): lock-down routes, firewall
 * rules that extend the network to the plugin, the plugin image, and the
 * container configured through HAENV_ variables.
 *
 * Everything that can be derived is read from the controllers (addresses,
 * subnets, VPC, container network, a free plugin IP) and everything is
 * validated before the first write, including the agent configuration itself
 * (through the same parser the agent runs). A second run writes nothing.
 *
 * Overlay: the plugin's primary mode only updates cloud route tables and
 * accepts `aws` or `azure`. With `cloud: 'overlay'` there are no cloud routes
 * to move, so we deploy only the secondary agent (which takes over the
 * primary's VNS3 routes); the primary still gets its lock-down routes, but no
 * plugin rules, image or container.
 *
 * Reading the controllers and planning each one's changes is ha-plan.ts;
 * this module validates the input and applies the plan.
 */
import { Vns3ValidationError } from '../client/errors.js';
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { HaCloud, HaLogLevel, HaMode } from '../ha/config.js';
import { isIPv4, parseCidr } from '../net/index.js';
import { assertBulkOk, runBulk } from './bulk.js';
import { encodeEnvironment, ensureContainer, type ContainerAction } from './containers.js';
import { ensureFirewallPolicy, normalizeRule } from './firewall.js';
import { ensureImage, validateImageSpec, type ImageAction, type ImageSpec } from './images.js';
import { observe, plan, type Work } from './ha-plan.js';
import type { WaitingMacroOptions } from './options.js';
import { ensureContainerSystem } from './plugins.js';
import { ensureRouteTable } from './routing.js';

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

export interface HaRoute {
  cidr: string;
  gateway: string;
  interface: 'eth0';
  advertise: false;
  description: string;
}

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

export interface HaDeployResult {
  dryRun: boolean;
  changed: boolean;
  primary: HaControllerDeployment;
  secondary: HaControllerDeployment;
}

export { DEFAULT_HA_CONTAINER_NAME } from './ha-plan.js';

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
    if (typeof input[f] !== 'string' || input[f].trim() === '' || /[\r\n]/.test(input[f])) v(f, input[f], 'must be a non-empty single-line string', true);
  }
  if (input.sleepTime !== undefined && !(typeof input.sleepTime === 'number' && Number.isFinite(input.sleepTime) && input.sleepTime > 0)) v('sleepTime', input.sleepTime, 'must be a positive number of seconds');
  if (input.logLevel !== undefined && !LOG_LEVELS.includes(input.logLevel)) v('logLevel', input.logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  if (input.containerName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input.containerName)) v('containerName', input.containerName, 'letters, digits, _ . - only');
  if (input.command !== undefined && typeof input.command !== 'string') v('command', input.command, 'must be a string');
  validateImageSpec(input.image);
  for (const f of ['pluginIp', 'primaryUnderlayIp', 'secondaryUnderlayIp', 'primaryPublicIp', 'secondaryPublicIp'] as const) {
    if (input[f] !== undefined && !isIPv4(input[f])) v(f, input[f], 'must be an IPv4 address');
  }
  if (input.vpcCidr !== undefined) parseCidr(input.vpcCidr, 'vpcCidr');
  const extra = input.extraEnv ?? {};
  encodeEnvironment(extra);
  for (const k of Object.keys(extra)) if (DERIVED_KEYS.includes(k)) v(`extraEnv.${k}`, k, 'is derived by deployHaPlugin; use the matching option instead');
}

async function apply(input: DeployHaPluginInput, w: Work, opts: WaitingMacroOptions): Promise<HaControllerDeployment> {
  const { client } = w.o;
  const { signal, onEvent } = opts;
  const d = w.deployment;
  if (d.agent) await ensureContainerSystem(client, opts);
  if (d.routesToAdd.length > 0) await ensureRouteTable(client, w.routes, { signal, onEvent });
  if (d.rulesToAdd.length > 0) {
    // Append-only: the policy handed over is the current list plus what is missing, so user rules stay.
    const current = (await client.get('/firewall/rules', { signal })).map((r) => normalizeRule(String(r[0])));
    const missing = d.rulesToAdd.filter((r) => !current.includes(r));
    // ensureFirewallPolicy substitutes {variables}: keep any braces in the user's rules literal.
    const literal = current.map((r) => r.replace(/[{}]/g, (b) => b + b));
    await ensureFirewallPolicy(client, [...literal, ...missing], { signal, onEvent });
  }
  if (!d.agent || !w.container) return d;
  const image = await ensureImage(client, input.image, { ...opts, replaceFailed: input.replace === true });
  const c = await ensureContainer(client, w.container, { ...opts, replace: input.replace === true });
  return { ...d, image: image.action, container: c.action, containerDifferences: c.differences, ...(c.ipAddress ? { pluginIp: c.ipAddress } : {}) };
}

/**
 * Deploys (or, with `dryRun`, plans) the HA plugin on a pair. Validates all
 * input and derived values before the first write; idempotent. Throws
 * Vns3ValidationError / Vns3HaConfigError before writing, Vns3BulkError
 * (carrying both controllers' outcomes) when applying fails.
 */
export async function deployHaPlugin(input: DeployHaPluginInput, opts: WaitingMacroOptions = {}): Promise<HaDeployResult> {
  validateInput(input);
  const { signal, onEvent } = opts;
  const mesh = [input.primary, input.secondary, ...(input.mesh ?? [])].filter((c, i, all) => all.findIndex((x) => x.host === c.host) === i);
  emit(onEvent, { controller: '*', step: 'ha.deploy', detail: `reading ${mesh.length} controllers` });
  const [primary, secondary, ...others] = await Promise.all([
    observe(input.primary, signal),
    observe(input.secondary, signal),
    ...mesh.slice(2).map(async (c) => ({ host: c.host, privateIp: (await c.get('/config', { signal })).private_ipaddress })),
  ]);
  const meshIps = [
    { name: `primary ${primary.host}`, ip: input.primaryUnderlayIp ?? primary.privateIp },
    { name: `secondary ${secondary.host}`, ip: input.secondaryUnderlayIp ?? secondary.privateIp },
    ...others.map((o) => ({ name: o.host, ip: o.privateIp })),
  ];
  for (const m of meshIps) if (!isIPv4(m.ip)) throw new Vns3ValidationError('private_ipaddress', m.ip, 'the controller reports no IPv4 private address', { controller: m.name });
  const works = [await plan(input, 'primary', primary, secondary, meshIps, opts), await plan(input, 'secondary', secondary, primary, meshIps, opts)];
  const [p, s] = works as [Work, Work];
  if (input.dryRun || !works.some((w) => w.deployment.changed)) {
    emit(onEvent, { controller: '*', step: 'ha.deploy', detail: input.dryRun ? 'dry run: nothing written' : 'nothing to do' });
    return { dryRun: input.dryRun === true, changed: p.deployment.changed || s.deployment.changed, primary: p.deployment, secondary: s.deployment };
  }
  const result = await runBulk(works, (w) => w.o.host, (w) => apply(input, w, opts), { signal, onEvent, step: 'ha.deploy' });
  const [pd, sd] = assertBulkOk(result, 'HA plugin deployment') as [HaControllerDeployment, HaControllerDeployment];
  return { dryRun: false, changed: true, primary: pd, secondary: sd };
}
